package vault

import (
	"fmt"
	"os"
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

// eraseObject deletes an object's file; an object in a pack is noted for
// flushPackErase, which rewrites its pack without it. The caller holds
// v.mu; the object is no longer live.
func (v *Vault) eraseObject(ref string) {
	if !validObjectName(ref) {
		return
	}
	if _, packed := v.packs.lookup(ref); packed {
		v.notePackErase(ref)
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

// notePackErase notes a packed object for flushPackErase.
func (v *Vault) notePackErase(ref string) {
	if v.packErase == nil {
		v.packErase = map[string]bool{}
	}
	v.packErase[ref] = true
}

// flushPackErase drops the packed objects eraseObject noted from their
// packs, each pack rewritten once. The caller holds v.mu.
func (v *Vault) flushPackErase() {
	if len(v.packErase) == 0 {
		return
	}
	names := v.packErase
	v.packErase = nil
	if v.opts.readOnly {
		return // the writer that released them erases them
	}
	for n := range names {
		if v.st.live(n) {
			delete(names, n) // live again (a later entry points at it)
		}
	}
	dropped, err := v.dropFromPacks(names, nil)
	if err != nil {
		v.addProblemLocked(fmt.Errorf("vault: erase from packs: %w", err))
	}
	for _, size := range dropped {
		v.erased.Objects++
		v.erased.Bytes += size
	}
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
	objs, _ := v.listObjects()
	for _, o := range objs {
		if !validObjectName(o.name) || v.st.live(o.name) || !o.mod.Before(cutoff) {
			continue
		}
		if o.pack == "" {
			if o.path == v.objectPath(o.name) {
				v.eraseObject(o.name)
			}
			continue
		}
		v.notePackErase(o.name)
	}
	v.flushPackErase()
	return nil
}
