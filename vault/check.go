package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nook-ai/nook/vault/internal/format"
)

// Checking. Check reads every file of the vault and verifies it on its own
// (each log entry, object, key file copy and wrap, and the index snapshot
// against a replay of the logs), without changing anything; Repair
// (repair.go) acts on what it finds.

// Damage is one damaged, missing or stray file.
type Damage struct {
	// Kind: "entry", "object", "key file", "wrap" or "snapshot".
	Kind string `json:"kind"`
	Path string `json:"path"`
	// Problem says what is wrong; Effect what it costs and what `nook
	// vault repair` does about it.
	Problem string `json:"problem"`
	Effect  string `json:"effect"`
}

// CheckReport is what Check found.
type CheckReport struct {
	Dir string `json:"dir"`
	// Counts of what verified.
	Entries  int `json:"entries"`
	Objects  int `json:"objects"`
	KeyFiles int `json:"key_files"`
	Wraps    int `json:"wraps"`
	// Snapshot: "sound", "stale" (behind the logs: brought up to date when
	// opened), "missing" (rebuilt when opened) or "damaged".
	Snapshot string   `json:"snapshot"`
	Damaged  []Damage `json:"damaged,omitempty"`
	// Holes are entries this vault lacks below a device's head: their
	// changes are not in the state (a peer that holds them restores them).
	// Those quarantined by a repair are listed here, not as damage.
	Holes []Hole `json:"holes,omitempty"`
	// Unused objects no head points at (older than an hour: left by an
	// interrupted write; erased by repair).
	Unused int `json:"unused,omitempty"`
	// Temp files left by interrupted writes (removed when the vault is
	// opened, once a minute old).
	Temp int `json:"temp,omitempty"`
	// NotHereYet counts objects the state points at that this device has
	// not received (MissingObjects: sync brings them; secrets only where
	// sync.secrets is on). Not damage.
	NotHereYet int `json:"not_here_yet,omitempty"`
}

// OK reports whether nothing is damaged.
func (r *CheckReport) OK() bool { return len(r.Damaged) == 0 }

// scan is one pass over the vault's files, independent of the handle's
// state: the logs replayed from scratch.
type scan struct {
	rep     CheckReport
	st      *mstate
	heads   map[string]head
	bodies  map[string]map[uint64]*format.Body // verified entries by device, seq
	badLog  []string                           // damaged entry files (present)
	tails   map[string]uint64                  // device → damaged last entry past its head
	badObj  []string                           // damaged object files (and packs whose index is damaged)
	badPack []string                           // names of damaged objects in packs
	unused  []string                           // unused object names
	badKey  []int                              // key file copies (0, 1) damaged or missing
	goodKey []byte                             // a sound key file copy
	badWrap []string                           // damaged wrap files
	missing []Hole                             // holes with no file and no quarantine record
}

// Check verifies every file of the vault and reports what is damaged,
// what it costs and what `nook vault repair` would do. It changes nothing
// (open the vault with ReadOnly for a check that writes nothing at all).
func (v *Vault) Check() (CheckReport, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return CheckReport{}, err
	}
	unlock := v.sharedLock()
	defer unlock()
	sc := v.scan()
	return sc.rep, nil
}

// sharedLock takes the write lock shared, when the lock file exists, so
// that no writer changes the folder during a check. It returns the unlock.
func (v *Vault) sharedLock() func() {
	lf, err := os.Open(filepath.Join(v.dir, "lock"))
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_SH); err != nil {
		lf.Close()
		return func() {}
	}
	return func() { syscall.Flock(int(lf.Fd()), syscall.LOCK_UN); lf.Close() }
}

// scan verifies everything. The caller holds v.mu (and a lock on the
// folder).
func (v *Vault) scan() *scan {
	sc := &scan{st: newState(), heads: map[string]head{}, bodies: map[string]map[uint64]*format.Body{}, tails: map[string]uint64{}}
	sc.rep.Dir = v.dir
	v.scanLogs(sc)
	v.scanObjects(sc)
	v.scanKeys(sc)
	v.scanSnapshot(sc)
	sc.rep.Temp = countTemp(v.dir)
	return sc
}

func (sc *scan) setEffect(path, effect string) {
	for i := range sc.rep.Damaged {
		if sc.rep.Damaged[i].Path == path {
			sc.rep.Damaged[i].Effect = effect
		}
	}
}

func (sc *scan) damage(kind, path, problem, effect string) {
	sc.rep.Damaged = append(sc.rep.Damaged, Damage{Kind: kind, Path: path, Problem: problem, Effect: effect})
}

// scanLogs replays every device's log from its first entry into sc.st,
// as catchUp does, noting damaged and missing entries.
func (v *Vault) scanLogs(sc *scan) {
	for _, dev := range v.logDevices() {
		seqs, err := entrySeqs(v.logDir(dev))
		if err != nil {
			sc.damage("entry", v.logDir(dev), err.Error(), "this device's log cannot be read")
			continue
		}
		present := map[uint64]bool{}
		for _, s := range seqs {
			present[s] = true
		}
		sc.bodies[dev] = map[uint64]*format.Body{}
		var last head
		var end uint64
		if n := len(seqs); n > 0 {
			end = seqs[n-1]
		}
		var gone []uint64
		for seq := uint64(1); seq <= end; seq++ {
			path := v.entryPath(dev, seq)
			if !present[seq] {
				gone = append(gone, seq)
				continue
			}
			data, err := os.ReadFile(path)
			var b *format.Body
			var h head
			if err == nil {
				if b, h, err = v.openEntry(data, dev, seq); err == nil {
					if err = v.checkLinkIn(sc, b, last); errors.Is(err, errUnlinked) {
						err = nil
					}
				}
			}
			if err != nil {
				sc.badLog = append(sc.badLog, path)
				gone = append(gone, seq)
				effect := "its changes are lost on this device; the entries after it still apply; repair moves it to quarantine"
				if dev == v.device {
					effect = "its changes are lost unless another of your devices holds it (`nook sync now` restores it); the entries after it still apply; repair moves it to quarantine"
				}
				sc.damage("entry", path, err.Error(), effect)
				continue
			}
			sc.st.apply(b)
			sc.bodies[dev][seq] = b
			sc.heads[dev] = h
			last = h
			sc.rep.Entries++
		}
		// What failed past the last verified entry is the log's damaged
		// end; what failed or is missing before it is a hole.
		for _, seq := range gone {
			if seq > last.Seq {
				if present[seq] {
					sc.tails[dev] = max(sc.tails[dev], seq)
					if dev == v.device {
						sc.setEffect(v.entryPath(dev, seq), "this device's log ends with damaged entries, so writes are refused: repair moves them to quarantine and starts a new segment of the log (sync first if another of your devices may hold them)")
					}
				}
				continue
			}
			if !present[seq] {
				if v.quarantined(filepath.Join("log", dev, entryName(seq))) {
					continue
				}
				sc.missing = append(sc.missing, Hole{dev, seq, seq})
				sc.damage("entry", v.entryPath(dev, seq), "missing", "its changes are lost unless another device holds it; the entries after it still apply; repair records it as lost")
			}
		}
	}
	for dev, rs := range sc.st.holes {
		for _, r := range rs {
			sc.rep.Holes = append(sc.rep.Holes, Hole{dev, r.From, r.To})
		}
	}
	sort.Slice(sc.rep.Holes, func(i, j int) bool {
		a, b := sc.rep.Holes[i], sc.rep.Holes[j]
		return a.Device < b.Device || a.Device == b.Device && a.From < b.From
	})
}

// checkLinkIn is checkLink against the scan's replay.
func (v *Vault) checkLinkIn(sc *scan, b *format.Body, last head) error {
	if last.Seq > 0 && !last.HLC.Less(b.HLC) {
		return errors.New("clock does not advance")
	}
	t := b.ChainSeq()
	var link head
	switch {
	case t == 0:
	case t == last.Seq:
		link = last
	default:
		pb := sc.bodies[b.Device][t]
		if pb == nil {
			return errUnlinked
		}
		data, err := os.ReadFile(v.entryPath(b.Device, t))
		if err != nil {
			return errUnlinked
		}
		_, h, err := v.openEntry(data, b.Device, t)
		if err != nil {
			return errUnlinked
		}
		link = h
	}
	if b.Prev != link.Hash {
		return errors.New("out of chain")
	}
	return nil
}

// quarantined reports whether a repair moved the file at rel (relative to
// the vault folder) to quarantine, or recorded it as lost.
func (v *Vault) quarantined(rel string) bool {
	for _, suffix := range []string{"", ".lost"} {
		if m, _ := filepath.Glob(filepath.Join(v.dir, quarantineDir, "*", rel+suffix)); len(m) > 0 {
			return true
		}
	}
	return false
}

// scanObjects verifies every object file against the replayed state.
func (v *Vault) scanObjects(sc *scan) {
	refs := map[string]nsKey{}
	for ns, m := range sc.st.ns {
		for key, ks := range m {
			for i := range ks.Heads {
				if r := ks.Heads[i].Ref; r != "" {
					refs[r] = nsKey{ns, key}
				}
			}
		}
	}
	files, badPacks := v.listObjects()
	for name, err := range badPacks {
		p := filepath.Join(v.packs.dir, name)
		sc.badObj = append(sc.badObj, p)
		sc.damage("pack", p, err.Error(), "the objects in it are missing here: sync fetches them again; repair moves the pack to quarantine")
	}
	errs := make([]error, len(files))
	cutoff := time.Now().Add(-gcGrace)
	parallel(len(files), func(i int) {
		f := files[i]
		if !validObjectName(f.name) || (f.pack == "" && v.objectPath(f.name) != f.path) {
			errs[i] = errors.New("not an object name")
			return
		}
		var data []byte
		var err error
		if f.pack == "" {
			data, err = os.ReadFile(f.path)
		} else {
			data, err = readAt(f.path, f.off, f.size)
		}
		if err != nil {
			errs[i] = err
			return
		}
		if k, ok := refs[f.name]; ok {
			var payload []byte
			if payload, err = v.openObject(f.name, objectKinds[k.NS], data); err == nil && k.NS == nsDoc {
				if _, derr := decodeDoc(payload); derr != nil {
					err = fmt.Errorf("%w: %v", ErrCorrupt, derr)
				}
			}
			errs[i] = err
			return
		}
		plain, err := v.decrypt(data, maxObject)
		if err == nil {
			_, _, _, err = format.VerifyObject(f.name, plain, v.ring().keysOf)
		}
		errs[i] = err
	})
	seen := map[string]bool{}
	for i, f := range files {
		seen[f.name] = true
		k, used := refs[f.name]
		if errs[i] != nil {
			if f.pack != "" {
				sc.badPack = append(sc.badPack, f.name)
				sc.damage("object", f.path+"#"+f.name, errs[i].Error(), objectEffect(k, used))
				continue
			}
			sc.badObj = append(sc.badObj, f.path)
			sc.damage("object", f.path, errs[i].Error(), objectEffect(k, used))
			continue
		}
		sc.rep.Objects++
		if !used && f.mod.Before(cutoff) {
			sc.unused = append(sc.unused, f.name)
		}
	}
	sc.rep.Unused = len(sc.unused)
	var names []string
	for r := range refs {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		if seen[r] || v.quarantined(filepath.Join("objects", r[:2], r[2:])) {
			continue
		}
		if _, pending := v.missing[r]; pending {
			sc.rep.NotHereYet++
			continue
		}
		sc.damage("object", v.objectPath(r), "missing", objectEffect(refs[r], true))
	}
}

// objectEffect says what a damaged or missing object costs.
func objectEffect(k nsKey, used bool) string {
	if !used {
		return "no entry points at it: nothing is lost; repair moves it to quarantine"
	}
	switch k.NS {
	case nsDoc:
		return fmt.Sprintf("document %q: the next `nook add` of it ingests it again from the file (another device may also hold it: `nook sync now`); repair moves it to quarantine", k.Key)
	case nsMemory:
		return fmt.Sprintf("memory fact %s is unreadable here: another device may hold it (`nook sync now`), or `nook forget %s`; repair moves it to quarantine", k.Key, k.Key)
	case nsSession:
		return fmt.Sprintf("session %s is unreadable here: another device may hold it (`nook sync now`), or delete the session; repair moves it to quarantine", k.Key)
	case nsSecret:
		return fmt.Sprintf("secret %q is unreadable here: another device may hold it (`nook sync now`), or set it again; repair moves it to quarantine", k.Key)
	}
	return fmt.Sprintf("%s %q is unreadable here; repair moves it to quarantine", k.NS, k.Key)
}

// scanKeys checks both key file copies (their checksums: the passphrase
// is not kept) and every wrap.
func (v *Vault) scanKeys(sc *scan) {
	for i, p := range keyFilePaths(v.dir, v.device) {
		data, err := os.ReadFile(p)
		switch {
		case err != nil:
			sc.badKey = append(sc.badKey, i)
			sc.damage("key file", p, "missing", "the other copy is sound (the vault opened): repair writes this one again")
		case !format.KeyFileIntact(data):
			sc.badKey = append(sc.badKey, i)
			sc.damage("key file", p, "checksum does not match", "the other copy is sound (the vault opened): repair writes this one again")
		default:
			sc.rep.KeyFiles++
			sc.goodKey = data
		}
	}
	root := filepath.Join(v.dir, "keys", "epochs")
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		files, _ := os.ReadDir(filepath.Join(root, d.Name()))
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".tmp-") {
				continue
			}
			p := filepath.Join(root, d.Name(), f.Name())
			name := d.Name() + "/" + f.Name()
			data, err := os.ReadFile(p)
			switch {
			case err != nil:
			case !validWrapName(name):
				err = errors.New("not a wrap name")
			case f.Name() == v.device+".age":
				var w *format.Wrap
				if w, _, err = format.OpenWrap(data, v.devID); err == nil && (w.Vault != v.id || w.Device != v.device || !strings.HasPrefix(d.Name(), fmt.Sprint(w.Epoch)+"-")) {
					err = errors.New("wrap of another vault, device or epoch")
				}
			case !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")):
				err = errors.New("not an age file")
			}
			if err != nil {
				sc.badWrap = append(sc.badWrap, p)
				sc.damage("wrap", p, err.Error(), "a key epoch wrapped to a device cannot be read from it: another device holds the same epoch and can wrap it again (pairing); repair moves it to quarantine")
				continue
			}
			sc.rep.Wraps++
		}
	}
}

// scanSnapshot checks the index snapshot against the replay: its state,
// brought up to date with the entries written after it, must be the
// replay's.
func (v *Vault) scanSnapshot(sc *scan) {
	data, err := os.ReadFile(v.snapshotPath())
	if errors.Is(err, fs.ErrNotExist) {
		sc.rep.Snapshot = "missing"
		return
	}
	var meta *snapshotMeta
	var x *index
	if err == nil {
		meta, x, err = v.readSnapshot(data)
	}
	if err != nil {
		sc.rep.Snapshot = "damaged"
		sc.damage("snapshot", v.snapshotPath(), err.Error(), "nothing is lost (it is a cache): it is rebuilt from the logs when the vault is opened; repair rebuilds it")
		return
	}
	st := stateFromWire(meta.State)
	stale := false
	for dev, bs := range sc.bodies {
		from := meta.Heads[dev].Seq
		seqs := make([]uint64, 0, len(bs))
		for seq := range bs {
			if seq > from {
				seqs = append(seqs, seq)
			}
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for _, seq := range seqs {
			st.apply(bs[seq])
			stale = true
		}
	}
	a, err1 := st.encode()
	b, err2 := sc.st.encode()
	problem := ""
	switch {
	case err1 != nil || err2 != nil:
		problem = "cannot encode its state"
	case !bytes.Equal(a, b):
		problem = "its state disagrees with the logs"
	default:
		for _, key := range st.keys(nsDoc) {
			ver, _ := st.get(nsDoc, key)
			if r := x.docRef(key); r != ver.Ref && !stale && r != "" {
				problem = fmt.Sprintf("its index holds another version of %q", key)
				break
			}
		}
	}
	if problem != "" {
		sc.rep.Snapshot = "damaged"
		sc.damage("snapshot", v.snapshotPath(), problem, "nothing is lost (it is a cache): repair rebuilds it from the logs and objects")
		return
	}
	sc.rep.Snapshot = "sound"
	if stale {
		sc.rep.Snapshot = "stale"
	}
}

// countTemp counts temp files older than a minute.
func countTemp(dir string) int {
	n := 0
	cutoff := time.Now().Add(-time.Minute)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
				n++
			}
		}
		return nil
	})
	return n
}
