package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

const testPass = "correct horse"

// registry is a fake Ollama registry that counts every request. Models
// put in it are served from memory, each blob in slow pieces so that a
// pull reports progress along the way.
type registry struct {
	*httptest.Server
	hits atomic.Int64

	mu        sync.Mutex
	manifests map[string][]byte // "library/NAME/TAG"
	blobs     map[string][]byte // digest
	pieces    int
	pause     time.Duration
}

func newRegistry(t *testing.T) *registry {
	t.Helper()
	r := &registry{manifests: map[string][]byte{}, blobs: map[string][]byte{}, pieces: 1}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// add serves model (a GGUF file's bytes) as library/name:tag.
func (r *registry) add(t *testing.T, name, tag string, model []byte) {
	t.Helper()
	cfg := []byte(`{"model_format":"gguf","model_family":"llama"}`)
	m := models.Manifest{
		SchemaVersion: 2,
		MediaType:     models.MediaTypeManifest,
		Config:        models.Layer{MediaType: models.MediaTypeConfig, Digest: digest(cfg), Size: int64(len(cfg))},
		Layers:        []models.Layer{{MediaType: models.MediaTypeModel, Digest: digest(model), Size: int64(len(model))}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.manifests["library/"+name+"/"+tag] = b
	r.blobs[digest(cfg)] = cfg
	r.blobs[digest(model)] = model
}

func (r *registry) serve(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/v2/"), "/")
	if len(parts) != 4 {
		http.NotFound(w, req)
		return
	}
	r.mu.Lock()
	m, okm := r.manifests[parts[0]+"/"+parts[1]+"/"+parts[3]]
	b, okb := r.blobs[parts[3]]
	pieces, pause := r.pieces, r.pause
	r.mu.Unlock()
	switch {
	case parts[2] == "manifests" && okm:
		w.Header().Set("Content-Type", models.MediaTypeManifest)
		w.Write(m)
	case parts[2] == "blobs" && okb:
		w.Header().Set("Content-Length", itoa(len(b)))
		step := (len(b) + pieces - 1) / pieces
		for off := 0; off < len(b); off += step {
			w.Write(b[off:min(off+step, len(b))])
			w.(http.Flusher).Flush()
			time.Sleep(pause)
		}
	default:
		http.NotFound(w, req)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// newConfig is a config under a fresh home with an empty Ollama store and
// reg as the registry: nothing outside the test is read or reached.
func newConfig(t *testing.T, reg *registry) *config.Config {
	t.Helper()
	home := t.TempDir()
	cfg := &config.Config{Home: home, Path: filepath.Join(home, "config.toml"), OllamaModels: t.TempDir()}
	cfg.Registry.Ollama = reg.URL
	cfg.Registry.HuggingFace = reg.URL
	return cfg
}

// initVault creates the vault of cfg with a low scrypt work factor.
func initVault(t *testing.T, cfg *config.Config) {
	t.Helper()
	v, err := vault.Init(cfg.VaultDir(), []byte(testPass), vault.WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

// loads wraps the real loader: it counts loads, can hold them until gate
// is closed, and counts the engines' Closes.
type loads struct {
	real    app.Loader
	n       atomic.Int32
	closed  atomic.Int32
	entered chan app.Spec // each load, as it starts (buffered)
	gate    chan struct{} // nil: loads run at once
	onClose func(app.Spec)
}

func newLoads(cfg *config.Config) *loads {
	return &loads{real: app.NewLoader(cfg), entered: make(chan app.Spec, 64)}
}

func (l *loads) load(ctx context.Context, s app.Spec) (engine.Engine, error) {
	l.n.Add(1)
	l.entered <- s
	if l.gate != nil {
		<-l.gate
	}
	e, err := l.real(ctx, s)
	if err != nil {
		return nil, err
	}
	return &closeCounter{Engine: e, l: l, s: s}, nil
}

type closeCounter struct {
	engine.Engine
	l    *loads
	s    app.Spec
	once sync.Once
}

func (c *closeCounter) Close() error {
	c.once.Do(func() {
		if c.l.onClose != nil {
			c.l.onClose(c.s)
		}
		c.l.closed.Add(1)
	})
	return c.Engine.Close()
}

func stories(t testing.TB) string { return testmodels.Path(t, testmodels.Stories260K) }

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeNote(t *testing.T, dir, name, text string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// engineOptions are greedy, short answers.
func engineOptions(temp *float32) engine.Options {
	return engine.Options{Temperature: temp, NumPredict: 24}
}
