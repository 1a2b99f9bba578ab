package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
)

// Object kinds.
const (
	kindDoc     = "doc"
	kindSession = "session"
	kindMemory  = "memory"
	kindSecret  = "secret"
)

const objectMagic = "nook-object/1 "

// maxObject bounds what one object may decrypt to (a document with its
// chunks and vectors).
const maxObject = 1 << 30

// encodeObject frames a payload: "nook-object/1 KIND\n" then the payload.
func encodeObject(kind string, payload []byte) []byte {
	b := make([]byte, 0, len(objectMagic)+len(kind)+1+len(payload))
	b = append(b, objectMagic...)
	b = append(b, kind...)
	b = append(b, '\n')
	return append(b, payload...)
}

// decodeObject splits a decrypted object into its kind and payload.
func decodeObject(plain []byte) (kind string, payload []byte, err error) {
	rest, ok := bytes.CutPrefix(plain, []byte(objectMagic))
	if !ok {
		return "", nil, errors.New("not a nook object")
	}
	k, payload, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok || len(k) == 0 || len(k) > 16 {
		return "", nil, errors.New("bad object kind")
	}
	for _, c := range k {
		if c < 'a' || c > 'z' {
			return "", nil, errors.New("bad object kind")
		}
	}
	return string(k), payload, nil
}

// objectName is HMAC-SHA256(name key, plaintext), hex: equal contents share
// one object, and the name reveals nothing without the key.
func objectName(key, plain []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(plain)
	return hex.EncodeToString(m.Sum(nil))
}

func validObjectName(name string) bool {
	if len(name) != 64 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

func (v *Vault) objectPath(name string) string {
	return filepath.Join(v.dir, "objects", name[:2], name[2:])
}

// encrypt seals plain to the vault's X25519 recipient.
func (v *Vault) encrypt(plain []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(plain) + 256)
	w, err := age.Encrypt(&buf, v.recipient)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decrypt opens age ciphertext sealed to the vault identity.
func (v *Vault) decrypt(data []byte, limit int64) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), v.identity)
	if err != nil {
		return nil, err
	}
	// The plaintext is a little shorter than the ciphertext: one allocation.
	buf := bytes.NewBuffer(make([]byte, 0, len(data)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, err
	}
	plain := buf.Bytes()
	if int64(len(plain)) > limit {
		return nil, errors.New("too large")
	}
	return plain, nil
}

// putObject stores an object and returns its name. An object that already
// exists is not rewritten.
func (v *Vault) putObject(kind string, payload []byte) (string, error) {
	plain := encodeObject(kind, payload)
	name := objectName(v.keys.name, plain)
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
	plain := encodeObject(kind, payload)
	name := objectName(v.keys.name, plain)
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
	for i, o := range objs {
		if errs[i] == nil {
			errs[i] = os.Rename(o.f.Name(), o.path)
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
	if !hmac.Equal([]byte(objectName(v.keys.name, plain)), []byte(name)) {
		return nil, fmt.Errorf("%w: contents do not match the name", ErrCorrupt)
	}
	kind, payload, err := decodeObject(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if kind != want {
		return nil, fmt.Errorf("%w: a %s object where a %s was expected", ErrCorrupt, kind, want)
	}
	return payload, nil
}
