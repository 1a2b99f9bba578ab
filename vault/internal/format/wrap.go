package format

import (
	"encoding/json"
	"fmt"

	"filippo.io/age"
)

// A wrap (keys/epochs/<epoch>/<device>.age) carries one key epoch's vault
// identity to one device: age ciphertext to the device's X25519 recipient
// of JSON [Wrap]. Anyone can encrypt to a device, so a wrap proves nothing
// by itself: the vault accepts an epoch identity only when its recipient is
// the one a signed log entry recorded for that epoch.
type Wrap struct {
	Format   int    `json:"format"`
	Vault    string `json:"vault"`
	Epoch    int    `json:"epoch"`
	Device   string `json:"device"`   // the device it is wrapped to
	Identity string `json:"identity"` // AGE-SECRET-KEY-1…
}

// SealWrap encrypts w to the device's recipient.
func SealWrap(w *Wrap, to age.Recipient) ([]byte, error) {
	if _, err := w.identity(); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return Seal(plain, to)
}

// OpenWrap decrypts and parses a wrap with the device's identity.
func OpenWrap(data []byte, device age.Identity) (*Wrap, *age.X25519Identity, error) {
	plain, err := Open(data, 1<<12, device)
	if err != nil {
		return nil, nil, err
	}
	var w Wrap
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, nil, fmt.Errorf("%w: wrap: %v", ErrMalformed, err)
	}
	id, err := w.identity()
	if err != nil {
		return nil, nil, err
	}
	return &w, id, nil
}

func (w *Wrap) identity() (*age.X25519Identity, error) {
	if w.Format != 2 || !IsHex(w.Vault, 32) || w.Epoch < 1 || w.Epoch > MaxEpoch || !ValidAddress(w.Device) {
		return nil, fmt.Errorf("%w: wrap header", ErrMalformed)
	}
	id, err := age.ParseX25519Identity(w.Identity)
	if err != nil {
		return nil, fmt.Errorf("%w: wrap identity", ErrMalformed)
	}
	return id, nil
}
