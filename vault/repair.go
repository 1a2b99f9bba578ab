package vault

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Repairing. Repair acts on what Check finds, under the write lock:
//
//   - damaged log entries, objects and wraps are moved to a quarantine
//     folder inside the vault (quarantine/<time>-<random>/, the same
//     relative paths), never deleted; a missing entry is recorded there
//     as lost (<path>.lost);
//   - the state and the index snapshot are rebuilt from what verifies
//     (a damaged entry costs its own ops; the entries after it apply);
//   - when this device's log ends with damaged entries, an entry that
//     starts a new segment (format.Body.Skip) is written after them, so
//     writes go on and no sequence number is ever used twice;
//   - a damaged or missing key file copy is written again from the sound
//     one; unused objects older than an hour are erased; temp files are
//     removed.
//
// A repair killed at any point leaves a vault that opens, and running it
// again finishes the work.

const quarantineDir = "quarantine"

// nsRepair records, in the log, the segments repairs started.
const nsRepair = "repair"

// RepairReport says what Repair did.
type RepairReport struct {
	Before CheckReport `json:"before"`
	// Quarantine is the folder damaged files were moved to ("" when none).
	Quarantine string `json:"quarantine,omitempty"`
	// Moved lists the files moved there, relative to the vault folder.
	Moved []string `json:"moved,omitempty"`
	// Lost lists missing entries recorded as lost.
	Lost []string `json:"lost,omitempty"`
	// Restored lists key file copies written again from the sound one.
	Restored []string `json:"restored,omitempty"`
	// Segment is the sequence number of the entry that starts a new segment
	// of this device's log (0 when none was needed).
	Segment uint64 `json:"segment,omitempty"`
	// Erased: unused objects.
	Erased Erased      `json:"erased"`
	After  CheckReport `json:"after"`
}

// Repair rebuilds what can be rebuilt from what verifies and moves the
// rest to quarantine (see above). It never deletes a log entry that
// verifies.
func (v *Vault) Repair() (RepairReport, error) {
	var rep RepairReport
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return rep, err
	}
	v.erased = Erased{}
	q := &quarantine{dir: v.dir}
	err := v.withWriteLock(func() error {
		sc := v.scan()
		rep.Before = sc.rep
		// Damaged objects and wraps first: what the state points at is
		// then missing, which sync and the next add mend.
		for _, p := range append(append([]string(nil), sc.badObj...), sc.badWrap...) {
			if err := q.move(p); err != nil {
				return err
			}
			crashPoint("repair-moved")
		}
		if len(sc.badPack) > 0 {
			if err := v.setAsidePacked(q, sc.badPack); err != nil {
				return err
			}
			crashPoint("repair-moved")
		}
		for _, i := range sc.badKey {
			p := keyFilePaths(v.dir, v.device)[i]
			if _, err := os.Stat(p); err == nil {
				if err := q.move(p); err != nil {
					return err
				}
			}
			if err := writeFileAtomic(p, sc.goodKey); err != nil {
				return fmt.Errorf("vault: repair: write %s: %w", p, err)
			}
			rep.Restored = append(rep.Restored, p)
		}
		// The state from what verifies.
		v.problems = nil
		if err := v.rebuildIndex(); err != nil {
			return err
		}
		crashPoint("repair-rebuilt")
		// A new segment after a damaged end of this device's log, before
		// the damaged entries leave: their numbers stay used.
		if h, t := v.heads[v.device], v.tail[v.device]; t > h.Seq {
			seq := t + 1
			op := format.Op{Op: "put", NS: nsRepair, Key: fmt.Sprintf("%s/%d", v.device, seq),
				Val: fmt.Sprintf("entries %d to %d were damaged on this device", h.Seq+1, t)}
			if _, err := v.appendSegment([]format.Op{op}, t-h.Seq); err != nil {
				return err
			}
			delete(v.tail, v.device)
			rep.Segment = seq
			crashPoint("repair-segment")
		}
		for _, p := range sc.badLog {
			if err := q.move(p); err != nil {
				return err
			}
			crashPoint("repair-moved")
		}
		for _, h := range sc.missing {
			p := v.entryPath(h.Device, h.From)
			if err := q.record(p); err != nil {
				return err
			}
			rep.Lost = append(rep.Lost, q.rel(p))
		}
		if err := v.gcLocked(time.Now().Add(-gcGrace)); err != nil {
			return err
		}
		v.dirty = true
		if err := v.saveSnapshotLocked(); err != nil {
			return err
		}
		cleanTemp(v.dir)
		// What is still wrong is what the rebuild could not mend (the
		// holes, now quarantined, are listed by Status).
		v.problems = nil
		return nil
	})
	rep.Moved = q.moved
	if q.made {
		rep.Quarantine = q.path()
	}
	rep.Erased = v.erased
	if err != nil {
		return rep, err
	}
	unlock := v.sharedLock()
	rep.After = v.scan().rep
	unlock()
	return rep, nil
}

// quarantine is one repair's quarantine folder, made when first needed.
type quarantine struct {
	dir   string
	name  string
	made  bool
	moved []string
}

func (q *quarantine) path() string { return filepath.Join(q.dir, quarantineDir, q.name) }

func (q *quarantine) rel(p string) string {
	r, err := filepath.Rel(q.dir, p)
	if err != nil {
		return p
	}
	return r
}

func (q *quarantine) target(p string) (string, error) {
	if q.name == "" {
		b := make([]byte, 4)
		rand.Read(b)
		q.name = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
	}
	dst := filepath.Join(q.path(), q.rel(p))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("vault: quarantine %s: %w", p, err)
	}
	q.made = true
	return dst, nil
}

// setAsidePacked moves damaged objects out of their packs: each is saved
// to quarantine under the path its own file would have, then its pack is
// rewritten without it.
func (v *Vault) setAsidePacked(q *quarantine, names []string) error {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	_, err := v.dropFromPacks(drop, func(name string, data []byte) error { return q.save(v.objectPath(name), data) })
	return err
}

// save writes data into the quarantine folder as the file at p would be
// moved there (for an object taken out of a pack), durably.
func (q *quarantine) save(p string, data []byte) error {
	dst, err := q.target(p)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dst, data); err != nil {
		return fmt.Errorf("vault: quarantine %s: %w", p, err)
	}
	q.moved = append(q.moved, q.rel(p))
	return nil
}

// move moves a file into the quarantine folder (a rename: the same file
// system), then makes both folders durable.
func (q *quarantine) move(p string) error {
	dst, err := q.target(p)
	if err != nil {
		return err
	}
	if err := os.Rename(p, dst); err != nil {
		return fmt.Errorf("vault: quarantine %s: %w", p, err)
	}
	syncDir(filepath.Dir(dst))
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("vault: quarantine %s: %w", p, err)
	}
	q.moved = append(q.moved, q.rel(p))
	return nil
}

// record notes a missing file as lost.
func (q *quarantine) record(p string) error {
	dst, err := q.target(p)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dst+".lost", []byte("missing when `nook vault repair` ran\n")); err != nil {
		return fmt.Errorf("vault: quarantine %s: %w", p, err)
	}
	return nil
}

// RestoreHeader writes the VAULT header again when it is missing but the
// folder still holds this device's key file: the header's vault id and
// device come from the key file (opened with the passphrase), so nothing
// of it has to be trusted from elsewhere. It refuses when a header exists.
// `nook vault repair` calls it when Open reports the header missing.
func RestoreHeader(dir string, passphrase []byte) error {
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); err == nil {
		return fmt.Errorf("vault: restore header %s: %w", dir, ErrAlreadyInitialized)
	}
	if !holdsVaultFiles(dir) {
		return notInit(dir)
	}
	device := ""
	if b, err := os.ReadFile(filepath.Join(dir, deviceFile)); err == nil {
		device = strings.TrimSpace(string(b))
	}
	if !format.ValidAddress(device) {
		// DEVICE is gone too: the only key file in keys/ names the device.
		ents, _ := os.ReadDir(filepath.Join(dir, "keys"))
		var found []string
		for _, e := range ents {
			if a, ok := strings.CutSuffix(e.Name(), ".age"); ok && format.ValidAddress(a) {
				found = append(found, a)
			}
		}
		if len(found) != 1 {
			return hint.New(fmt.Errorf("vault: restore header %s: %w: %d device key files", dir, ErrCorrupt, len(found)),
				"restore vault/VAULT and vault/DEVICE from a backup")
		}
		device = found[0]
	}
	kf, _, err := openKeyFile(dir, device, passphrase, false)
	if err != nil {
		return err
	}
	h := header{Format: Format, ID: kf.VaultID, Device: kf.Device, Created: time.Now().UTC()}
	return writeHeader(dir, &h)
}
