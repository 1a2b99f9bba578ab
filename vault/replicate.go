package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/nook-ai/nook/vault/internal/format"
)

// The replication surface: what package vault/sync needs to copy a vault
// between devices, ciphertext only. Heads say how far each device's log
// goes; Entries reads raw entries; Import verifies and adds another
// device's entries; ReadObject, WriteObject and MissingObjects move
// objects; Wraps and ImportWraps move key epochs; WrapFor and RotateKey
// are pairing and removal.

// Head is how far a device's log goes on this device: its last entry's
// sequence number and the hex SHA-256 of that entry's plaintext.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// RawEntry is one log entry as stored: age ciphertext.
type RawEntry struct {
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Data   []byte `json:"data"`
}

// ImportReport says what Import did.
type ImportReport struct {
	Applied    int `json:"applied"`
	Duplicates int `json:"duplicates"` // entries already held, identical
	// Restored: entries that were damaged or missing here (holes, or this
	// device's damaged last entry), verified and applied. Counted in
	// Applied too.
	Restored int `json:"restored,omitempty"`
	// RolledBack: entries of this very device came back from another device
	// beyond this device's own head: this vault folder was restored from
	// an older copy. They were verified and applied.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// RefusedError is an entry Import refused; the device's later entries in
// the same call were refused with it. Err is ErrFork, ErrGap or ErrCorrupt.
type RefusedError struct {
	Device string
	Seq    uint64
	Reason string
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("vault: entry %d of device %s refused: %v: %s", e.Seq, e.Device, e.Err, e.Reason)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Heads returns the head of every device whose log this vault holds.
func (v *Vault) Heads() map[string]Head {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]Head, len(v.heads))
	for d, h := range v.heads {
		out[d] = Head{Seq: h.Seq, Hash: h.Hash}
	}
	return out
}

// Hole is a run of a device's entries, below its head, that this vault
// does not hold: they were damaged or missing here when later entries were
// applied (their ops are not in the state). A peer that holds them can
// send them with Import, which verifies and applies them.
type Hole struct {
	Device string `json:"device"`
	From   uint64 `json:"from"`
	To     uint64 `json:"to"` // inclusive
}

// Holes lists the holes of every device's log, by device and seq.
func (v *Vault) Holes() []Hole {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.holesLocked()
}

func (v *Vault) holesLocked() []Hole {
	var out []Hole
	for dev, rs := range v.st.holes {
		for _, r := range rs {
			out = append(out, Hole{Device: dev, From: r.From, To: r.To})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Device < out[j].Device || out[i].Device == out[j].Device && out[i].From < out[j].From
	})
	return out
}

// EntryHash returns the hash of device's entry seq as held here (to compare
// with a peer's head for that device).
func (v *Vault) EntryHash(device string, seq uint64) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return "", err
	}
	if h := v.heads[device]; seq == 0 || seq > h.Seq || v.st.hole(device, seq) {
		return "", fmt.Errorf("vault: entry %d of %s: %w", seq, device, ErrNotFound)
	} else if seq == h.Seq {
		return h.Hash, nil
	}
	return v.localEntryHash(device, seq)
}

func (v *Vault) localEntryHash(device string, seq uint64) (string, error) {
	data, err := v.readEntry(device, seq)
	if err != nil {
		return "", fmt.Errorf("vault: entry %d of %s: %w", seq, device, err)
	}
	plain, err := format.Open(data, format.MaxEntry, v.ring().identities()...)
	if err != nil {
		return "", fmt.Errorf("vault: entry %d of %s: %w: %v", seq, device, ErrCorrupt, err)
	}
	return format.EntryHash(plain), nil
}

// Entries returns device's applied entries from seq from on, as stored,
// stopping after maxBytes of data (at least one entry is returned when
// there is one). Holes (entries damaged or missing here, see Holes) are
// left out.
func (v *Vault) Entries(device string, from uint64, maxBytes int) ([]RawEntry, error) {
	v.mu.Lock()
	last := v.heads[device].Seq
	holes := append(seqRanges(nil), v.st.holes[device]...)
	err := v.check()
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !format.ValidAddress(device) {
		return nil, fmt.Errorf("vault: entries of %q: not a device address", device)
	}
	var out []RawEntry
	size := 0
	for seq := max(from, 1); seq <= last; seq++ {
		if holes.has(seq) {
			continue // damaged or missing here: a peer refuses what follows as a gap
		}
		data, err := os.ReadFile(v.entryPath(device, seq))
		if err != nil {
			return out, fmt.Errorf("vault: entry %d of %s: %w", seq, device, err)
		}
		if len(out) > 0 && size+len(data) > maxBytes {
			break
		}
		out = append(out, RawEntry{Device: device, Seq: seq, Data: data})
		size += len(data)
	}
	return out, nil
}

// Import verifies entries (any device's, in any order) and adds those that
// extend a device's log to the log and the state: each must decrypt with a
// key epoch held here, be signed by the device it names, belong to this
// vault, carry the next sequence number and chain onto the device's head.
// An entry already held is skipped when identical and refused as a fork
// (ErrFork: two entries at one sequence number from one device — its key
// may be compromised) when not; one past a gap is refused (ErrGap). A
// refused entry is kept out of the log and the state, with the device's
// later entries of the call; other devices' entries go on. The error joins
// every refusal (*RefusedError).
func (v *Vault) Import(entries []RawEntry) (ImportReport, error) {
	var rep ImportReport
	byDev := map[string][]RawEntry{}
	for _, e := range entries {
		byDev[e.Device] = append(byDev[e.Device], e)
	}
	devs := make([]string, 0, len(byDev))
	for d := range byDev {
		devs = append(devs, d)
	}
	sort.Strings(devs)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return rep, err
	}
	v.erased = Erased{}
	var refusals []error
	err := v.withWriteLock(func() error {
		v.imported = &entryBatch{data: map[string][]byte{}}
		defer func() { v.imported = nil }()
		var results []applyResult
		for _, es := range byDev {
			// Stable: of two entries at one sequence number, the first
			// given is applied and the other refused as a fork.
			sort.SliceStable(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
		}
		pre := v.preopen(byDev)
		for _, dev := range devs {
			es := byDev[dev]
			for i := range es {
				e := es[i]
				res, dup, restored, err := v.importOne(e, pre[&es[i]])
				if err != nil {
					refusals = append(refusals, err)
					break
				}
				if dup {
					rep.Duplicates++
					continue
				}
				rep.Applied++
				if dev == v.device && !restored {
					rep.RolledBack = true
				}
				if restored {
					rep.Restored++
				}
				results = append(results, res)
			}
		}
		// The entries stored are durable under their names before the
		// state that holds them is used or saved. If that fails, the
		// state is read again from what the disk holds.
		if err := syncStaged(v.imported.staged); err != nil {
			v.imported = nil // what was staged is gone: read the disk only
			if rerr := v.rebuildIndex(); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		if len(results) > 0 {
			v.applied(results)
			v.dirty = true
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if rep.Applied > 0 {
		if err := v.saveSnapshotSoon(); err != nil {
			return rep, err
		}
	}
	return rep, errors.Join(refusals...)
}

// maxSealedEntry bounds an entry as stored: the largest body plus room for
// its age header and tags. A larger one is refused unopened.
const maxSealedEntry = format.MaxEntry + 4096

// openedEntry is openEntry's result for an entry.
type openedEntry struct {
	b   *format.Body
	h   head
	err error
}

// preopen decrypts and verifies, on several goroutines, the entries that
// extend their device's log past its head (the signature check and the
// decryption are most of an import's work; applying them stays in order).
// Its result is keyed by the entry's place in byDev's lists (two entries
// may claim one sequence number). The caller holds v.mu.
func (v *Vault) preopen(byDev map[string][]RawEntry) map[*RawEntry]*openedEntry {
	var todo []*RawEntry
	for dev, es := range byDev {
		cur := v.heads[dev]
		for i := range es {
			if e := &es[i]; e.Seq > cur.Seq && len(e.Data) <= maxSealedEntry {
				todo = append(todo, e)
			}
		}
	}
	if len(todo) < 2 {
		return nil
	}
	res := make([]openedEntry, len(todo))
	parallel(len(todo), func(i int) {
		e := todo[i]
		res[i].b, res[i].h, res[i].err = v.openEntry(e.Data, e.Device, e.Seq)
	})
	out := make(map[*RawEntry]*openedEntry, len(todo))
	for i, e := range todo {
		out[e] = &res[i]
	}
	return out
}

// importOne verifies and applies one entry; pre, when not nil, is the
// entry already opened by preopen.
func (v *Vault) importOne(e RawEntry, pre *openedEntry) (res applyResult, dup, restored bool, err error) {
	refuse := func(sentinel error, format string, args ...any) (applyResult, bool, bool, error) {
		return applyResult{}, false, false, &RefusedError{Device: e.Device, Seq: e.Seq, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
	}
	if !format.ValidAddress(e.Device) || e.Seq == 0 {
		return refuse(ErrCorrupt, "not a device address or sequence number")
	}
	if len(e.Data) > maxSealedEntry {
		return refuse(ErrCorrupt, "entry of %d bytes", len(e.Data))
	}
	cur := v.heads[e.Device]
	if e.Seq <= cur.Seq && v.st.hole(e.Device, e.Seq) {
		return v.fillHole(e, cur)
	}
	if e.Seq <= cur.Seq {
		plain, err := format.Open(e.Data, format.MaxEntry, v.ring().identities()...)
		if err != nil {
			return refuse(ErrCorrupt, "%v", err)
		}
		b, err := format.DecodeEntry(plain)
		if err != nil || b.Device != e.Device || b.Seq != e.Seq || b.Vault != v.id {
			return refuse(ErrCorrupt, "does not verify as this device's entry")
		}
		mine, err := v.localEntryHash(e.Device, e.Seq)
		if err != nil {
			return applyResult{}, false, false, err
		}
		if mine != format.EntryHash(plain) {
			return refuse(ErrFork, "a different entry is held at this sequence number: the device's key may be compromised")
		}
		return applyResult{}, true, false, nil
	}
	var b *format.Body
	var h head
	if pre != nil {
		b, h, err = pre.b, pre.h, pre.err
	} else {
		b, h, err = v.openEntry(e.Data, e.Device, e.Seq)
	}
	if err != nil {
		if e.Seq > cur.Seq+1 {
			return refuse(ErrGap, "this vault holds up to entry %d", cur.Seq)
		}
		return refuse(ErrCorrupt, "%v", err)
	}
	// An entry past a gap is taken only when it starts a new segment that
	// chains onto an entry held here (its device declares, signed, that it
	// lost the entries it skips).
	if e.Seq > cur.Seq+1 && b.ChainSeq() > cur.Seq {
		return refuse(ErrGap, "this vault holds up to entry %d", cur.Seq)
	}
	if err := v.checkLink(b, cur); errors.Is(err, errUnlinked) {
		return refuse(ErrGap, "it chains onto entry %d, which is damaged or missing here", b.ChainSeq())
	} else if err != nil {
		return refuse(ErrCorrupt, "%v", err)
	}
	if err := v.storeEntry(e); err != nil {
		return applyResult{}, false, false, err
	}
	restored = e.Device == v.device && v.tail[e.Device] >= e.Seq
	v.heads[e.Device] = h
	if v.tail[e.Device] <= h.Seq {
		delete(v.tail, e.Device)
	}
	return v.st.apply(b), false, restored, nil
}

// fillHole verifies and applies an entry that is damaged or missing here
// below its device's head: it must chain onto the entry before it when
// that is held, and the next entry held must chain onto it (unless that
// one skips it); one that does not is a fork.
func (v *Vault) fillHole(e RawEntry, cur head) (applyResult, bool, bool, error) {
	refuse := func(sentinel error, format string, args ...any) (applyResult, bool, bool, error) {
		return applyResult{}, false, false, &RefusedError{Device: e.Device, Seq: e.Seq, Err: sentinel, Reason: fmt.Sprintf(format, args...)}
	}
	b, h, err := v.openEntry(e.Data, e.Device, e.Seq)
	if err != nil {
		return refuse(ErrCorrupt, "%v", err)
	}
	link, ok := v.linkOf(e.Device, b.ChainSeq(), cur)
	if !ok {
		return refuse(ErrGap, "it chains onto entry %d, which is damaged or missing here", b.ChainSeq())
	}
	if b.Prev != link.Hash {
		return refuse(ErrFork, "it does not chain onto entry %d held here: the device's key may be compromised", b.ChainSeq())
	}
	for next := e.Seq + 1; next <= cur.Seq; next++ {
		if v.st.hole(e.Device, next) {
			continue
		}
		data, err := v.readEntry(e.Device, next)
		if err != nil {
			return applyResult{}, false, false, fmt.Errorf("vault: read entry %d of %s: %w", next, e.Device, err)
		}
		nb, _, err := v.openEntry(data, e.Device, next)
		if err != nil {
			return applyResult{}, false, false, fmt.Errorf("vault: entry %d of %s: %w: %v", next, e.Device, ErrCorrupt, err)
		}
		if nb.ChainSeq() == e.Seq && nb.Prev != h.Hash {
			return refuse(ErrFork, "entry %d held here does not chain onto it: the device's key may be compromised", next)
		}
		break
	}
	if err := v.storeEntry(e); err != nil {
		return applyResult{}, false, false, err
	}
	return v.st.apply(b), false, true, nil
}

// storeEntry writes a verified entry at its place; a file already there
// failed to verify (the replay went past it) and is replaced. Within an
// Import it is staged beside its place instead, and Import publishes the
// batch at its end (syncStaged: one flush for the batch instead of two
// per entry; renamed in order, so a crash leaves each device's log whole
// up to some entry).
func (v *Vault) storeEntry(e RawEntry) error {
	path := v.entryPath(e.Device, e.Seq)
	if b := v.imported; b != nil {
		if _, ok := b.data[path]; ok {
			return fmt.Errorf("vault: write %s: stored twice in one import", path)
		}
		o, err := stageRaw(path, e.Data)
		if err != nil {
			return err
		}
		b.staged = append(b.staged, o)
		b.data[path] = e.Data
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("vault: write %s: %w", path, err)
	}
	if err := writeFileAtomic(path, e.Data); err != nil {
		return fmt.Errorf("vault: write %s: %w", path, err)
	}
	return nil
}

// entryBatch is what one Import stores: entry files staged beside their
// places, readable (readEntry) until Import publishes them.
type entryBatch struct {
	staged []*stagedObject
	data   map[string][]byte // path → the entry as stored
}

// readEntry reads an entry file, or the entry the running Import staged
// for that place.
func (v *Vault) readEntry(device string, seq uint64) ([]byte, error) {
	path := v.entryPath(device, seq)
	if b := v.imported; b != nil {
		if d, ok := b.data[path]; ok {
			return d, nil
		}
	}
	return os.ReadFile(path)
}

// MissingObject is an object the state points at that this device does not
// hold yet.
type MissingObject struct {
	Name string `json:"name"`
	NS   string `json:"ns"` // the namespace of the key pointing at it
}

// MissingObjects lists the objects this device needs, sorted by name.
func (v *Vault) MissingObjects() []MissingObject {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]MissingObject, 0, len(v.missing))
	for ref, k := range v.missing {
		out = append(out, MissingObject{Name: ref, NS: k.NS})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasObject reports whether the object is on this device.
func (v *Vault) HasObject(name string) bool {
	if !validObjectName(name) {
		return false
	}
	return v.objectExists(name)
}

// ReadObject returns an object's file as stored (ciphertext). Only objects
// the state points at are served.
func (v *Vault) ReadObject(name string) ([]byte, error) {
	if !validObjectName(name) {
		return nil, fmt.Errorf("vault: object %q: %w", name, ErrNotFound)
	}
	v.mu.Lock()
	live := v.st.live(name)
	v.mu.Unlock()
	if !live {
		return nil, fmt.Errorf("vault: object %s: %w", name, ErrNotFound)
	}
	data, err := v.readObjectFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: object %s: %w", name, ErrNotFound)
	}
	return data, err
}

// objectKinds maps a namespace to the kind of object its keys point at.
var objectKinds = map[string]string{nsDoc: kindDoc, nsSession: kindSession, nsMemory: kindMemory, nsSecret: kindSecret}

// WriteObject stores an object received from another device, after
// checking it: it must be one this device is missing, decrypt with a key
// epoch held here, match its name and be of the kind its key expects. An
// object that fails is not stored (ErrCorrupt): fetch it again. A document
// is indexed at once.
func (v *Vault) WriteObject(name string, data []byte) error {
	v.mu.Lock()
	k, wanted := v.missing[name]
	v.mu.Unlock()
	if !wanted {
		if v.HasObject(name) {
			return nil
		}
		return fmt.Errorf("vault: object %q: not one this vault points at: %w", name, ErrNotFound)
	}
	payload, err := v.openObject(name, objectKinds[k.NS], data)
	if err != nil {
		return fmt.Errorf("vault: object %s: %w", name, err)
	}
	var d *docObject
	if k.NS == nsDoc {
		if d, err = decodeDoc(payload); err != nil {
			return fmt.Errorf("vault: object %s: %w: %v", name, ErrCorrupt, err)
		}
	}
	path := v.objectPath(name)
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("vault: write %s: %w", path, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.missing, name)
	if d != nil {
		v.fresh[name] = d
		v.syncIndex(map[string]bool{k.Key: true})
		delete(v.fresh, name)
		v.dirty = true
	}
	return nil
}

// Arrived ends a transfer of objects (WriteObject, WriteObjects): the
// index snapshot is saved soon after (see saveSnapshotSoon), at once if a
// document was removed.
func (v *Vault) Arrived() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	return v.saveSnapshotSoon()
}

// RawWrap is a key-epoch wrap as stored, named by its path under
// keys/epochs ("<epoch>-<fingerprint>/<device>.age").
type RawWrap struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Wraps returns every wrap this vault holds.
func (v *Vault) Wraps() ([]RawWrap, error) {
	root := filepath.Join(v.dir, "keys", "epochs")
	var out []RawWrap
	ents, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: read %s: %w", root, err)
	}
	for _, e := range ents {
		files, _ := os.ReadDir(filepath.Join(root, e.Name()))
		for _, f := range files {
			name := e.Name() + "/" + f.Name()
			if !validWrapName(name) {
				continue
			}
			data, err := os.ReadFile(filepath.Join(root, e.Name(), f.Name()))
			if err != nil {
				return nil, fmt.Errorf("vault: read wrap %s: %w", name, err)
			}
			out = append(out, RawWrap{Name: name, Data: data})
		}
	}
	return out, nil
}

// validWrapName checks "<epoch>-<16 hex>/<address>.age".
func validWrapName(name string) bool {
	d, f, ok := strings.Cut(name, "/")
	if !ok {
		return false
	}
	e, fp, ok := strings.Cut(d, "-")
	n, err := strconv.Atoi(e)
	if !ok || err != nil || n < 1 || n > format.MaxEpoch || strconv.Itoa(n) != e || len(fp) != 16 {
		return false
	}
	if _, err := strconv.ParseUint(fp, 16, 64); err != nil || strings.ToLower(fp) != fp {
		return false
	}
	addr, ok := strings.CutSuffix(f, ".age")
	return ok && format.ValidAddress(addr)
}

// ImportWraps stores wraps received from another device (never replacing
// one held) and opens those addressed to this device. An epoch identity is
// used once a signed entry records it.
func (v *Vault) ImportWraps(ws []RawWrap) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	if err := AddWraps(v.dir, ws); err != nil {
		return err
	}
	changed := len(ws) > 0
	if changed {
		r := &keyring{all: append([]*epochKey(nil), v.ring().all...)}
		for _, p := range loadWraps(v.dir, v.id, v.device, v.devID, r) {
			v.addProblemLocked(p)
		}
		v.keys.Store(r)
		v.trustKeys()
	}
	return nil
}

// WrapFor wraps every trusted key epoch to another device's X25519
// recipient (pairing a new device). The wraps are stored here and travel
// with the vault.
func (v *Vault) WrapFor(device, recipient string) error {
	if !format.ValidAddress(device) {
		return fmt.Errorf("vault: wrap for %q: not a device address", device)
	}
	to, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return fmt.Errorf("vault: wrap for %s: recipient %q: %w", device, recipient, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	for _, e := range v.ring().all {
		if !e.trusted {
			continue
		}
		if err := writeWrap(v.dir, v.id, e.epoch, e.id, device, to); err != nil {
			return err
		}
	}
	return nil
}

// RotateKey starts a new key epoch: a fresh vault identity wrapped to this
// device and to each of members (device address → its X25519 recipient,
// as the ledger publishes them), recorded in this device's log. Objects and
// entries written from then on are sealed to it only, so a device left out
// of members cannot read them; what it already held stays readable to it.
func (v *Vault) RotateKey(members map[string]string) (int, error) {
	to := map[string]age.Recipient{v.device: v.devID.Recipient()}
	for dev, rec := range members {
		if !format.ValidAddress(dev) {
			return 0, fmt.Errorf("vault: rotate key: %q is not a device address", dev)
		}
		r, err := age.ParseX25519Recipient(rec)
		if err != nil {
			return 0, fmt.Errorf("vault: rotate key: recipient of %s: %w", dev, err)
		}
		to[dev] = r
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return 0, fmt.Errorf("vault: rotate key: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return 0, err
	}
	epoch := 0
	for _, k := range v.st.keys(nsEpoch) {
		if n, _, ok := parseEpochRecordKey(k); ok && n > epoch {
			epoch = n
		}
	}
	epoch++
	for dev, r := range to {
		if err := writeWrap(v.dir, v.id, epoch, id, dev, r); err != nil {
			return 0, err
		}
	}
	r := &keyring{all: append([]*epochKey(nil), v.ring().all...)}
	if _, err := r.add(epoch, id); err != nil {
		return 0, err
	}
	v.keys.Store(r)
	if _, err := v.commit([]format.Op{{Op: "put", NS: nsEpoch, Key: epochRecordKey(epoch, id.Recipient().String()), Val: v.device}}); err != nil {
		return 0, err
	}
	return epoch, v.saveSnapshotLocked()
}

// Conflict is a key changed concurrently on several devices: Versions
// holds every head, the winner (the value the vault uses) first.
type Conflict struct {
	NS       string            `json:"ns"`
	Key      string            `json:"key"`
	Versions []ConflictVersion `json:"versions"`
}

// ConflictVersion is one concurrent version of a key.
type ConflictVersion struct {
	ID      string    `json:"id"` // pass to ResolveConflict
	Device  string    `json:"device"`
	Time    time.Time `json:"time"`
	Deleted bool      `json:"deleted,omitempty"`
	Winner  bool      `json:"winner,omitempty"`
}

// Conflicts lists the keys with concurrent versions, by namespace and key.
func (v *Vault) Conflicts() []Conflict {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.conflictsLocked()
}

func (v *Vault) conflictsLocked() []Conflict {
	var out []Conflict
	for ns, m := range v.st.ns {
		for key, ks := range m {
			if len(ks.Heads) < 2 || !ks.conflicted() {
				continue
			}
			c := Conflict{NS: ns, Key: key}
			for i := len(ks.Heads) - 1; i >= 0; i-- {
				h := &ks.Heads[i]
				c.Versions = append(c.Versions, ConflictVersion{ID: h.ID, Device: h.Dev, Time: time.UnixMilli(h.HLC.Wall).UTC(), Deleted: h.Del, Winner: i == len(ks.Heads)-1})
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NS < out[j].NS || out[i].NS == out[j].NS && out[i].Key < out[j].Key })
	return out
}

// ResolveConflict ends a conflict by keeping the version keep (an id from
// Conflicts): a new write of that value that replaces every version. The
// other versions' objects are erased.
func (v *Vault) ResolveConflict(ns, key, keep string) (Erased, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Erased{}, err
	}
	ks := v.st.ns[ns][key]
	if ks == nil {
		return Erased{}, fmt.Errorf("vault: %s %q: %w", ns, key, ErrNotFound)
	}
	j := ks.find(keep)
	if j < 0 {
		return Erased{}, fmt.Errorf("vault: %s %q has no version %q: %w", ns, key, keep, ErrNotFound)
	}
	h := ks.Heads[j]
	op := format.Op{Op: "put", NS: ns, Key: key, Ref: h.Ref, Val: h.Val, Hash: h.Hash}
	if h.Del {
		op = format.Op{Op: "del", NS: ns, Key: key}
	}
	erased, err := v.commit([]format.Op{op})
	if err != nil {
		return erased, err
	}
	return erased, v.saveSnapshotLocked()
}
