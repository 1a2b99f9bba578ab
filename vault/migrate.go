package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/nook-ai/nook/internal/crashpoint"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Migration from format 1. Format 1 named a device by 8 bytes of a hash of
// its key, signed entries so that only a holder of the public key could
// check them, kept the vault identity itself in the key file and never
// erased anything. Migrating keeps the device key (its address becomes the
// device's name), makes the format-1 vault identity key epoch 1 (so every
// object stays as it is: format 1's object framing reads as epoch 1, and
// the naming keys are derived the same way), rewrites the log as format-2
// entries, then erases what format 1 left behind (forgotten facts, old
// versions of documents).
//
// Crash safety. Everything format 2 needs is written under names format 1
// never uses (log/<address>/, keys/<address>.age, keys/epochs/), then VAULT
// is replaced in one rename: that is the commit. Before it, the folder is a
// format-1 vault (the next Open clears the format-2 leftovers and migrates
// again); after it, a format-2 vault whose header still names the format-1
// files to remove (MigratedFrom), which Open finishes.

// crashHook, when set (tests only), is called at each step of a migration
// so a test can kill the process there.
var crashHook func(step string)

func crashPoint(step string) {
	if crashHook != nil {
		crashHook(step)
	}
	crashpoint.Hit("vault: " + step)
}

// withDirLock runs f holding the vault folder's write lock.
func withDirLock(dir string, f func() error) error {
	return withFlock(filepath.Join(dir, "lock"), f)
}

// withFlock runs f holding an exclusive flock on the file at path (made
// if missing); errors name the file's folder.
func withFlock(path string, f func() error) error {
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("vault: lock %s: %w", filepath.Dir(path), err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("vault: lock %s: %w", filepath.Dir(path), err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return f()
}

// migrate turns the format-1 vault in dir into a format-2 one.
func migrate(dir string, passphrase []byte, o options) error {
	return withDirLock(dir, func() error {
		h, err := readHeader(dir)
		if err != nil || h.Format != 1 {
			return err // another process migrated it meanwhile
		}
		dev1, err := deviceV1(dir)
		if err != nil {
			return err
		}
		kpath := filepath.Join(dir, "keys", dev1+".age")
		data, err := os.ReadFile(kpath)
		if err != nil {
			return notInit(dir)
		}
		kf1, err := format.OpenKeyFileV1(data, passphrase)
		if errors.Is(err, format.ErrWrongPassphrase) {
			return hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrWrongPassphrase), "try again, or set NOOK_PASSPHRASE for scripts")
		}
		if err != nil {
			return fmt.Errorf("vault: open %s: %w: %v", kpath, ErrCorrupt, err)
		}
		id1, err := age.ParseX25519Identity(kf1.VaultIdentity)
		dkb, derr := hex.DecodeString(kf1.DeviceKey)
		if err != nil || derr != nil || len(dkb) != 32 || kf1.VaultID != h.ID || kf1.Device != dev1 {
			return fmt.Errorf("vault: open %s: %w: bad format-1 key file", kpath, ErrCorrupt)
		}
		dk := secp256k1.PrivKeyFromBytes(dkb)
		addr := format.AddressOf(dk.PubKey())
		crashPoint("begin")

		// Leftovers of an interrupted attempt.
		for _, p := range []string{filepath.Join(dir, "log", addr), filepath.Join(dir, "keys", "epochs"),
			filepath.Join(dir, "keys", addr+".age"), filepath.Join(dir, "keys", addr+".2.age")} {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("vault: migrate %s: %w", dir, err)
			}
		}
		crashPoint("cleared")

		entries, err := readLogV1(dir, h.ID, dev1, id1, dk.PubKey())
		if err != nil {
			return err
		}
		nh := header{Format: Format, ID: h.ID, Created: h.Created, MigratedFrom: dev1}
		v, err := deviceFromKey(dir, passphrase, &nh, o, dk)
		if err != nil {
			return err
		}
		crashPoint("keys")
		if err := writeWrap(dir, h.ID, 1, id1, addr, v.devID.Recipient()); err != nil {
			return err
		}
		crashPoint("wrap")
		r := &keyring{}
		e1, err := r.add(1, id1)
		if err != nil {
			return err
		}
		e1.trusted = true
		v.keys.Store(r)

		clock := format.HLC{Wall: time.Now().UnixMilli()}
		if len(entries) > 0 {
			clock = format.HLC{Wall: entries[0].Time * 1000}
		}
		next := func(t int64) format.HLC {
			if w := t * 1000; w > clock.Wall {
				clock = format.HLC{Wall: w}
			} else {
				clock.N++
			}
			return clock
		}
		if err := v.appendEntryAt([]format.Op{{Op: "put", NS: nsEpoch, Key: epochRecordKey(1, e1.recipient), Val: addr}}, clock); err != nil {
			return err
		}
		for i, e := range entries {
			ops := make([]format.Op, 0, len(e.Ops))
			for _, o := range e.Ops {
				ops = append(ops, format.Op{Op: o.Op, NS: o.NS, Key: o.Key, Ref: o.Ref, Hash: o.Hash})
			}
			if len(ops) == 0 {
				continue
			}
			if err := v.appendEntryAt(ops, next(e.Time)); err != nil {
				return err
			}
			if i == 0 {
				crashPoint("entry")
			}
		}
		crashPoint("log")
		// Format 1's snapshot would only fail authentication.
		if err := os.Remove(filepath.Join(dir, "cache", "index.age")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("vault: migrate %s: %w", dir, err)
		}
		crashPoint("snapshot")
		if err := writeHeader(dir, &nh); err != nil { // the commit
			return err
		}
		crashPoint("committed")
		return nil
	})
}

// appendEntryAt is appendEntry with a given clock (a migration keeps the
// times of format 1's entries).
func (v *Vault) appendEntryAt(ops []format.Op, clock format.HLC) error {
	for i := range ops {
		ops[i].Base = v.st.bases(ops[i].NS, ops[i].Key)
	}
	cur := v.ring().current()
	h := v.heads[v.device]
	b := &format.Body{Format: format.EntryFormat, Vault: v.id, Device: v.device, Seq: h.Seq + 1, Prev: h.Hash,
		Epoch: cur.epoch, HLC: clock, Ops: ops}
	plain, err := format.EncodeEntry(b, v.devKey)
	if err != nil {
		return fmt.Errorf("vault: migrate: encode log entry: %w", err)
	}
	ct, err := format.Seal(plain, cur.id.Recipient())
	if err != nil {
		return fmt.Errorf("vault: migrate: encrypt log entry: %w", err)
	}
	path := v.entryPath(v.device, b.Seq)
	if err := createFileAtomic(path, ct); err != nil {
		return fmt.Errorf("vault: migrate: write %s: %w", path, err)
	}
	v.heads[v.device] = head{Seq: b.Seq, Hash: format.EntryHash(plain), HLC: b.HLC}
	v.st.apply(b)
	return nil
}

// finishMigration removes what format 1 left: its log and key file, and
// the objects no one points at any more (forgotten facts, old versions).
func (v *Vault) finishMigration(h *header) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.withWriteLock(func() error {
		if !validDeviceV1(h.MigratedFrom) {
			return fmt.Errorf("vault: finish migration: bad device %q in VAULT", h.MigratedFrom)
		}
		for _, p := range []string{filepath.Join(v.dir, "log", h.MigratedFrom), filepath.Join(v.dir, "keys", h.MigratedFrom+".age")} {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("vault: finish migration: %w", err)
			}
		}
		crashPoint("removed")
		v.erased = Erased{}
		if err := v.gcLocked(time.Now().Add(time.Minute)); err != nil {
			return err
		}
		crashPoint("collected")
		nh := *h
		nh.MigratedFrom = ""
		return writeHeader(v.dir, &nh)
	})
}

// deviceV1 is format 1's device id: DEVICE, or the only key file.
func deviceV1(dir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(dir, deviceFile)); err == nil {
		if d := strings.TrimSpace(string(b)); validDeviceV1(d) {
			return d, nil
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "keys"))
	var found []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".age"); ok && validDeviceV1(n) {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", notInit(dir)
}

func validDeviceV1(d string) bool {
	_, err := hex.DecodeString(d)
	return len(d) == 16 && err == nil
}

// entryV1 is a format-1 log entry's body.
type entryV1 struct {
	Format int    `json:"format"`
	Vault  string `json:"vault"`
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Prev   string `json:"prev"`
	Time   int64  `json:"time"`
	Ops    []struct {
		Op   string `json:"op"`
		NS   string `json:"ns"`
		Key  string `json:"key"`
		Ref  string `json:"ref,omitempty"`
		Hash string `json:"hash,omitempty"`
	} `json:"ops"`
}

// readLogV1 reads and verifies a format-1 device log up to its first bad
// entry (format 1 applied nothing past one either).
func readLogV1(dir, vaultID, dev string, id *age.X25519Identity, pub *secp256k1.PublicKey) ([]entryV1, error) {
	seqs, err := entrySeqs(filepath.Join(dir, "log", dev))
	if err != nil {
		return nil, fmt.Errorf("vault: migrate: read log: %w", err)
	}
	var out []entryV1
	prev := ""
	for i, s := range seqs {
		if s != uint64(i+1) {
			break
		}
		path := filepath.Join(dir, "log", dev, fmt.Sprintf("%016d", s))
		data, err := os.ReadFile(path)
		if err != nil {
			break
		}
		plain, err := format.Open(data, 256<<20, id)
		if err != nil {
			break
		}
		var w struct {
			Body json.RawMessage `json:"body"`
			Sig  string          `json:"sig"`
		}
		if json.Unmarshal(plain, &w) != nil {
			break
		}
		sigb, err := hex.DecodeString(w.Sig)
		if err != nil {
			break
		}
		sig, err := ecdsa.ParseDERSignature(sigb)
		sum := sha256.Sum256(w.Body)
		if err != nil || !sig.Verify(sum[:], pub) {
			break
		}
		var b entryV1
		if json.Unmarshal(w.Body, &b) != nil || b.Format != 1 || b.Vault != vaultID || b.Device != dev || b.Seq != s || b.Prev != prev {
			break
		}
		out = append(out, b)
		ps := sha256.Sum256(plain)
		prev = hex.EncodeToString(ps[:])
	}
	return out, nil
}
