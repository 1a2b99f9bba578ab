package vault

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nook-ai/nook/vault/internal/format"
)

// RawObject is an object as stored (ciphertext), by name.
type RawObject struct {
	Name string
	Data []byte
}

// WriteObjects is WriteObject for a batch (sync receives objects by the
// hundred): each object is checked as WriteObject checks it, on several
// goroutines; those that pass are made durable together and indexed. A
// batch of packMin or more is stored as one pack (pack.go); a smaller one
// as files (temp files synced in parallel, renamed, each folder synced
// once, as ingestion does). bad maps each object that failed to its error
// (ErrCorrupt, or ErrNotFound for one this vault does not point at); none
// of those is stored. err is the batch's own failure (disk, a locked
// vault): then nothing of the batch is published.
func (v *Vault) WriteObjects(objs []RawObject) (stored int, bad map[string]error, err error) {
	type checked struct {
		key     nsKey
		doc     *docObject
		err     error
		skip    bool // already held
		ok      bool // checked: to store
		wanting bool
	}
	res := make([]checked, len(objs))
	v.mu.Lock()
	if err := v.check(); err != nil {
		v.mu.Unlock()
		return 0, nil, err
	}
	for i, o := range objs {
		res[i].key, res[i].wanting = v.missing[o.Name]
	}
	v.mu.Unlock()
	parallel(len(objs), func(i int) {
		o, r := objs[i], &res[i]
		if !r.wanting {
			if v.HasObject(o.Name) {
				r.skip = true
			} else {
				r.err = fmt.Errorf("vault: object %q: not one this vault points at: %w", o.Name, ErrNotFound)
			}
			return
		}
		payload, err := v.openObject(o.Name, objectKinds[r.key.NS], o.Data)
		if err != nil {
			r.err = fmt.Errorf("vault: object %s: %w", o.Name, err)
			return
		}
		if r.key.NS == nsDoc {
			if r.doc, err = decodeDoc(payload); err != nil {
				r.err = fmt.Errorf("vault: object %s: %w: %v", o.Name, ErrCorrupt, err)
				return
			}
		}
		r.ok = true
	})
	var keep []int
	seen := map[string]bool{}
	for i := range res {
		if res[i].err != nil {
			if bad == nil {
				bad = map[string]error{}
			}
			bad[objs[i].Name] = res[i].err
		} else if res[i].ok {
			if seen[objs[i].Name] {
				res[i].ok = false // given twice in the batch: stored once
				continue
			}
			seen[objs[i].Name] = true
			keep = append(keep, i)
		}
	}
	var pack *packFile
	staged := make([]*stagedObject, len(keep))
	if len(keep) >= v.packMin {
		po := make([]format.PackObject, len(keep))
		for j, i := range keep {
			po[j] = format.PackObject{Name: objs[i].Name, Data: objs[i].Data}
		}
		var st *stagedObject
		var err error
		if st, pack, err = v.stagePack(po); err != nil {
			return 0, bad, err
		}
		staged = []*stagedObject{st}
	} else {
		errs := make([]error, len(keep))
		parallel(len(keep), func(j int) {
			o := objs[keep[j]]
			staged[j], errs[j] = stageRaw(v.objectPath(o.Name), o.Data)
		})
		if err := errors.Join(errs...); err != nil {
			discardStaged(slices.DeleteFunc(staged, func(s *stagedObject) bool { return s == nil }))
			return 0, bad, err
		}
	}
	if err := syncStaged(staged); err != nil {
		return 0, bad, err
	}
	if pack != nil {
		v.packs.add(pack)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	keys := map[string]bool{}
	for i, o := range objs {
		r := &res[i]
		if r.err != nil || !r.ok {
			continue
		}
		stored++
		delete(v.missing, o.Name)
		if r.doc != nil {
			v.fresh[o.Name] = r.doc
			keys[r.key.Key] = true
		}
	}
	if len(keys) > 0 {
		v.reserveIndex(len(keys))
		v.syncIndex(keys)
		v.dirty = true
	}
	clear(v.fresh)
	return stored, bad, nil
}

// reserveIndex makes room in the index for this batch's documents (in
// v.fresh) and, at the mean size of the documents indexed so far, for the
// documents still missing, with a quarter more for documents larger than
// the mean: a first sync then grows the vector matrix once or twice
// instead of doubling it over and over. The caller holds v.mu.
func (v *Vault) reserveIndex(docs int) {
	units := 0
	for _, d := range v.fresh {
		units += len(d.Chunks)
	}
	more := 0
	for _, k := range v.missing {
		if k.NS == nsDoc {
			more++
		}
	}
	x := v.idx
	mean := float64(len(x.chunks)+units) / float64(max(len(x.docs)+docs, 1))
	need := len(x.chunks) + units + int(float64(more)*mean)
	if need > cap(x.chunks) {
		x.reserve(need + need/4 - len(x.chunks))
	}
}
