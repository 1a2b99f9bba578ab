package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
// entry seq (decrypted, signed by device, of this vault, at its place). It
// does not check the chain: see checkLink.
func (v *Vault) openEntry(data []byte, device string, seq uint64) (*format.Body, head, error) {
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
	}
	return b, head{Seq: b.Seq, Hash: format.EntryHash(plain), HLC: b.HLC}, nil
}

// errUnlinked: the entry an entry chains onto is not held here (a gap, or
// a hole), so the link cannot be checked.
var errUnlinked = errors.New("the entry it chains onto is not held here")

// checkLink checks that b, which extends device's log past last (its last
// applied entry), chains onto an entry held here: last itself, or, for a
// new segment, the entry before the ones it skips. It returns
// errUnlinked when that entry is not held (missing or damaged here).
func (v *Vault) checkLink(b *format.Body, last head) error {
	if last.Seq > 0 && !last.HLC.Less(b.HLC) {
		return errors.New("clock does not advance")
	}
	link, ok := v.linkOf(b.Device, b.ChainSeq(), last)
	if !ok {
		return errUnlinked
	}
	if b.Prev != link.Hash {
		return errors.New("out of chain")
	}
	return nil
}

// linkOf returns the head of device's entry seq when it is applied here
// (the zero head for seq 0). last is the device's last applied entry.
func (v *Vault) linkOf(device string, seq uint64, last head) (head, bool) {
	switch {
	case seq == 0:
		return head{}, true
	case seq == last.Seq:
		return last, true
	case seq > last.Seq || v.st.hole(device, seq):
		return head{}, false
	}
	data, err := v.readEntry(device, seq)
	if err != nil {
		return head{}, false
	}
	_, h, err := v.openEntry(data, device, seq)
	return h, err == nil
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
	h := v.heads[v.device]
	if t := v.tail[v.device]; t > h.Seq {
		return applyResult{}, hint.New(fmt.Errorf("vault: this device's last log entry %s is damaged: %w", v.entryPath(v.device, t), ErrCorrupt),
			"run `nook vault repair` (it moves the entry to quarantine and goes on with a new segment of the log), or sync with another of your devices first to restore it")
	}
	return v.appendSegment(ops, 0)
}

// appendSegment appends an entry that skips the skip entries before it
// (damaged ones at the end of this device's log; 0 for an ordinary entry).
// The caller holds v.mu and the write lock.
func (v *Vault) appendSegment(ops []format.Op, skip uint64) (applyResult, error) {
	cur := v.ring().current()
	if cur == nil {
		return applyResult{}, errNoEpoch(v.dir)
	}
	if v.opts.readOnly {
		return applyResult{}, errReadOnly(v.dir)
	}
	for i := range ops {
		ops[i].Base = v.st.bases(ops[i].NS, ops[i].Key)
	}
	h := v.heads[v.device]
	b := &format.Body{Format: format.EntryFormat, Vault: v.id, Device: v.device, Seq: h.Seq + 1 + skip, Prev: h.Hash, Skip: skip,
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
	added := map[string]nsKey{}
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
			added[a.Ref] = nsKey{a.NS, a.Key}
		}
		released = append(released, r.released...)
	}
	if len(added) > 0 {
		packed := v.packs.holding(maps.Keys(added))
		for ref, k := range added {
			if v.st.live(ref) && !packed[ref] && !v.looseExists(ref) {
				v.missing[ref] = k
			}
		}
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
	v.flushPackErase()
	if len(docs) > 0 {
		v.syncIndex(docs)
		v.dirty = true
	}
	clear(v.fresh)
}

// catchUp applies log entries written since this Vault last looked (by
// another process, by sync, or all of them when there was no snapshot),
// for every device. An entry that is damaged or missing here does not stop
// its device's replay: it becomes a hole (its ops are not applied; the
// problem names its file) and the entries after it, each verified by its
// signature, still apply. Reading stops at the first missing file, except
// when full is set (at Open and rebuilds): then each log folder is listed
// and a missing entry below the last one is a hole too. The caller holds
// v.mu.
func (v *Vault) catchUp(full bool) error {
	var results []applyResult
	for _, dev := range v.logDevices() {
		results = append(results, v.replayDevice(dev, full)...)
	}
	if len(results) > 0 {
		v.applied(results)
	}
	v.recheckMissing()
	return nil
}

// replayDevice applies dev's entries after its head (see catchUp).
func (v *Vault) replayDevice(dev string, full bool) []applyResult {
	var results []applyResult
	last := v.heads[dev]
	var end uint64 // with full: the last entry on disk
	if full {
		seqs, _ := entrySeqs(v.logDir(dev))
		if n := len(seqs); n > 0 {
			end = seqs[n-1]
		}
	}
	for seq := last.Seq + 1; ; seq++ {
		if full && seq > end {
			break
		}
		path := v.entryPath(dev, seq)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			if !full {
				break
			}
			continue // a hole: the next entry that applies records it
		}
		if err == nil {
			var b *format.Body
			var h head
			if b, h, err = v.openEntry(data, dev, seq); err == nil {
				if err = v.checkLink(b, last); errors.Is(err, errUnlinked) {
					err = nil // the entries before it are damaged or missing here
				}
			}
			if err == nil {
				results = append(results, v.st.apply(b))
				v.heads[dev] = h
				last = h
				continue
			}
			err = fmt.Errorf("vault: log entry %s: %w: %v", path, ErrCorrupt, err)
		} else {
			err = fmt.Errorf("vault: read %s: %w", path, err)
		}
		v.tail[dev] = seq
		v.addProblemLocked(err)
	}
	if v.tail[dev] <= last.Seq {
		delete(v.tail, dev)
	}
	return results
}

// reportHoles lists, as problems, the holes of every device's log whose
// entry is still damaged here or missing without a repair having recorded
// it (a repaired hole is counted by Status, not repeated at every open).
// The caller holds v.mu.
func (v *Vault) reportHoles() {
	for _, h := range v.holesLocked() {
		for seq := h.From; seq <= h.To && seq < h.From+16; seq++ {
			path := v.entryPath(h.Device, seq)
			if v.problemNames(path) {
				continue
			}
			data, err := os.ReadFile(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if v.quarantined(filepath.Join("log", h.Device, entryName(seq))) {
					continue
				}
				err = fmt.Errorf("vault: log entry %s: %w: missing (its changes are lost here; the entries after it apply)", path, ErrCorrupt)
			case err == nil:
				if _, _, err = v.openEntry(data, h.Device, seq); err == nil {
					err = errors.New("not chained to its neighbours")
				}
				err = fmt.Errorf("vault: log entry %s: %w: %v", path, ErrCorrupt, err)
			default:
				err = fmt.Errorf("vault: read %s: %w", path, err)
			}
			v.addProblemLocked(err)
		}
	}
}

// recheckMissing indexes the missing objects that arrived since (written by
// sync in another process). The caller holds v.mu.
func (v *Vault) recheckMissing() {
	if len(v.missing) == 0 {
		return
	}
	// The packs are looked at once for all of them (a lookup per object
	// re-read the folder each time while a sync was writing packs).
	packed := v.packs.holding(maps.Keys(v.missing))
	docs := map[string]bool{}
	for ref, k := range v.missing {
		if packed[ref] || v.looseExists(ref) {
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

// problemNames reports whether a problem names the file.
func (v *Vault) problemNames(path string) bool {
	for _, p := range v.problems {
		if strings.Contains(p.Error(), path+":") {
			return true
		}
	}
	return false
}

func (v *Vault) addProblemLocked(err error) {
	for _, p := range v.problems {
		if p.Error() == err.Error() {
			return
		}
	}
	v.problems = append(v.problems, err)
}
