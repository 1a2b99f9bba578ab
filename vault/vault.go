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
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Embedder turns texts into L2-normalised vectors. engine.Engine satisfies
// it; the vault never calls a model any other way.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Format is the on-disk format this package writes. Format-1 vaults are
// migrated by Open.
const Format = 2

// header is the plaintext VAULT file: no secrets. It is this device's: sync
// never sends it.
type header struct {
	Format int    `json:"format"`
	ID     string `json:"id"`
	// Device is this device's address (format 2).
	Device string `json:"device,omitempty"`
	// MigratedFrom is the format-1 device id whose files a migration still
	// has to remove.
	MigratedFrom string `json:"migrated_from,omitempty"`
	// Recipients is format 1's vault recipient.
	Recipients []string  `json:"recipients,omitempty"`
	Created    time.Time `json:"created"`
}

// Vault is an unlocked vault. Its methods are safe for concurrent use.
type Vault struct {
	dir     string
	id      string
	device  string
	devKey  *secp256k1.PrivateKey
	devID   *age.X25519Identity
	devKeys format.Keys
	keys    atomic.Pointer[keyring]
	opts    options

	mu     sync.Mutex
	closed bool
	heads  map[string]head
	st     *mstate
	idx    *index
	dirty  bool // the index snapshot is behind
	// shed: the index dropped a document the state removed since the
	// snapshot was saved (saveSnapshotSoon saves at once).
	shed      bool
	saveTimer *time.Timer   // saveSnapshotSoon's pending save
	snapDelay time.Duration // snapshotDelay when opened (tests change it per handle)
	problems  []error
	// tail: devices whose last log file here is damaged, → its seq (the
	// entries after the head failed to verify and none after them did).
	tail map[string]uint64
	// missing: object names the state points at that are not on this
	// device (yet): sync brings them after the entries.
	missing map[string]nsKey // object name → the key pointing at it
	// fresh: document objects just written by this handle, so the index
	// does not read them back.
	fresh map[string]*docObject
	// erased: what the current write erased (reported by its caller).
	erased Erased
	// packs: the received batches stored as packs (pack.go); packErase:
	// packed objects erased by the current write, dropped from their
	// packs by flushPackErase.
	packs     *packSet
	packErase map[string]bool
	packMin   int // packMin when opened (tests lower it per handle)
	// imported: while Import runs, the entries it stores (published
	// together at its end, see storeEntry).
	imported *entryBatch
}

type options struct {
	embedder   Embedder
	embedModel string
	workFactor int
	readOnly   bool
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

// ReadOnly opens the vault without writing anything to its folder: no
// migration, no key file copy restored, no temp files removed, no index
// snapshot saved, and every write refused. `nook vault check` uses it.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

func errReadOnly(dir string) error {
	return fmt.Errorf("vault: %s: opened read-only", dir)
}

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

// holdsVaultFiles reports whether dir has key, object or log files: a vault
// whose VAULT header is gone is still a vault.
func holdsVaultFiles(dir string) bool {
	for _, d := range []string{"keys", "objects", "log"} {
		ents, err := os.ReadDir(filepath.Join(dir, d))
		if err == nil && len(ents) > 0 {
			return true
		}
	}
	return false
}

// Init creates a vault in dir (which must hold no vault, not even part of
// one): this device's secp256k1 key and X25519 identity wrapped with
// passphrase in keys/<device>.age, the first key epoch wrapped to the
// device, and a first log entry recording that epoch. It returns the
// unlocked vault.
func Init(dir string, passphrase []byte, opts ...Option) (*Vault, error) {
	o := buildOptions(opts)
	if len(passphrase) == 0 {
		return nil, hint.New(fmt.Errorf("vault: init %s: %w: empty passphrase", dir, ErrLocked), "choose a passphrase, or set NOOK_PASSPHRASE")
	}
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); err == nil {
		return nil, hint.New(fmt.Errorf("vault: init %s: %w", dir, ErrAlreadyInitialized), "use the existing vault, or pick another NOOK_HOME")
	}
	if holdsVaultFiles(dir) {
		return nil, hint.New(fmt.Errorf("vault: init %s: %w: it holds keys, objects or a log but no VAULT header", dir, ErrAlreadyInitialized),
			"this is a damaged vault, not an empty folder: run `nook vault repair` (it writes VAULT again from this device's key file), or move the folder away to start a new vault")
	}
	vid := make([]byte, 16)
	rand.Read(vid)
	h := header{Format: Format, ID: hex.EncodeToString(vid), Created: time.Now().UTC()}
	epoch1, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	v, err := newDevice(dir, passphrase, &h, o)
	if err != nil {
		return nil, err
	}
	if err := writeWrap(dir, h.ID, 1, epoch1, v.device, v.devID.Recipient()); err != nil {
		return nil, err
	}
	// The first entry records epoch 1, sealed to it.
	r := &keyring{}
	e1, err := r.add(1, epoch1)
	if err != nil {
		return nil, err
	}
	e1.trusted = true
	v.keys.Store(r)
	if err := v.withWriteLock(func() error {
		_, err := v.appendEntry([]format.Op{{Op: "put", NS: nsEpoch, Key: epochRecordKey(1, e1.recipient), Val: v.device}})
		return err
	}); err != nil {
		return nil, err
	}
	// VAULT last: its presence means the vault is complete.
	if err := writeHeader(dir, &h); err != nil {
		return nil, err
	}
	return Open(dir, passphrase, opts...)
}

// newDevice makes this device's secrets for the vault h names, writes its
// key files and DEVICE, and returns a Vault holding them (no keyring yet).
// h.Device is set.
func newDevice(dir string, passphrase []byte, h *header, o options) (*Vault, error) {
	dk, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	return deviceFromKey(dir, passphrase, h, o, dk)
}

// deviceFromKey is newDevice with a given device key (a migration keeps
// format 1's).
func deviceFromKey(dir string, passphrase []byte, h *header, o options, dk *secp256k1.PrivateKey) (*Vault, error) {
	devID, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	dev := format.AddressOf(dk.PubKey())
	h.Device = dev
	kf := &format.KeyFile{Format: 2, VaultID: h.ID, Device: dev, DeviceKey: hex.EncodeToString(dk.Serialize()), DeviceX25519: devID.String()}
	sealed, err := format.SealKeyFile(kf, passphrase, o.workFactor)
	if err != nil {
		return nil, fmt.Errorf("vault: init %s: %w", dir, err)
	}
	for _, d := range []string{"keys", "objects", "log/" + dev, "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("vault: init %s: %w", dir, err)
		}
	}
	if err := writeKeyFile(dir, dev, sealed); err != nil {
		return nil, err
	}
	return newVault(dir, h.ID, dev, dk, devID, o)
}

func newVault(dir, id, dev string, dk *secp256k1.PrivateKey, devID *age.X25519Identity, o options) (*Vault, error) {
	dks, err := format.DeviceKeys(devID)
	if err != nil {
		return nil, err
	}
	v := &Vault{
		dir: dir, id: id, device: dev, devKey: dk, devID: devID, devKeys: dks, opts: o,
		heads: map[string]head{}, st: newState(), idx: newIndex(),
		missing: map[string]nsKey{}, fresh: map[string]*docObject{}, tail: map[string]uint64{},
		packs: newPackSet(filepath.Join(dir, "objects")), packMin: packMin, snapDelay: snapshotDelay,
	}
	v.keys.Store(&keyring{})
	return v, nil
}

func writeHeader(dir string, h *header) error {
	hb, _ := json.MarshalIndent(h, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, "VAULT"), append(hb, '\n')); err != nil {
		return fmt.Errorf("vault: write %s: %w", filepath.Join(dir, "VAULT"), err)
	}
	if h.Device != "" {
		if err := writeFileAtomic(filepath.Join(dir, deviceFile), []byte(h.Device+"\n")); err != nil {
			return fmt.Errorf("vault: write %s: %w", filepath.Join(dir, deviceFile), err)
		}
	}
	return nil
}

func readHeader(dir string) (*header, error) {
	hb, err := os.ReadFile(filepath.Join(dir, "VAULT"))
	if errors.Is(err, fs.ErrNotExist) {
		if holdsVaultFiles(dir) {
			return nil, hint.New(fmt.Errorf("vault: open %s: %w: the VAULT header is missing", dir, ErrCorrupt),
				"run `nook vault repair` (it writes VAULT again from this device's key file), or restore vault/VAULT from a backup; do not run `nook init` over this folder")
		}
		return nil, notInit(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || len(h.ID) != 32 ||
		h.Format == 1 && len(h.Recipients) == 0 ||
		h.Format == 2 && !format.ValidAddress(h.Device) {
		return nil, fmt.Errorf("vault: open %s: %w", filepath.Join(dir, "VAULT"), ErrCorrupt)
	}
	if h.Format != 1 && h.Format != 2 {
		return nil, hint.New(fmt.Errorf("vault: open %s: format %d: %w", dir, h.Format, ErrCorrupt), "this vault was written by a newer nook: update nook")
	}
	return &h, nil
}

// Open unlocks the vault in dir, migrating a format-1 vault to format 2
// first (crash-safe: an interrupted migration leaves a format-1 vault that
// the next Open migrates again). Errors: ErrNotInitialized, ErrLocked
// (empty passphrase), ErrWrongPassphrase, ErrCorrupt for an unreadable
// header or key file. Damaged log entries, objects or a bad index snapshot
// do not fail Open: they are listed by Problems and the rest stays readable.
func Open(dir string, passphrase []byte, opts ...Option) (*Vault, error) {
	o := buildOptions(opts)
	h, err := readHeader(dir)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, hint.New(fmt.Errorf("vault: open %s: %w", dir, ErrLocked), "enter the passphrase, or set NOOK_PASSPHRASE for scripts")
	}
	if h.Format == 1 {
		if o.readOnly {
			return nil, hint.New(fmt.Errorf("vault: open %s: format 1 (read-only)", dir), "open it once with any other nook command: it is migrated to format 2 first")
		}
		if err := migrate(dir, passphrase, o); err != nil {
			return nil, err
		}
		if h, err = readHeader(dir); err != nil {
			return nil, err
		}
	}
	kf, problems, err := openKeyFile(dir, h.Device, passphrase, !o.readOnly)
	if err != nil {
		return nil, err
	}
	if kf.VaultID != h.ID {
		return nil, fmt.Errorf("vault: open %s: %w: key file of another vault", dir, ErrCorrupt)
	}
	dkb, _ := hex.DecodeString(kf.DeviceKey)
	devID, _ := age.ParseX25519Identity(kf.DeviceX25519)
	dk := secp256k1.PrivKeyFromBytes(dkb)
	if format.AddressOf(dk.PubKey()) != h.Device {
		return nil, fmt.Errorf("vault: open %s: %w: the device key is not this device's", dir, ErrCorrupt)
	}
	v, err := newVault(dir, h.ID, h.Device, dk, devID, o)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	v.problems = problems
	r := &keyring{}
	v.problems = append(v.problems, loadWraps(dir, h.ID, h.Device, devID, r)...)
	v.keys.Store(r)
	if len(r.all) == 0 {
		return nil, hint.New(fmt.Errorf("vault: open %s: %w: this device holds no vault key yet", dir, ErrLocked),
			"finish pairing it with `nook sync join CODE`, or restore keys/epochs from a backup")
	}
	if err := v.load(); err != nil {
		return nil, err
	}
	if o.readOnly {
		return v, nil
	}
	if h.MigratedFrom != "" {
		if err := v.finishMigration(h); err != nil {
			v.problems = append(v.problems, err)
		}
	}
	cleanTemp(dir)
	return v, nil
}

// load brings state and index up to date: the snapshot, then the log
// entries after it, then the objects of documents that changed.
func (v *Vault) load() error {
	v.loadSnapshot()
	v.trustKeys()
	if err := v.catchUp(true); err != nil {
		return err
	}
	v.reportHoles()
	return nil
}

// ring is the current keyring (replaced, never changed in place).
func (v *Vault) ring() *keyring { return v.keys.Load() }

// trustKeys marks the keyring's epochs the state records. The caller holds
// v.mu (or owns v alone).
func (v *Vault) trustKeys() {
	old := v.ring()
	r := &keyring{all: make([]*epochKey, len(old.all))}
	for i, e := range old.all {
		c := *e
		r.all[i] = &c
	}
	r.trust(v.st)
	v.keys.Store(r)
}

// syncIndex makes the index match the state for the given doc keys.
func (v *Vault) syncIndex(keys map[string]bool) {
	for k := range keys {
		ver, ok := v.st.get(nsDoc, k)
		if !ok {
			if v.idx.docRef(k) != "" {
				v.shed = true
			}
			v.idx.removeDoc(k)
			continue
		}
		if v.idx.docRef(k) == ver.Ref {
			continue
		}
		d := v.fresh[ver.Ref]
		if _, ok := v.missing[ver.Ref]; ok && d == nil {
			continue // keep what the index has until the object arrives
		}
		if d == nil {
			var err error
			if d, err = v.loadDoc(ver.Ref); err != nil {
				v.problems = append(v.problems, err)
				v.idx.removeDoc(k)
				continue
			}
		}
		if d.Path != k {
			// The key is the source, byte for byte (an object from before
			// path_b64 may hold an altered copy of a non-UTF-8 name).
			c := *d
			c.Path = k
			d = &c
		}
		if d.Model != v.opts.embedModel && v.opts.embedModel != "" && hasVectors(d) {
			// Embedded by another model (on another device): its vectors
			// mean nothing next to this device's. Lexical until `nook
			// reindex` embeds it here.
			d = withoutVectors(d)
		}
		v.idx.putDoc(k, ver.Ref, d)
	}
}

func hasVectors(d *docObject) bool {
	for i := range d.Chunks {
		if len(d.Chunks[i].Vec) > 0 {
			return true
		}
	}
	return false
}

func withoutVectors(d *docObject) *docObject {
	c := *d
	c.Chunks = make([]Chunk, len(d.Chunks))
	for i, ch := range d.Chunks {
		ch.Vec = nil
		c.Chunks[i] = ch
	}
	return &c
}

// Close saves the index snapshot if it changed and locks the vault.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	if v.saveTimer != nil {
		v.saveTimer.Stop()
		v.saveTimer = nil
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
// appended. The caller holds v.mu.
func (v *Vault) withWriteLock(f func() error) error {
	if v.opts.readOnly {
		return errReadOnly(v.dir)
	}
	return withDirLock(v.dir, func() error {
		if err := v.catchUp(false); err != nil {
			return err
		}
		return f()
	})
}

// commit appends ops to this device's log under the write lock and
// returns what it erased. The caller holds v.mu.
func (v *Vault) commit(ops []format.Op) (Erased, error) {
	v.erased = Erased{}
	err := v.withWriteLock(func() error {
		_, err := v.appendEntry(ops)
		return err
	})
	v.dirty = true
	return v.erased, err
}

// Dir is the vault folder.
func (v *Vault) Dir() string { return v.dir }

// ID is the vault's random id (from VAULT).
func (v *Vault) ID() string { return v.id }

// Device is this device's name: the Ethereum address (EIP-55) of its
// secp256k1 key, the same string the ledger uses for its delegate.
func (v *Vault) Device() string { return v.device }

// DeviceKey returns this device's 32-byte secp256k1 private key (a copy).
// It also signs this device's op log.
func (v *Vault) DeviceKey() []byte { return v.devKey.Serialize() }

// DeviceRecipient is this device's own X25519 recipient ("age1..."): other
// devices wrap key epochs to it. The ledger publishes it with the device.
func (v *Vault) DeviceRecipient() string { return v.devID.Recipient().String() }

// Recipient is the vault's public age recipient of the current key epoch
// ("age1...").
func (v *Vault) Recipient() string {
	if cur := v.ring().current(); cur != nil {
		return cur.recipient
	}
	return ""
}

// Epoch is the current key epoch.
func (v *Vault) Epoch() int {
	if cur := v.ring().current(); cur != nil {
		return cur.epoch
	}
	return 0
}

// Problems lists damaged files found so far (bad log entries, objects, a
// snapshot that failed authentication). Each error names its file.
func (v *Vault) Problems() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]error(nil), v.problems...)
}

// ExportKey writes every vault identity this device holds (one per key
// epoch, AGE-SECRET-KEY-1...) with comment lines, for `age -d -i FILE`,
// which tries each. Anyone holding it reads the vault.
func (v *Vault) ExportKey(w io.Writer) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "# nook vault %s\n", v.id); err != nil {
		return err
	}
	for _, e := range v.ring().all {
		if !e.trusted {
			continue
		}
		if _, err := fmt.Fprintf(w, "# key epoch %d, public key: %s\n%s\n", e.epoch, e.recipient, e.id); err != nil {
			return err
		}
	}
	return nil
}

// Status summarises the vault.
type Status struct {
	Dir       string `json:"dir"`
	ID        string `json:"id"`
	Format    int    `json:"format"`
	Device    string `json:"device"`
	Recipient string `json:"recipient"`
	Epoch     int    `json:"epoch"`
	LogSeq    uint64 `json:"log_seq"`
	Devices   int    `json:"devices"` // devices whose log this vault holds
	Documents int    `json:"documents"`
	Chunks    int    `json:"chunks"`
	Objects   int    `json:"objects"`
	Bytes     int64  `json:"bytes"` // on disk under objects/
	Missing   int    `json:"missing,omitempty"`
	Sessions  int    `json:"sessions"`
	Memories  int    `json:"memories"`
	Secrets   int    `json:"secrets"`
	Conflicts int    `json:"conflicts,omitempty"`
	// Holes: log entries, below their device's head, not held here (their
	// changes are not applied; see Holes).
	Holes    uint64   `json:"holes,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// Status reports counts and problems.
func (v *Vault) Status() (Status, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Status{}, err
	}
	s := Status{
		Dir: v.dir, ID: v.id, Format: Format, Device: v.device, Recipient: v.Recipient(), Epoch: v.Epoch(),
		LogSeq: v.heads[v.device].Seq, Devices: len(v.heads), Documents: v.st.count(nsDoc), Chunks: v.idx.len(),
		Sessions: v.st.count(nsSession), Memories: v.st.count(nsMemory), Secrets: v.st.count(nsSecret),
		Missing: len(v.missing), Conflicts: len(v.conflictsLocked()),
	}
	for _, rs := range v.st.holes {
		s.Holes += rs.count()
	}
	objs, _ := v.listObjects()
	for _, o := range objs {
		s.Objects++
		s.Bytes += o.size
	}
	for _, p := range v.problems {
		s.Problems = append(s.Problems, p.Error())
	}
	return s, nil
}

// cleanTemp removes temp files that crashed writers left behind (older than
// a minute, so that a live writer's are kept).
func cleanTemp(dir string) {
	cutoff := time.Now().Add(-time.Minute)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
				os.Remove(p)
			}
		}
		return nil
	})
}
