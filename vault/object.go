package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nook-ai/nook/internal/crashpoint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Object kinds.
const (
	kindDoc     = "doc"
	kindSession = "session"
	kindMemory  = "memory"
	kindSecret  = "secret"
)

// maxObject bounds what one object may decrypt to (a document with its
// chunks and vectors).
const maxObject = 1 << 30

// Objects (objects/ab/cdef…) are age files sealed to a key epoch's
// recipient; the plaintext is format.EncodeObject's framing (kind, epoch,
// payload) and the name is format.ObjectName under that epoch's name key.

func validObjectName(name string) bool { return format.ValidObjectName(name) }

func (v *Vault) objectPath(name string) string {
	return filepath.Join(v.dir, "objects", name[:2], name[2:])
}

// seal frames payload as an object of kind in the current key epoch and
// returns its name and ciphertext.
func (v *Vault) seal(kind string, payload []byte) (name string, plain []byte, err error) {
	cur := v.ring().current()
	if cur == nil {
		return "", nil, errNoEpoch(v.dir)
	}
	plain = format.EncodeObject(kind, cur.epoch, payload)
	return format.ObjectName(cur.keys.Name, plain), plain, nil
}

// encrypt seals plain to the current key epoch's recipient.
func (v *Vault) encrypt(plain []byte) ([]byte, error) {
	cur := v.ring().current()
	if cur == nil {
		return nil, errNoEpoch(v.dir)
	}
	return format.Seal(plain, cur.id.Recipient())
}

// decrypt opens age ciphertext sealed to any epoch this device holds.
func (v *Vault) decrypt(data []byte, limit int64) ([]byte, error) {
	return format.Open(data, limit, v.ring().identities()...)
}

// putObject stores an object and returns its name. An object that already
// exists is not rewritten.
func (v *Vault) putObject(kind string, payload []byte) (string, error) {
	name, plain, err := v.seal(kind, payload)
	if err != nil {
		return "", err
	}
	path := v.objectPath(name)
	if v.objectExists(name) {
		return name, nil
	}
	ct, err := v.encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("vault: encrypt object: %w", err)
	}
	if err := writeFileAtomic(path, ct); err != nil {
		return "", fmt.Errorf("vault: write %s: %w", path, err)
	}
	return name, nil
}

// stagedObject is an object written to a temp file beside its final path:
// not yet synced, not yet under its name. syncStaged publishes a batch.
type stagedObject struct {
	f    *os.File
	path string
	seq  uint64 // order of opening (see flushData)
}

// staging numbers temp files in the order they are opened.
var staging struct {
	sync.Mutex
	seq uint64
}

// stageRaw writes ciphertext to a temp file beside path.
func stageRaw(path string, data []byte) (*stagedObject, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	staging.Lock()
	f, err := os.CreateTemp(dir, ".tmp-*")
	staging.seq++
	seq := staging.seq
	staging.Unlock()
	if err != nil {
		return nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	return &stagedObject{f: f, path: path, seq: seq}, nil
}

// stageObject is putObject for a batch: it encrypts and writes the object
// to a temp file and returns nil when the object already exists.
// It adds the encryption time to enc.
func (v *Vault) stageObject(kind string, payload []byte, enc *time.Duration) (string, *stagedObject, error) {
	name, plain, err := v.seal(kind, payload)
	if err != nil {
		return "", nil, err
	}
	path := v.objectPath(name)
	if v.objectExists(name) {
		return name, nil, nil
	}
	t0 := time.Now()
	ct, err := v.encrypt(plain)
	*enc += time.Since(t0)
	if err != nil {
		return "", nil, fmt.Errorf("vault: encrypt object: %w", err)
	}
	o, err := stageRaw(path, ct)
	if err != nil {
		return "", nil, err
	}
	crashpoint.Hit("vault: object staged")
	return name, o, nil
}

// discardStaged removes temp files that will not be published.
func discardStaged(objs []*stagedObject) {
	for _, o := range objs {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}

// syncStaged makes a batch of staged objects durable under their names:
// the temp files' contents flushed (flushData: on Linux one syncfs of the
// file system for a batch, elsewhere every file fsynced in parallel), then
// renamed, then the new names flushed (flushNames: a second syncfs, or
// each folder fsynced once). Only after this may a log entry refer to
// them; a crash before leaves temp files, never a torn object under a
// final name (nothing is renamed before its bytes are durable).
func syncStaged(objs []*stagedObject) error {
	if len(objs) == 0 {
		return nil
	}
	err := flushData(objs)
	for _, o := range objs {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		for _, o := range objs {
			os.Remove(o.f.Name())
		}
		return fmt.Errorf("vault: write %s: %w", objs[0].path, err)
	}
	crashpoint.Hit("vault: staged objects synced")
	for i, o := range objs {
		if err := os.Rename(o.f.Name(), o.path); err != nil {
			for _, o := range objs[i:] {
				os.Remove(o.f.Name())
			}
			return fmt.Errorf("vault: write %s: %w", o.path, err)
		}
		crashpoint.Hit("vault: staged object renamed")
	}
	dirs := map[string]bool{}
	var list []string
	for _, o := range objs {
		if d := filepath.Dir(o.path); !dirs[d] {
			dirs[d] = true
			list = append(list, d)
		}
	}
	err = flushNames(list, len(objs))
	crashpoint.Hit("vault: staged folders synced")
	return err
}

// syncfsMin is the batch size from which, on Linux, one syncfs(2) of the
// file system replaces an fsync per file: a batch of objects costs the
// file system one journal commit instead of one per file (bench/sync:
// 10,000 objects made durable in batches of 256). A smaller batch keeps
// per-file fsyncs, which touch nothing but its own files. (A variable:
// the kill test takes both ways.)
var syncfsMin = 8

// fsyncAll fsyncs every staged file, in parallel so that the file system
// commits them together (the portable flushData).
func fsyncAll(objs []*stagedObject) error {
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) { errs[i] = objs[i].f.Sync() })
	return errors.Join(errs...)
}

// syncDirs fsyncs each folder once, in parallel (the portable flushNames).
func syncDirs(dirs []string) error {
	errs := make([]error, len(dirs))
	parallel(len(dirs), func(i int) { errs[i] = syncDir(dirs[i]) })
	return errors.Join(errs...)
}

// parallel runs f(0)…f(n-1) on up to 16 goroutines (they mostly wait on
// the disk).
func parallel(n int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, 16) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// getObject reads, decrypts and authenticates an object. want is the kind
// the caller expects.
func (v *Vault) getObject(name, want string) ([]byte, error) {
	if !validObjectName(name) {
		return nil, fmt.Errorf("vault: object %q: %w", name, ErrCorrupt)
	}
	path := v.objectPath(name)
	data, err := v.readObjectFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("vault: object %s: missing: %w", path, ErrCorrupt)
		}
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	payload, err := v.openObject(name, want, data)
	if err != nil {
		return nil, fmt.Errorf("vault: object %s: %w", path, err)
	}
	return payload, nil
}

// openObject is the decoder: ciphertext → authenticated payload.
func (v *Vault) openObject(name, want string, data []byte) ([]byte, error) {
	plain, err := v.decrypt(data, maxObject)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	kind, _, payload, err := format.VerifyObject(name, plain, v.ring().keysOf)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if kind != want {
		return nil, fmt.Errorf("%w: a %s object where a %s was expected", ErrCorrupt, kind, want)
	}
	return payload, nil
}
