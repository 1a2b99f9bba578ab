package models

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
)

// Default registry base URLs.
const (
	DefaultOllamaRegistry = "https://registry.ollama.ai"
	DefaultHFRegistry     = "https://huggingface.co"
)

// Store is nook's model store (read-write) plus any Ollama stores it reads
// in place (read-only).
type Store struct {
	dir        string
	ollamaDirs []string
	ollamaURL  string
	hfURL      string
	fetch      fetcher
	mem        uint64
}

// Option configures a Store.
type Option func(*Store) error

// WithOllamaStore adds an existing Ollama models folder whose models are
// listed and resolved in place; it is never written. A missing folder is ignored.
func WithOllamaStore(dir string) Option {
	return func(s *Store) error {
		if dir != "" {
			s.ollamaDirs = append(s.ollamaDirs, dir)
		}
		return nil
	}
}

// WithRegistry sets the Ollama-protocol registry base URL (a mirror); empty
// keeps https://registry.ollama.ai. Names with the default host are pulled from it.
func WithRegistry(url string) Option {
	return func(s *Store) error {
		if url != "" {
			u, err := baseURL(url)
			if err != nil {
				return err
			}
			s.ollamaURL = u
		}
		return nil
	}
}

// WithHFRegistry sets the Hugging Face Hub base URL; empty keeps https://huggingface.co.
func WithHFRegistry(url string) Option {
	return func(s *Store) error {
		if url != "" {
			u, err := baseURL(url)
			if err != nil {
				return err
			}
			s.hfURL = u
		}
		return nil
	}
}

// WithHTTPClient sets the client pulls use (tests pass one that refuses
// non-loopback hosts).
func WithHTTPClient(c *http.Client) Option {
	return func(s *Store) error {
		if c == nil {
			return errors.New("models: nil http client")
		}
		s.fetch.client = c
		return nil
	}
}

// WithStallTimeout sets how long a download may receive no bytes before it
// fails with ErrStalled (default 30s).
func WithStallTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("models: stall timeout %v must be positive", d)
		}
		s.fetch.stall = d
		return nil
	}
}

// WithParallel sets ranged-download parallelism: blobs of at least minSize
// bytes are fetched as parts of partSize bytes by up to workers connections
// (defaults: 64 MiB, 16 MiB, 4).
func WithParallel(minSize, partSize int64, workers int) Option {
	return func(s *Store) error {
		if minSize < 0 || partSize <= 0 || workers < 1 {
			return fmt.Errorf("models: bad parallel settings %d/%d/%d", minSize, partSize, workers)
		}
		s.fetch.parallelMin, s.fetch.partSize, s.fetch.workers = minSize, partSize, workers
		return nil
	}
}

// WithRetries sets how often a part is retried after a broken connection,
// stall or 5xx (default 2).
func WithRetries(n int) Option {
	return func(s *Store) error {
		if n < 0 {
			return fmt.Errorf("models: retries %d must not be negative", n)
		}
		s.fetch.retries = n
		return nil
	}
}

// WithoutSync skips the fsync of a blob before it is renamed into place: a
// power cut may then leave a blob with the right name and wrong bytes. For
// throwaway stores (benchmarks, CI caches) only.
func WithoutSync() Option {
	return func(s *Store) error { s.fetch.noSync = true; return nil }
}

func baseURL(u string) (string, error) {
	u = strings.TrimRight(u, "/")
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("models: registry URL %q must start with http:// or https://", u)
	}
	return u, nil
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}

// NewStore opens (creating on first write) the store in dir.
func NewStore(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("models: empty store folder")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("models: store %q: %w", dir, err)
	}
	s := &Store{
		dir:       abs,
		ollamaURL: DefaultOllamaRegistry,
		hfURL:     DefaultHFRegistry,
		fetch: fetcher{
			client:      defaultClient(),
			stall:       30 * time.Second,
			parallelMin: 64 << 20,
			partSize:    16 << 20,
			workers:     4,
			retries:     2,
		},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	// An Ollama store that is in fact this store is not read twice.
	s.ollamaDirs = slices.DeleteFunc(s.ollamaDirs, func(d string) bool {
		a, err := filepath.Abs(d)
		return err == nil && a == abs
	})
	return s, nil
}

// Open opens the store of a loaded config: cfg.ModelsDir(), its registry
// URLs, and the user's Ollama store (cfg.OllamaModels, else ~/.ollama/models
// when it exists). Further options apply after those.
func Open(cfg *config.Config, opts ...Option) (*Store, error) {
	base := []Option{WithRegistry(cfg.Registry.Ollama), WithHFRegistry(cfg.Registry.HuggingFace)}
	if d := OllamaDir(cfg.OllamaModels); d != "" {
		base = append(base, WithOllamaStore(d))
	}
	return NewStore(cfg.ModelsDir(), append(base, opts...)...)
}

// OllamaDir is the Ollama store to read: configured (OLLAMA_MODELS) if set,
// else ~/.ollama/models if it holds manifests, else "".
func OllamaDir(configured string) string {
	if configured != "" {
		return configured
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	d := filepath.Join(home, ".ollama", "models")
	if st, err := os.Stat(filepath.Join(d, "manifests")); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// Model is one installed model.
type Model struct {
	Name     Name
	Store    string // "nook" or "ollama"
	Root     string // the store folder holding it
	Manifest *Manifest
	Path     string // the model (GGUF) blob
	Size     int64  // all blobs
}

// found is a manifest located in one of the stores.
func (s *Store) roots() []struct{ kind, dir string } {
	rs := []struct{ kind, dir string }{{"nook", s.dir}}
	for _, d := range s.ollamaDirs {
		rs = append(rs, struct{ kind, dir string }{"ollama", d})
	}
	return rs
}

func (s *Store) load(kind, root string, n Name) (*Model, error) {
	m, err := readManifest(n.manifestPath(root))
	if err != nil {
		return nil, err
	}
	l, _ := m.layer(MediaTypeModel)
	p, err := blobPath(root, l.Digest)
	if err != nil {
		return nil, err
	}
	return &Model{Name: n, Store: kind, Root: root, Manifest: m, Path: p, Size: m.Size()}, nil
}

// lookup finds a name in nook's store, then the Ollama stores. A name given
// without a tag that has no "latest" resolves to its only tag, if it has one.
func (s *Store) lookup(name string) (*Model, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	for _, r := range s.roots() {
		if m, err := s.load(r.kind, r.dir, n); err == nil {
			return m, nil
		}
	}
	if !strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":") {
		for _, r := range s.roots() {
			dir := filepath.Dir(n.manifestPath(r.dir))
			ents, _ := os.ReadDir(dir)
			var tags []string
			for _, e := range ents {
				if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					tags = append(tags, e.Name())
				}
			}
			if len(tags) == 1 {
				n.Tag = tags[0]
				if m, err := s.load(r.kind, r.dir, n); err == nil {
					return m, nil
				}
			}
		}
	}
	return nil, hint.New(fmt.Errorf("models: %q: %w", name, ErrNotFound),
		fmt.Sprintf("run `nook pull %s`, or `nook models` to see what is installed", name))
}

// IsPath reports whether s names a file rather than a model: it ends in
// .gguf or contains a path separator that a model name cannot start with.
func IsPath(s string) bool {
	return strings.HasSuffix(strings.ToLower(s), ".gguf") ||
		strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~") || strings.ContainsRune(s, filepath.Separator) && filepath.Separator != '/'
}

// Resolve turns a GGUF path (returned as-is once it exists) or a model name
// (llama3.2, llama3.2:1b, hf.co/org/repo:Q4_K_M, names in the user's Ollama
// store) into the path of the model's GGUF blob. An unknown name is an error
// wrapping ErrNotFound, with a hint to pull it.
func (s *Store) Resolve(nameOrPath string) (string, error) {
	if nameOrPath == "" {
		return "", hint.New(fmt.Errorf("models: no model given: %w", ErrNotFound), "pass a model name or a GGUF path, or set NOOK_MODEL")
	}
	if IsPath(nameOrPath) {
		fi, err := os.Stat(nameOrPath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", hint.New(fmt.Errorf("models: %q: %w", nameOrPath, ErrNotFound), "check the path of the GGUF file")
			}
			return "", fmt.Errorf("models: %q: %w", nameOrPath, err)
		}
		if err := regularFile(nameOrPath, fi); err != nil {
			return "", err
		}
		return nameOrPath, nil
	}
	m, err := s.lookup(nameOrPath)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(m.Path)
	if err != nil {
		return "", hint.New(fmt.Errorf("models: %q: model blob missing: %w", nameOrPath, ErrNotFound),
			fmt.Sprintf("run `nook pull %s` to fetch it again", nameOrPath))
	}
	if err := regularFile(m.Path, fi); err != nil {
		return "", err
	}
	return m.Path, nil
}

// regularFile refuses a model path that is not a regular file (a FIFO
// would block the loader, which cannot be interrupted, for ever).
func regularFile(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch m := fi.Mode(); {
	case m.IsDir():
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return hint.New(fmt.Errorf("models: %q: %w: it is %s", path, ErrNotAFile, what), "pass the path of a GGUF file")
}

// Get returns the installed model of that name.
func (s *Store) Get(name string) (*Model, error) { return s.lookup(name) }

// List returns the installed models of every store, nook's first; a name in
// both is listed once (nook's copy).
func (s *Store) List() ([]*Model, error) {
	var out []*Model
	seen := map[string]bool{}
	for _, r := range s.roots() {
		mdir := filepath.Join(r.dir, "manifests")
		err := filepath.WalkDir(mdir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			rel, _ := filepath.Rel(mdir, p)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			if len(parts) != 4 {
				return nil
			}
			n := Name{Host: parts[0], Namespace: parts[1], Model: parts[2], Tag: parts[3]}
			if seen[n.String()] {
				return nil
			}
			m, err := s.load(r.kind, r.dir, n)
			if err != nil {
				return nil // not a model manifest (or broken): skip
			}
			seen[n.String()] = true
			out = append(out, m)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("models: list %s: %w", mdir, err)
		}
	}
	slices.SortStableFunc(out, func(a, b *Model) int {
		return cmp.Or(cmp.Compare(storeRank(a.Store), storeRank(b.Store)), cmp.Compare(a.Name.Short(), b.Name.Short()))
	})
	return out, nil
}

func storeRank(k string) int {
	if k == "nook" {
		return 0
	}
	return 1
}

// Remove deletes a model from nook's store, and the blobs no other manifest
// uses. Models in an Ollama store are left alone (an error says so).
func (s *Store) Remove(name string) error {
	m, err := s.lookup(name)
	if errors.Is(err, ErrNotFound) {
		return hint.New(err, "`nook models` lists the installed models")
	}
	if err != nil {
		return err
	}
	if m.Store != "nook" {
		return hint.New(fmt.Errorf("models: rm %q: it is in the Ollama store %s, which nook does not change", name, m.Root),
			fmt.Sprintf("use `ollama rm %s`", m.Name.Short()))
	}
	mp := m.Name.manifestPath(s.dir)
	if err := os.Remove(mp); err != nil {
		return fmt.Errorf("models: rm %q: %w", name, err)
	}
	// Drop emptied folders up to manifests/.
	for d := filepath.Dir(mp); d != filepath.Join(s.dir, "manifests"); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	used := map[string]bool{}
	rest, err := s.List()
	if err != nil {
		return err
	}
	for _, o := range rest {
		if o.Store == "nook" {
			for _, l := range o.Manifest.all() {
				used[l.Digest] = true
			}
		}
	}
	for _, l := range m.Manifest.all() {
		if used[l.Digest] {
			continue
		}
		p, err := blobPath(s.dir, l.Digest)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("models: rm %q: %w", name, err)
		}
	}
	return nil
}
