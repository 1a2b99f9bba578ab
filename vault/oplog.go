package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// The op log: log/<device>/<seq>, one file per entry, seq counting from 1
// (zero-padded to 16 digits so names sort), <device> the device's address.
// Each file is an entry's plaintext (format.EncodeEntry: signed, chained by
// the hash of the previous entry, stamped with a hybrid logical clock)
// sealed with age to the key epoch it names. Every device's log is the
// source of truth of what that device changed; merging all of them (see
// merge.go) gives the vault's state, the same on every device that holds
// the same entries, whatever order they arrived in.

// Op namespaces.
const (
	nsDoc     = "doc"
	nsSession = "session"
	nsMemory  = "memory"
	nsSecret  = "secret"
)

// head is how far a device's log has been applied: its last entry's seq,
// plaintext hash and clock.
type head struct {
	Seq  uint64
	Hash string
	HLC  format.HLC
}

func entryName(seq uint64) string { return fmt.Sprintf("%016d", seq) }

func (v *Vault) logDir(device string) string { return filepath.Join(v.dir, "log", device) }

func (v *Vault) entryPath(device string, seq uint64) string {
	return filepath.Join(v.logDir(device), entryName(seq))
}

// logDevices lists the devices that have a log folder.
func (v *Vault) logDevices() []string {
	ents, _ := os.ReadDir(filepath.Join(v.dir, "log"))
	var out []string
	for _, e := range ents {
		if e.IsDir() && format.ValidAddress(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// openEntry is the log decoder: ciphertext → verified body of device's
// entry seq that must follow prev.
func (v *Vault) openEntry(data []byte, device string, seq uint64, prev head) (*format.Body, head, error) {
	plain, err := format.Open(data, format.MaxEntry, v.ring().identities()...)
	if err != nil {
		return nil, head{}, err
	}
	b, err := format.DecodeEntry(plain)
	if err != nil {
		return nil, head{}, err
	}
	switch {
	case b.Vault != v.id:
		return nil, head{}, errors.New("entry of another vault")
	case b.Device != device:
		return nil, head{}, fmt.Errorf("entry of device %s in %s's log", b.Device, device)
	case b.Seq != seq:
		return nil, head{}, fmt.Errorf("seq %d in the place of %d", b.Seq, seq)
	case b.Seq != prev.Seq+1 || b.Prev != prev.Hash:
		return nil, head{}, errors.New("out of chain")
	case prev.Seq > 0 && !prev.HLC.Less(b.HLC):
		return nil, head{}, errors.New("clock does not advance")
	}
	return b, head{Seq: b.Seq, Hash: format.EntryHash(plain), HLC: b.HLC}, nil
}

// errNoEpoch: the log does not (yet) record a key epoch this device holds:
// a new device before its first sync, or a damaged log.
func errNoEpoch(dir string) error {
	return hint.New(fmt.Errorf("vault: %s: %w: no key epoch of this device is recorded in the log yet", dir, ErrLocked),
		"sync with another of your devices first (`nook sync now`); if this vault is alone, run `nook vault check`")
}

// nextClock is the clock of this device's next entry: now, or just after
// the greatest clock seen when that is later (hybrid logical clock).
func (v *Vault) nextClock() format.HLC {
	now := time.Now().UnixMilli()
	c := v.st.clock
	if own := v.heads[v.device].HLC; c.Less(own) {
		c = own
	}
	if now > c.Wall {
		return format.HLC{Wall: now}
	}
	return format.HLC{Wall: c.Wall, N: c.N + 1}
}

// appendEntry writes the next entry of this device's log. The caller holds
// v.mu and the write lock and has caught up with the log on disk. Each op's
// bases are the key's current heads.
func (v *Vault) appendEntry(ops []format.Op) (applyResult, error) {
	if v.logBroken != nil {
		return applyResult{}, hint.New(fmt.Errorf("vault: refusing to write after a broken log: %w", v.logBroken), "run `nook vault check` to see the damage")
	}
	cur := v.ring().current()
	if cur == nil {
		return applyResult{}, errNoEpoch(v.dir)
	}
	for i := range ops {
		ops[i].Base = v.st.bases(ops[i].NS, ops[i].Key)
	}
	h := v.heads[v.device]
	b := &format.Body{Format: format.EntryFormat, Vault: v.id, Device: v.device, Seq: h.Seq + 1, Prev: h.Hash,
		Epoch: cur.epoch, HLC: v.nextClock(), Ops: ops}
	plain, err := format.EncodeEntry(b, v.devKey)
	if err != nil {
		return applyResult{}, fmt.Errorf("vault: encode log entry: %w", err)
	}
	ct, err := format.Seal(plain, cur.id.Recipient())
	if err != nil {
		return applyResult{}, fmt.Errorf("vault: encrypt log entry: %w", err)
	}
	path := v.entryPath(v.device, b.Seq)
	if err := createFileAtomic(path, ct); err != nil {
		return applyResult{}, fmt.Errorf("vault: write %s: %w", path, err)
	}
	v.heads[v.device] = head{Seq: b.Seq, Hash: format.EntryHash(plain), HLC: b.HLC}
	res := v.st.apply(b)
	v.applied([]applyResult{res})
	return res, nil
}

// applied finishes entries merged into the state: missing objects noted,
// released objects erased, keys re-trusted, the index updated. The caller
// holds v.mu.
func (v *Vault) applied(results []applyResult) {
	docs := map[string]bool{}
	epochs := false
	var released []string
	for _, r := range results {
		for _, k := range r.changed {
			switch k.NS {
			case nsDoc:
				docs[k.Key] = true
			case nsEpoch:
				epochs = true
			}
		}
		for _, a := range r.added {
			if _, err := os.Stat(v.objectPath(a.Ref)); errors.Is(err, fs.ErrNotExist) && v.st.live(a.Ref) {
				v.missing[a.Ref] = nsKey{a.NS, a.Key}
			}
		}
		released = append(released, r.released...)
	}
	if epochs {
		v.trustKeys()
	}
	for _, ref := range released {
		delete(v.missing, ref)
		if !v.st.live(ref) {
			v.eraseObject(ref)
		}
	}
	if len(docs) > 0 {
		v.syncIndex(docs)
		v.dirty = true
	}
	clear(v.fresh)
}

// catchUp applies log entries written since this Vault last looked (by
// another process, by sync, or all of them when there was no snapshot),
// for every device. A bad entry stops that device's replay and is recorded
// as a problem; everything before it stays. The caller holds v.mu.
func (v *Vault) catchUp() error {
	var results []applyResult
	for _, dev := range v.logDevices() {
		cur := v.heads[dev]
		for seq := cur.Seq + 1; ; seq++ {
			path := v.entryPath(dev, seq)
			data, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err == nil {
				var b *format.Body
				var h head
				b, h, err = v.openEntry(data, dev, seq, cur)
				if err == nil {
					results = append(results, v.st.apply(b))
					v.heads[dev] = h
					cur = h
					continue
				}
				err = fmt.Errorf("vault: log entry %s: %w: %v", path, ErrCorrupt, err)
			} else {
				err = fmt.Errorf("vault: read %s: %w", path, err)
			}
			if dev == v.device {
				v.logBroken = err
			}
			v.addProblemLocked(err)
			break
		}
	}
	if len(results) > 0 {
		v.applied(results)
	}
	v.recheckMissing()
	return nil
}

// recheckMissing indexes the missing objects that arrived since (written by
// sync in another process). The caller holds v.mu.
func (v *Vault) recheckMissing() {
	docs := map[string]bool{}
	for ref, k := range v.missing {
		if _, err := os.Stat(v.objectPath(ref)); err == nil {
			delete(v.missing, ref)
			v.dirty = true
			if k.NS == nsDoc {
				docs[k.Key] = true
			}
		}
	}
	if len(docs) > 0 {
		v.syncIndex(docs)
	}
}

// entrySeqs lists the entry numbers present for a device, sorted.
func entrySeqs(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range ents {
		n, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || len(e.Name()) != 16 {
			continue // temp files and strangers
		}
		seqs = append(seqs, n)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

func (v *Vault) addProblemLocked(err error) {
	for _, p := range v.problems {
		if p.Error() == err.Error() {
			return
		}
	}
	v.problems = append(v.problems, err)
}
