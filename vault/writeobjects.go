package vault

import "fmt"

// RawObject is an object as stored (ciphertext), by name.
type RawObject struct {
	Name string
	Data []byte
}

// WriteObjects is WriteObject for a batch (sync receives objects by the
// hundred): each object is checked as WriteObject checks it, on several
// goroutines; those that pass are made durable together (temp files
// synced in parallel, renamed, each folder synced once, as ingestion
// does) and indexed. bad maps each object that failed to its error
// (ErrCorrupt, or ErrNotFound for one this vault does not point at); none
// of those is stored. err is the batch's own failure (disk, a locked
// vault): then nothing of the batch is published.
func (v *Vault) WriteObjects(objs []RawObject) (stored int, bad map[string]error, err error) {
	type checked struct {
		key     nsKey
		doc     *docObject
		err     error
		skip    bool // already held
		staged  *stagedObject
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
		r.staged, r.err = stageRaw(v.objectPath(o.Name), o.Data)
	})
	var staged []*stagedObject
	for i := range res {
		if res[i].err != nil {
			if bad == nil {
				bad = map[string]error{}
			}
			bad[objs[i].Name] = res[i].err
		} else if res[i].staged != nil {
			staged = append(staged, res[i].staged)
		}
	}
	if err := syncStaged(staged); err != nil {
		return 0, bad, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	keys := map[string]bool{}
	for i, o := range objs {
		r := &res[i]
		if r.err != nil || r.staged == nil {
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
