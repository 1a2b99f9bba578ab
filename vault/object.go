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
	if _, err := os.Stat(path); err == nil {
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
	if _, err := os.Stat(path); err == nil {
		return name, nil, nil
	}
	t0 := time.Now()
	ct, err := v.encrypt(plain)
	*enc += time.Since(t0)
	if err != nil {
		return "", nil, fmt.Errorf("vault: encrypt object: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	if _, err := f.Write(ct); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("vault: write %s: %w", path, err)
	}
	crashpoint.Hit("vault: object staged")
	return name, &stagedObject{f: f, path: path}, nil
}

// discardStaged removes temp files that will not be published.
func discardStaged(objs []*stagedObject) {
	for _, o := range objs {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}

// syncStaged makes a batch of staged objects durable under their names:
// every temp file synced (in parallel, so the file system commits them
// together), then renamed, then each folder synced once. Only after this
// may a log entry refer to them; a crash before leaves temp files, never a
// torn object under a final name.
func syncStaged(objs []*stagedObject) error {
	if len(objs) == 0 {
		return nil
	}
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		errs[i] = objs[i].f.Sync()
		if err := objs[i].f.Close(); errs[i] == nil {
			errs[i] = err
		}
	})
	crashpoint.Hit("vault: staged objects synced")
	for i, o := range objs {
		if errs[i] == nil {
			errs[i] = os.Rename(o.f.Name(), o.path)
			crashpoint.Hit("vault: staged object renamed")
		}
		if errs[i] != nil {
			for _, o := range objs {
				os.Remove(o.f.Name())
			}
			return fmt.Errorf("vault: write %s: %w", o.path, errs[i])
		}
	}
	dirs := map[string]bool{}
	var list []string
	for _, o := range objs {
		if d := filepath.Dir(o.path); !dirs[d] {
			dirs[d] = true
			list = append(list, d)
		}
	}
	derrs := make([]error, len(list))
	parallel(len(list), func(i int) { derrs[i] = syncDir(list[i]) })
	crashpoint.Hit("vault: staged folders synced")
	return errors.Join(derrs...)
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
	data, err := os.ReadFile(path)
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
