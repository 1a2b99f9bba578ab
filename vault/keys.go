package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// DefaultScryptWorkFactor is log2 of the scrypt cost used to wrap the key file
// with the passphrase. age's own default is 18 (about 1 s); nook uses 16
// (about a quarter of that) because every command unlocks the vault.
const DefaultScryptWorkFactor = 16

// Keys on disk (format 2):
//
//	keys/<device>.age, keys/<device>.2.age
//	    this device's secrets (format.KeyFile), wrapped with the passphrase;
//	    two copies, each written atomically, each with a checksum. Never
//	    leave the device.
//	keys/epochs/<epoch>-<fp>/<device>.age
//	    a wrap: key epoch <epoch>'s vault identity (whose recipient's
//	    fingerprint is <fp>) encrypted to <device>'s X25519 recipient. Wraps
//	    travel with the vault (sync); each device opens its own.
//
// A key epoch is one vault identity. The first is made by Init; removing a
// device starts a new one (RotateKey) that is wrapped only to the devices
// that remain, so what is written afterwards is sealed from the removed
// device. Every epoch a device holds stays in its keyring (old objects stay
// readable). An epoch identity is trusted only once a signed log entry
// records its recipient (namespace "epoch", key "<epoch> <recipient>"):
// anyone can encrypt a wrap to a device.

const nsEpoch = "epoch"

func keyFilePaths(dir, device string) [2]string {
	return [2]string{filepath.Join(dir, "keys", device+".age"), filepath.Join(dir, "keys", device+".2.age")}
}

// writeKeyFile writes both copies of the key file.
func writeKeyFile(dir, device string, sealed []byte) error {
	for _, p := range keyFilePaths(dir, device) {
		if err := writeFileAtomic(p, sealed); err != nil {
			return fmt.Errorf("vault: write %s: %w", p, err)
		}
	}
	return nil
}

// openKeyFile unwraps this device's key file, falling back to the second
// copy when the first is damaged (and restoring the first from it). A
// wrong passphrase is told apart from damage by the files' checksums.
// restore false (read-only) only reports a damaged copy.
func openKeyFile(dir, device string, passphrase []byte, restore bool) (*format.KeyFile, []error, error) {
	paths := keyFilePaths(dir, device)
	var problems []error
	var firstErr error
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			if firstErr == nil {
				firstErr = notInit(dir)
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("vault: open %s: %w", p, err)
		}
		kf, err := format.OpenKeyFile(data, passphrase)
		switch {
		case errors.Is(err, format.ErrWrongPassphrase):
			return nil, nil, hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrWrongPassphrase), "try again, or set NOOK_PASSPHRASE for scripts")
		case err != nil:
			problems = append(problems, fmt.Errorf("vault: key file %s: %w: %v", p, ErrCorrupt, err))
			if firstErr == nil || errors.Is(firstErr, ErrNotInitialized) {
				firstErr = hint.New(fmt.Errorf("vault: key file %s: %w: %v", p, ErrCorrupt, err),
					"both copies of this device's key file are damaged: restore keys/ from a backup, or open the vault with a key exported by `nook vault export-key`")
			}
			continue
		}
		if kf.VaultID == "" || kf.Device != device {
			return nil, nil, fmt.Errorf("vault: open %s: %w: key file of another device", p, ErrCorrupt)
		}
		// Restore the other copy when it is missing or damaged.
		other := paths[1-i]
		if od, rerr := os.ReadFile(other); rerr != nil || !format.KeyFileIntact(od) {
			if !restore {
				if i == 0 || rerr != nil { // a damaged first copy is reported above
					problems = append(problems, fmt.Errorf("vault: key file %s: %w: missing or damaged (%s is sound: `nook vault repair` restores it)", other, ErrCorrupt, p))
				}
			} else if werr := writeFileAtomic(other, data); werr == nil {
				problems = append(problems, fmt.Errorf("vault: key file %s was missing or damaged: restored from %s", other, p))
			}
		}
		return kf, problems, nil
	}
	return nil, nil, firstErr
}

// epochKey is one key epoch's identity as this device holds it.
type epochKey struct {
	epoch     int
	id        *age.X25519Identity
	open      age.Identity // id prepared for unwrapping (format.Unwrapper)
	recipient string
	keys      format.Keys
	trusted   bool // a signed entry records it
}

// keyring is every epoch identity this device holds, newest first.
type keyring struct {
	all []*epochKey
}

func (r *keyring) add(epoch int, id *age.X25519Identity) (*epochKey, error) {
	rec := id.Recipient().String()
	for _, e := range r.all {
		if e.epoch == epoch && e.recipient == rec {
			return e, nil
		}
	}
	k, err := format.DeriveKeys(id)
	if err != nil {
		return nil, err
	}
	e := &epochKey{epoch: epoch, id: id, open: id, recipient: rec, keys: k}
	if u, err := format.NewUnwrapper(id); err == nil {
		e.open = u
	}
	r.all = append(r.all, e)
	sort.Slice(r.all, func(i, j int) bool {
		a, b := r.all[i], r.all[j]
		return a.epoch > b.epoch || a.epoch == b.epoch && a.recipient < b.recipient
	})
	return e, nil
}

// identities are every identity held, newest first (decryption tries them
// in order; age authenticates whichever opens the file).
func (r *keyring) identities() []age.Identity {
	out := make([]age.Identity, len(r.all))
	for i, e := range r.all {
		out[i] = e.open
	}
	return out
}

// keysOf returns the naming keys of the trusted identities of an epoch.
func (r *keyring) keysOf(epoch int) []format.Keys {
	var out []format.Keys
	for _, e := range r.all {
		if e.epoch == epoch && e.trusted {
			out = append(out, e.keys)
		}
	}
	return out
}

// current is the epoch writes are sealed with: the newest trusted one.
func (r *keyring) current() *epochKey {
	for _, e := range r.all {
		if e.trusted {
			return e
		}
	}
	return nil
}

// trust marks the identities whose (epoch, recipient) the state records.
func (r *keyring) trust(s *mstate) {
	for _, e := range r.all {
		_, e.trusted = s.get(nsEpoch, epochRecordKey(e.epoch, e.recipient))
	}
}

func epochRecordKey(epoch int, recipient string) string {
	return strconv.Itoa(epoch) + " " + recipient
}

// parseEpochRecordKey splits an "epoch" namespace key.
func parseEpochRecordKey(k string) (int, string, bool) {
	e, rec, ok := strings.Cut(k, " ")
	n, err := strconv.Atoi(e)
	return n, rec, ok && err == nil && n > 0 && strings.HasPrefix(rec, "age1")
}

// fingerprint names an epoch's wrap folder: 16 hex digits of SHA-256 of its
// recipient.
func fingerprint(recipient string) string {
	s := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(s[:8])
}

func wrapDir(dir string, epoch int, recipient string) string {
	return filepath.Join(dir, "keys", "epochs", strconv.Itoa(epoch)+"-"+fingerprint(recipient))
}

// writeWrap wraps an epoch identity to a device and stores it.
func writeWrap(dir, vaultID string, epoch int, id *age.X25519Identity, device string, to age.Recipient) error {
	w := &format.Wrap{Format: 2, Vault: vaultID, Epoch: epoch, Device: device, Identity: id.String()}
	ct, err := format.SealWrap(w, to)
	if err != nil {
		return fmt.Errorf("vault: wrap key epoch %d for %s: %w", epoch, device, err)
	}
	p := filepath.Join(wrapDir(dir, epoch, id.Recipient().String()), device+".age")
	if err := writeFileAtomic(p, ct); err != nil {
		return fmt.Errorf("vault: write %s: %w", p, err)
	}
	return nil
}

// loadWraps opens every wrap addressed to this device.
func loadWraps(dir, vaultID, device string, devID *age.X25519Identity, r *keyring) []error {
	var problems []error
	ents, _ := os.ReadDir(filepath.Join(dir, "keys", "epochs"))
	for _, e := range ents {
		p := filepath.Join(dir, "keys", "epochs", e.Name(), device+".age")
		data, err := os.ReadFile(p)
		if err != nil {
			continue // no wrap for this device in this epoch
		}
		w, id, err := format.OpenWrap(data, devID)
		if err == nil && (w.Vault != vaultID || w.Device != device || !strings.HasPrefix(e.Name(), strconv.Itoa(w.Epoch)+"-")) {
			err = errors.New("wrap of another vault, device or epoch")
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("vault: key wrap %s: %w: %v", p, ErrCorrupt, err))
			continue
		}
		if _, err := r.add(w.Epoch, id); err != nil {
			problems = append(problems, fmt.Errorf("vault: key wrap %s: %w", p, err))
		}
	}
	return problems
}
