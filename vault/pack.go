package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/internal/crashpoint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Packs. Objects live in one of two places: a file of their own
// (objects/ab/cdef…, what this device writes) or a pack (objects/pack/
// <hash>.pack, a batch received from another device in one file:
// format.EncodePack). Creating ten thousand small files costs a file system
// far more than writing their bytes (on ext4 without a journal, creating
// files soon after many were deleted costs several times more again), so a
// first sync stores each received batch as one pack. Every reader goes
// through objectExists, readObjectFile and listObjects, which look in both.
//
// A pack is written once (temp file, flushed, renamed, folder flushed) and
// never changed; erasing an object rewrites its pack without it (under the
// pack lock, so that two processes erasing from one pack do not each keep
// what the other erased) and removes the old file. The pack's bytes and
// name are a function of its objects, so two processes that write the same
// rewrite write the same file.

// packMin is the smallest received batch stored as a pack; smaller ones
// are stored as files (a variable: the kill test packs every batch at some
// points; in-process tests lower a handle's own copy).
var packMin = 16

// packDirName is the packs' folder under objects/.
const packDirName = "pack"

// packFile is one pack's parsed index.
type packFile struct {
	name    string // file name
	entries []format.PackEntry
	mod     time.Time
	size    int64
}

type packLoc struct {
	pack *packFile
	i    int
}

// packSet is this process's view of objects/pack: which objects are in
// which pack. It is refreshed when the folder changes (another process
// wrote or rewrote a pack) and when a pack it knew has gone.
type packSet struct {
	dir string

	mu      sync.Mutex
	scanned bool
	stamp   time.Time // the folder's mtime at the last scan
	at      time.Time // when that scan ran
	files   map[string]*packFile
	where   map[string]packLoc
	bad     map[string]error // packs whose index does not parse, by file name
}

func newPackSet(objectsDir string) *packSet {
	return &packSet{dir: filepath.Join(objectsDir, packDirName)}
}

// refresh re-reads the folder when it changed since the last scan (or
// always, with force). The caller holds ps.mu.
func (ps *packSet) refresh(force bool) {
	fi, err := os.Stat(ps.dir)
	if err != nil {
		if ps.scanned && len(ps.files) == 0 {
			return
		}
		ps.files, ps.where, ps.bad, ps.scanned = map[string]*packFile{}, map[string]packLoc{}, nil, true
		return
	}
	// A file system stamps times in ticks of a few milliseconds: a change
	// in the tick of the last scan may not move the stamp, so a scan that
	// close to the stamp is not trusted.
	if ps.scanned && !force && fi.ModTime().Equal(ps.stamp) && ps.at.Sub(ps.stamp) > stampTick {
		return
	}
	at := time.Now()
	ents, err := os.ReadDir(ps.dir)
	if err != nil {
		return
	}
	files := map[string]*packFile{}
	var bad map[string]error
	for _, e := range ents {
		if e.IsDir() || !format.ValidPackName(e.Name()) {
			continue
		}
		if pf, ok := ps.files[e.Name()]; ok {
			// Packs are never changed in place; one that was (damage) is
			// parsed again.
			if fi, err := e.Info(); err == nil && fi.Size() == pf.size && fi.ModTime().Equal(pf.mod) {
				files[e.Name()] = pf
				continue
			}
		}
		pf, err := readPackIndex(filepath.Join(ps.dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // rewritten meanwhile
		}
		if err != nil {
			if bad == nil {
				bad = map[string]error{}
			}
			bad[e.Name()] = err
			continue
		}
		files[e.Name()] = pf
	}
	where := make(map[string]packLoc, len(ps.where))
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names) // one object in two packs: the same pack wins in every process
	for _, n := range names {
		pf := files[n]
		for i, e := range pf.entries {
			if _, dup := where[e.Name]; !dup {
				where[e.Name] = packLoc{pf, i}
			}
		}
	}
	ps.files, ps.where, ps.bad, ps.stamp, ps.at, ps.scanned = files, where, bad, fi.ModTime(), at, true
}

// stampTick bounds a file system's timestamp granularity (a jiffy on Linux).
const stampTick = 50 * time.Millisecond

// readPackIndex reads and parses the index of the pack at path.
func readPackIndex(path string) (*packFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, format.PackHeaderSize(0))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("vault: pack %s: %w: %v", path, ErrCorrupt, err)
	}
	n, err := format.PackCount(head)
	if err != nil {
		return nil, fmt.Errorf("vault: pack %s: %w: %v", path, ErrCorrupt, err)
	}
	hs := format.PackHeaderSize(n)
	if hs > fi.Size() {
		return nil, fmt.Errorf("vault: pack %s: %w: index cut short", path, ErrCorrupt)
	}
	header := make([]byte, hs)
	if _, err := f.ReadAt(header, 0); err != nil {
		return nil, fmt.Errorf("vault: pack %s: %w: %v", path, ErrCorrupt, err)
	}
	ents, err := format.ParsePackIndex(header, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("vault: pack %s: %w: %v", path, ErrCorrupt, err)
	}
	return &packFile{name: filepath.Base(path), entries: ents, mod: fi.ModTime(), size: fi.Size()}, nil
}

// lookup finds a packed object, re-reading the folder if it changed.
func (ps *packSet) lookup(name string) (packLoc, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.refresh(false)
	loc, ok := ps.where[name]
	return loc, ok
}

// holding returns which of names a pack holds, re-reading the folder at
// most once.
func (ps *packSet) holding(names iter.Seq[string]) map[string]bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.refresh(false)
	out := map[string]bool{}
	for n := range names {
		if _, ok := ps.where[n]; ok {
			out[n] = true
		}
	}
	return out
}

// read returns a packed object's bytes; fs.ErrNotExist when no pack holds
// it. A pack that another process replaced meanwhile is looked up again.
func (ps *packSet) read(name string) ([]byte, error) {
	for try := 0; ; try++ {
		loc, ok := ps.lookup(name)
		if !ok {
			return nil, fs.ErrNotExist
		}
		e := loc.pack.entries[loc.i]
		data, err := readAt(filepath.Join(ps.dir, loc.pack.name), e.Off, e.Size)
		if errors.Is(err, fs.ErrNotExist) && try == 0 {
			ps.mu.Lock()
			ps.refresh(true)
			ps.mu.Unlock()
			continue
		}
		return data, err
	}
}

func readAt(path string, off, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	return b, nil
}

// add records a pack this process just wrote.
// Its size and time are the file's, so that the rescan its folder's change
// calls for finds it parsed already.
func (ps *packSet) add(pf *packFile) {
	if fi, err := os.Stat(filepath.Join(ps.dir, pf.name)); err == nil {
		pf.size, pf.mod = fi.Size(), fi.ModTime()
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.files == nil {
		ps.files, ps.where = map[string]*packFile{}, map[string]packLoc{}
	}
	ps.files[pf.name] = pf
	ps.refresh(false)
	ps.files[pf.name] = pf // kept even where the folder's time did not move
	for i, e := range pf.entries {
		if _, dup := ps.where[e.Name]; !dup {
			ps.where[e.Name] = packLoc{pf, i}
		}
	}
}

// snapshot lists every packed object (in every pack that holds it) and
// the packs that do not parse.
func (ps *packSet) snapshot() ([]objectFile, map[string]error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.refresh(true)
	var out []objectFile
	for _, pf := range ps.files {
		path := filepath.Join(ps.dir, pf.name)
		for _, e := range pf.entries {
			out = append(out, objectFile{name: e.Name, path: path, pack: pf.name, off: e.Off, size: e.Size, mod: pf.mod})
		}
	}
	return out, maps.Clone(ps.bad)
}

// objectExists reports whether the object is on this device, loose or
// packed.
func (v *Vault) objectExists(name string) bool {
	if v.looseExists(name) {
		return true
	}
	_, ok := v.packs.lookup(name)
	return ok && validObjectName(name)
}

// looseExists: the object is stored as its own file.
func (v *Vault) looseExists(name string) bool {
	if !validObjectName(name) {
		return false
	}
	_, err := os.Stat(v.objectPath(name))
	return err == nil
}

// readObjectFile returns an object's stored bytes, loose or packed; an
// error wrapping fs.ErrNotExist when it is in neither place.
func (v *Vault) readObjectFile(name string) ([]byte, error) {
	data, err := os.ReadFile(v.objectPath(name))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return data, err
	}
	data, perr := v.packs.read(name)
	if errors.Is(perr, fs.ErrNotExist) {
		return nil, err // the loose file's error names the path
	}
	return data, perr
}

// objectFile is one stored object, for listings: loose (pack == "") or in
// a pack.
type objectFile struct {
	name string
	path string // the loose file, or the pack's
	pack string // the pack's file name
	off  int64  // in the pack
	size int64
	mod  time.Time
}

// listObjects lists every stored object, loose and packed (an object in
// two places is listed twice), and the packs whose index is damaged.
func (v *Vault) listObjects() ([]objectFile, map[string]error) {
	root := filepath.Join(v.dir, "objects")
	var out []objectFile
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if d.Name() == packDirName && filepath.Dir(p) == root {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		f := objectFile{name: filepath.Base(filepath.Dir(p)) + d.Name(), path: p}
		if fi, err := d.Info(); err == nil {
			f.size, f.mod = fi.Size(), fi.ModTime()
		}
		out = append(out, f)
		return nil
	})
	packed, bad := v.packs.snapshot()
	return append(out, packed...), bad
}

// stagePack writes objs as a pack to a temp file beside its final name,
// for syncStaged to publish.
func (v *Vault) stagePack(objs []format.PackObject) (*stagedObject, *packFile, error) {
	data, err := format.EncodePack(objs)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	name := format.PackName(data)
	ents, err := format.ParsePackIndex(data, int64(len(data)))
	if err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	st, err := stageRaw(filepath.Join(v.packs.dir, name), data)
	if err != nil {
		return nil, nil, err
	}
	crashpoint.Hit("vault: pack staged")
	return st, &packFile{name: name, entries: ents, mod: time.Now(), size: int64(len(data))}, nil
}

// withPackLock runs f holding the cross-process lock on objects/pack
// (rewrites read a pack and replace it: two at once would each keep what
// the other removed).
func (v *Vault) withPackLock(f func() error) error {
	if err := os.MkdirAll(v.packs.dir, 0o700); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return withFlock(filepath.Join(v.packs.dir, ".lock"), f)
}

// dropFromPacks rewrites every pack holding one of names without it (a
// pack left empty is removed) and returns each dropped object's bytes and
// size, by name. keep, when set, is called with each dropped object's
// bytes before its pack is replaced (repair saves them to quarantine).
func (v *Vault) dropFromPacks(names map[string]bool, keep func(name string, data []byte) error) (map[string]int64, error) {
	dropped := map[string]int64{}
	if len(names) == 0 {
		return dropped, nil
	}
	err := v.withPackLock(func() error {
		ps := v.packs
		ps.mu.Lock()
		ps.refresh(true)
		var hit []*packFile
		for _, pf := range ps.files {
			for _, e := range pf.entries {
				if names[e.Name] {
					hit = append(hit, pf)
					break
				}
			}
		}
		ps.mu.Unlock()
		sort.Slice(hit, func(i, j int) bool { return hit[i].name < hit[j].name })
		for _, pf := range hit {
			if err := v.rewritePack(pf, names, keep, dropped); err != nil {
				return err
			}
		}
		ps.mu.Lock()
		ps.refresh(true)
		ps.mu.Unlock()
		return nil
	})
	return dropped, err
}

// rewritePack replaces pf with a pack of its objects not in drop. The
// caller holds the pack lock.
func (v *Vault) rewritePack(pf *packFile, drop map[string]bool, keep func(string, []byte) error, dropped map[string]int64) error {
	old := filepath.Join(v.packs.dir, pf.name)
	data, err := os.ReadFile(old)
	if err != nil {
		return fmt.Errorf("vault: read %s: %w", old, err)
	}
	var rest []format.PackObject
	for _, e := range pf.entries {
		if e.Off+e.Size > int64(len(data)) {
			return fmt.Errorf("vault: pack %s: %w: changed under its index", old, ErrCorrupt)
		}
		b := data[e.Off : e.Off+e.Size]
		if drop[e.Name] {
			if keep != nil {
				if err := keep(e.Name, b); err != nil {
					return err
				}
			}
			dropped[e.Name] = e.Size
			continue
		}
		rest = append(rest, format.PackObject{Name: e.Name, Data: b})
	}
	if len(rest) > 0 {
		st, _, err := v.stagePack(rest)
		if err != nil {
			return err
		}
		if err := syncStaged([]*stagedObject{st}); err != nil {
			return err
		}
		crashpoint.Hit("vault: pack rewritten")
	}
	if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vault: erase %s: %w", old, err)
	}
	return syncDir(v.packs.dir)
}
