package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Joining a vault from a new device. The new device makes its own keys
// (NewDevice) and tells an existing device its address and X25519
// recipient; the existing device, once the ledger lists the new device,
// wraps every key epoch to it (WrapFor) and hands the wraps over; the new
// device stores them (AddWraps) and can then Open the vault, empty until
// its first sync brings the logs and objects (Import, WriteObject). It
// cannot write before that first sync has brought the entry that records
// the key epoch it holds.

// NewDevice prepares dir as a new device of the existing vault vaultID: its
// secp256k1 key and X25519 identity, wrapped with passphrase, and its VAULT
// header. It returns the device's address and X25519 recipient.
func NewDevice(dir string, passphrase []byte, vaultID string, opts ...Option) (device, recipient string, err error) {
	o := buildOptions(opts)
	if len(passphrase) == 0 {
		return "", "", hint.New(fmt.Errorf("vault: join %s: %w: empty passphrase", dir, ErrLocked), "choose a passphrase, or set NOOK_PASSPHRASE")
	}
	if !format.IsHex(vaultID, 32) {
		return "", "", fmt.Errorf("vault: join %s: %q is not a vault id", dir, vaultID)
	}
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); err == nil || holdsVaultFiles(dir) {
		return "", "", hint.New(fmt.Errorf("vault: join %s: %w", dir, ErrAlreadyInitialized), "a device holds one vault: join from another NOOK_HOME")
	}
	h := header{Format: Format, ID: vaultID, Created: time.Now().UTC()}
	v, err := newDevice(dir, passphrase, &h, o)
	if err != nil {
		return "", "", err
	}
	if err := writeHeader(dir, &h); err != nil {
		return "", "", err
	}
	return v.device, v.DeviceRecipient(), nil
}

// AddWraps stores key-epoch wraps in the vault folder dir (never replacing
// one held) without opening it: a new device cannot open its vault before
// it has one.
func AddWraps(dir string, ws []RawWrap) error {
	for _, w := range ws {
		if !validWrapName(w.Name) || len(w.Data) > 4096 {
			return fmt.Errorf("vault: wrap %q: %w: bad name or size", w.Name, ErrCorrupt)
		}
		p := filepath.Join(dir, "keys", "epochs", filepath.FromSlash(w.Name))
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return fmt.Errorf("vault: write %s: %w", p, err)
		}
		if err := createFileAtomic(p, w.Data); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("vault: write %s: %w", p, err)
		}
	}
	return nil
}

// PutLocal keeps data that belongs to this device alone (never synced, e.g.
// what sync remembers of its peers) in cache/local/<name>.age, sealed to
// this device's own key.
func (v *Vault) PutLocal(name string, data []byte) error {
	if !validLocalName(name) {
		return fmt.Errorf("vault: local %q: bad name", name)
	}
	ct, err := format.Seal(data, v.devID.Recipient())
	if err != nil {
		return fmt.Errorf("vault: local %s: %w", name, err)
	}
	p := filepath.Join(v.dir, "cache", "local", name+".age")
	if err := writeFileAtomic(p, ct); err != nil {
		return fmt.Errorf("vault: write %s: %w", p, err)
	}
	return nil
}

// Local returns what PutLocal kept under name; an error wrapping
// ErrNotFound when nothing was.
func (v *Vault) Local(name string) ([]byte, error) {
	if !validLocalName(name) {
		return nil, fmt.Errorf("vault: local %q: bad name", name)
	}
	p := filepath.Join(v.dir, "cache", "local", name+".age")
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: local %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read %s: %w", p, err)
	}
	plain, err := format.Open(data, 64<<20, v.devID)
	if err != nil {
		return nil, fmt.Errorf("vault: local %s: %w: %v", p, ErrCorrupt, err)
	}
	return plain, nil
}

func validLocalName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
