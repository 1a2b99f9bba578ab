package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/nook-ai/nook/internal/hint"
)

// Embedder turns texts into L2-normalised vectors. engine.Engine satisfies
// it; the vault never calls a model any other way.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// header is the plaintext VAULT file: no secrets.
type header struct {
	Format     int       `json:"format"`
	ID         string    `json:"id"`
	Recipients []string  `json:"recipients"`
	Created    time.Time `json:"created"`
}

// Vault is an unlocked vault. Its methods are safe for concurrent use.
type Vault struct {
	dir       string
	id        string
	device    string
	identity  *age.X25519Identity
	recipient *age.X25519Recipient
	devKey    *secp256k1.PrivateKey
	keys      derivedKeys
	opts      options

	mu        sync.Mutex
	closed    bool
	heads     map[string]head
	state     map[string]map[string]stateRef
	idx       *index
	dirty     bool // the index snapshot is behind
	problems  []error
	logBroken error
}

type options struct {
	embedder   Embedder
	embedModel string
	workFactor int
}

// Option configures Init and Open.
type Option func(*options)

// WithEmbedder sets the embedder used by Add and Search. Without one, Add
// stores no vectors and Search is lexical only.
func WithEmbedder(e Embedder) Option { return func(o *options) { o.embedder = e } }

// WithEmbedModel names the embedding model; documents embedded with another
// model are re-embedded by the next Add.
func WithEmbedModel(name string) Option { return func(o *options) { o.embedModel = name } }

// WithScryptWorkFactor sets log2 of the scrypt cost for Init (default
// DefaultScryptWorkFactor). Tests use small values.
func WithScryptWorkFactor(logN int) Option { return func(o *options) { o.workFactor = logN } }

func buildOptions(opts []Option) options {
	o := options{workFactor: DefaultScryptWorkFactor}
	for _, f := range opts {
		f(&o)
	}
	return o
}

const deviceFile = "DEVICE"

func notInit(dir string) error {
	return hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrNotInitialized), "run `nook init` first")
}

// Init creates a vault in dir (which must be absent or empty of a vault):
// the vault's X25519 identity and this device's secp256k1 key, wrapped with
// passphrase in keys/<device>.age. It returns the unlocked vault.
func Init(dir string, passphrase []byte, opts ...Option) (*Vault, error) {
	o := buildOptions(opts)
	if len(passphrase) == 0 {
		return nil, hint.New(fmt.Errorf("vault: init %s: %w: empty passphrase", dir, ErrLocked), "choose a passphrase, or set NOOK_PASSPHRASE")
	}
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); err == nil {
		return nil, hint.New(fmt.Errorf("vault: init %s: %w", dir, ErrAlreadyInitialized), "use the existing vault, or pick another NOOK_HOME")
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	dk, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	vid := make([]byte, 16)
	rand.Read(vid)
	h := header{Format: 1, ID: hex.EncodeToString(vid), Recipients: []string{id.Recipient().String()}, Created: time.Now().UTC()}
	dev := deviceID(dk.PubKey())
	kf := &keyFile{Format: 1, VaultID: h.ID, Device: dev, VaultIdentity: id.String(), DeviceKey: hex.EncodeToString(dk.Serialize())}
	sealed, err := sealKeyFile(kf, passphrase, o.workFactor)
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	for _, d := range []string{"keys", "objects", "log/" + dev, "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("vault: init %s: %w", dir, err)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "keys", dev+".age"), sealed); err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, deviceFile), []byte(dev+"\n")); err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	hb, _ := json.MarshalIndent(h, "", "  ")
	// VAULT last: its presence means the vault is complete.
	if err := writeFileAtomic(filepath.Join(dir, "VAULT"), append(hb, '\n')); err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	return Open(dir, passphrase, opts...)
}

// Open unlocks the vault in dir. Errors: ErrNotInitialized, ErrLocked (empty
// passphrase), ErrWrongPassphrase, ErrCorrupt for an unreadable key file.
// Damaged log entries, objects or a bad index snapshot do not fail Open:
// they are listed by Problems and the rest stays readable.
func Open(dir string, passphrase []byte, opts ...Option) (*Vault, error) {
	o := buildOptions(opts)
	hb, err := os.ReadFile(filepath.Join(dir, "VAULT"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notInit(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || h.Format != 1 || len(h.Recipients) == 0 {
		return nil, fmt.Errorf("vault: open %s: %w", filepath.Join(dir, "VAULT"), ErrCorrupt)
	}
	if len(passphrase) == 0 {
		return nil, hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrLocked), "enter the passphrase, or set NOOK_PASSPHRASE for scripts")
	}
	dev, err := localDevice(dir)
	if err != nil {
		return nil, err
	}
	kpath := filepath.Join(dir, "keys", dev+".age")
	kdata, err := os.ReadFile(kpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notInit(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", kpath, err)
	}
	kf, err := openKeyFile(kdata, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrWrongPassphrase), "try again, or set NOOK_PASSPHRASE for scripts")
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", kpath, err)
	}
	id, err := age.ParseX25519Identity(kf.VaultIdentity)
	if err != nil || kf.VaultID != h.ID || kf.Device != dev {
		return nil, fmt.Errorf("vault: open %s: %w: key file of another vault", kpath, ErrCorrupt)
	}
	dkb, err := hex.DecodeString(kf.DeviceKey)
	if err != nil || len(dkb) != 32 {
		return nil, fmt.Errorf("vault: open %s: %w: bad device key", kpath, ErrCorrupt)
	}
	keys, err := deriveKeys(id)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	v := &Vault{
		dir: dir, id: h.ID, device: dev, identity: id, recipient: id.Recipient(),
		devKey: secp256k1.PrivKeyFromBytes(dkb), keys: keys, opts: o,
		heads: map[string]head{}, state: map[string]map[string]stateRef{},
		idx: newIndex(),
	}
	if err := v.load(); err != nil {
		return nil, err
	}
	return v, nil
}

func localDevice(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, deviceFile))
	if err == nil {
		d := strings.TrimSpace(string(b))
		if len(d) == 16 {
			if _, err := hex.DecodeString(d); err == nil {
				return d, nil
			}
		}
		return "", fmt.Errorf("vault: open %s: %w", filepath.Join(dir, deviceFile), ErrCorrupt)
	}
	// No DEVICE file: use the only key file there is.
	ents, _ := os.ReadDir(filepath.Join(dir, "keys"))
	var found []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".age"); ok {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", notInit(dir)
}

// load brings state and index up to date: the snapshot, then the log
// entries after it, then the objects of documents that changed.
func (v *Vault) load() error {
	v.loadSnapshot()
	changed, err := v.catchUp()
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		v.syncIndex(changed)
		v.dirty = true
	}
	return nil
}

// syncIndex makes the index match the state for the given doc keys.
func (v *Vault) syncIndex(keys map[string]bool) {
	docs := v.state[nsDoc]
	for k := range keys {
		ref, ok := docs[k]
		if !ok {
			v.idx.removeDoc(k)
			continue
		}
		if v.idx.docRef(k) == ref.Ref {
			continue
		}
		d, err := v.loadDoc(ref.Ref)
		if err != nil {
			v.problems = append(v.problems, err)
			v.idx.removeDoc(k)
			continue
		}
		v.idx.putDoc(k, ref.Ref, d)
	}
}

// Close saves the index snapshot if it changed and locks the vault.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	err := v.saveSnapshotLocked()
	v.closed = true
	return err
}

func (v *Vault) check() error {
	if v.closed {
		return fmt.Errorf("vault: %s: %w", v.dir, ErrLocked)
	}
	return nil
}

// withWriteLock runs f holding the vault's cross-process write lock
// (flock on vault/lock) after catching up with entries other processes
// appended.
func (v *Vault) withWriteLock(f func() error) error {
	lf, err := os.OpenFile(filepath.Join(v.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("vault: lock %s: %w", v.dir, err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("vault: lock %s: %w", v.dir, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	changed, err := v.catchUp()
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		v.syncIndex(changed)
		v.dirty = true
	}
	return f()
}

// commit appends ops to the log under the write lock.
func (v *Vault) commit(ops []op) error {
	return v.withWriteLock(func() error { return v.appendEntry(ops) })
}

// Dir is the vault folder.
func (v *Vault) Dir() string { return v.dir }

// ID is the vault's random id (from VAULT).
func (v *Vault) ID() string { return v.id }

// Device is this device's id: hex of the first 8 bytes of SHA-256 of its
// compressed secp256k1 public key.
func (v *Vault) Device() string { return v.device }

// DeviceKey returns this device's 32-byte secp256k1 private key (a copy).
// It also signs this device's op log.
func (v *Vault) DeviceKey() []byte { return v.devKey.Serialize() }

// Recipient is the vault's public age recipient ("age1...").
func (v *Vault) Recipient() string { return v.recipient.String() }

// Problems lists damaged files found so far (bad log entries, objects, a
// snapshot that failed authentication). Each error names its file.
func (v *Vault) Problems() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]error(nil), v.problems...)
}

// ExportKey writes the vault's age identity (AGE-SECRET-KEY-1...) with a
// comment line, for `age -d -i FILE`. Anyone holding it reads the vault.
func (v *Vault) ExportKey(w io.Writer) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "# nook vault %s\n# public key: %s\n%s\n", v.id, v.recipient, v.identity)
	return err
}

// Status summarises the vault.
type Status struct {
	Dir       string   `json:"dir"`
	ID        string   `json:"id"`
	Device    string   `json:"device"`
	Recipient string   `json:"recipient"`
	LogSeq    uint64   `json:"log_seq"`
	Documents int      `json:"documents"`
	Chunks    int      `json:"chunks"`
	Objects   int      `json:"objects"`
	Bytes     int64    `json:"bytes"` // on disk under objects/
	Sessions  int      `json:"sessions"`
	Memories  int      `json:"memories"`
	Secrets   int      `json:"secrets"`
	Problems  []string `json:"problems,omitempty"`
}

// Status reports counts and problems.
func (v *Vault) Status() (Status, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Status{}, err
	}
	s := Status{
		Dir: v.dir, ID: v.id, Device: v.device, Recipient: v.recipient.String(),
		LogSeq: v.heads[v.device].Seq, Documents: len(v.state[nsDoc]), Chunks: v.idx.len(),
		Sessions: len(v.state[nsSession]), Memories: len(v.state[nsMemory]), Secrets: len(v.state[nsSecret]),
	}
	filepath.WalkDir(filepath.Join(v.dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".tmp-") {
			s.Objects++
			if fi, err := d.Info(); err == nil {
				s.Bytes += fi.Size()
			}
		}
		return nil
	})
	for _, p := range v.problems {
		s.Problems = append(s.Problems, p.Error())
	}
	return s, nil
}
