package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Erasing. An object is a file sealed with its own random file key (age):
// deleting the file deletes the only copy of that key, so what it held
// cannot be decrypted again, not even with the vault key exported before
// (crypto-erase). The vault erases an object as soon as no head of its
// state points at it: a forgotten fact, a removed document, a deleted
// session, the previous version of a changed document. The index snapshot,
// which holds documents' text, is rewritten without them.

// Erased says what a change erased from disk.
type Erased struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

func (e *Erased) add(o Erased) { e.Objects += o.Objects; e.Bytes += o.Bytes }

// eraseObject deletes an object's file. The caller holds v.mu; the object
// is no longer live.
func (v *Vault) eraseObject(ref string) {
	if !validObjectName(ref) {
		return
	}
	p := v.objectPath(ref)
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	if err := os.Remove(p); err != nil {
		v.addProblemLocked(fmt.Errorf("vault: erase %s: %w", p, err))
		return
	}
	v.erased.Objects++
	v.erased.Bytes += fi.Size()
}

// gcGrace keeps unreferenced objects younger than this: another process
// may have written them for an entry it is about to commit.
const gcGrace = time.Hour

// GC erases every object that no head of the state points at and that is
// older than an hour (younger ones may belong to a write in progress in
// another process), and reports what it erased.
func (v *Vault) GC() (Erased, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Erased{}, err
	}
	v.erased = Erased{}
	err := v.withWriteLock(func() error { return v.gcLocked(time.Now().Add(-gcGrace)) })
	return v.erased, err
}

// gcLocked erases unreferenced objects modified before cutoff. The caller
// holds v.mu and the write lock.
func (v *Vault) gcLocked(cutoff time.Time) error {
	root := filepath.Join(v.dir, "objects")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		name := filepath.Base(filepath.Dir(p)) + d.Name()
		if !validObjectName(name) || v.st.live(name) {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			v.eraseObject(name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vault: gc %s: %w", root, err)
	}
	return nil
}
