package vault

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// DefaultScryptWorkFactor is log2 of the scrypt cost used to wrap the key file
// with the passphrase. age's own default is 18 (about 1 s); nook uses 16
// (about a quarter of that) because every command unlocks the vault.
const DefaultScryptWorkFactor = 16

// keyFile is the plaintext inside keys/<device>.age.
type keyFile struct {
	Format        int    `json:"format"`
	VaultID       string `json:"vault_id"`
	Device        string `json:"device"`
	VaultIdentity string `json:"vault_identity"` // AGE-SECRET-KEY-1...
	DeviceKey     string `json:"device_key"`     // hex secp256k1 scalar
}

// secrets derived from the vault identity, identical on every device.
type derivedKeys struct {
	name []byte // HMAC key naming objects
	mac  []byte // HMAC key authenticating the index snapshot
}

func deriveKeys(id *age.X25519Identity) (derivedKeys, error) {
	secret := []byte(id.String())
	name, err := hkdf.Key(sha256.New, secret, nil, "nook/v1/object-name", 32)
	if err != nil {
		return derivedKeys{}, err
	}
	mac, err := hkdf.Key(sha256.New, secret, nil, "nook/v1/index-mac", 32)
	if err != nil {
		return derivedKeys{}, err
	}
	return derivedKeys{name: name, mac: mac}, nil
}

// deviceID names a device after its public key: the first 8 bytes of
// SHA-256(compressed secp256k1 public key), hex.
func deviceID(pub *secp256k1.PublicKey) string {
	h := sha256.Sum256(pub.SerializeCompressed())
	return hex.EncodeToString(h[:8])
}

func sealKeyFile(kf *keyFile, passphrase []byte, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(workFactor)
	plain, err := json.Marshal(kf)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// openKeyFile unwraps a key file. A passphrase that does not match gives
// ErrWrongPassphrase; anything else that fails is ErrCorrupt.
func openKeyFile(data, passphrase []byte) (*keyFile, error) {
	id, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(22)
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var kf keyFile
	if err := json.Unmarshal(plain, &kf); err != nil || kf.Format != 1 {
		return nil, fmt.Errorf("%w: bad key file contents", ErrCorrupt)
	}
	return &kf, nil
}
