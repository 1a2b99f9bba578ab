package apptest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

// Passphrase is the vault passphrase InitVault uses.
const Passphrase = "correct horse"

// Registry is a fake Ollama registry. Hits counts every request it gets.
type Registry struct {
	*httptest.Server
	Hits atomic.Int64

	mu        sync.Mutex
	manifests map[string][]byte // "library/NAME/TAG"
	blobs     map[string][]byte // by digest
	pieces    int
	pause     time.Duration
}

// NewRegistry starts a registry (closed when the test ends) that has no
// model: every name is not found until Add.
func NewRegistry(tb testing.TB) *Registry {
	tb.Helper()
	r := &Registry{manifests: map[string][]byte{}, blobs: map[string][]byte{}, pieces: 1}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.Close)
	return r
}

// Slow makes each blob come in pieces parts with pause after each.
func (r *Registry) Slow(pieces int, pause time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pieces, r.pause = max(pieces, 1), pause
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Add serves model (a GGUF file's bytes) as name:tag.
func (r *Registry) Add(tb testing.TB, name, tag string, model []byte) {
	tb.Helper()
	cfg := []byte(`{"model_format":"gguf","model_family":"llama"}`)
	m := models.Manifest{
		SchemaVersion: 2,
		MediaType:     models.MediaTypeManifest,
		Config:        models.Layer{MediaType: models.MediaTypeConfig, Digest: digest(cfg), Size: int64(len(cfg))},
		Layers:        []models.Layer{{MediaType: models.MediaTypeModel, Digest: digest(model), Size: int64(len(model))}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.manifests["library/"+name+"/"+tag] = b
	r.blobs[digest(cfg)] = cfg
	r.blobs[digest(model)] = model
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.Hits.Add(1)
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
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		step := (len(b) + pieces - 1) / pieces
		for off := 0; off < len(b); off += step {
			if _, err := w.Write(b[off:min(off+step, len(b))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(pause)
		}
	default:
		http.NotFound(w, req)
	}
}

// Config is a config under a fresh home, with an empty Ollama store and
// reg as every registry: nothing outside the test is read or reached.
func Config(tb testing.TB, reg *Registry) *config.Config {
	tb.Helper()
	home := tb.TempDir()
	cfg := &config.Config{Home: home, Path: filepath.Join(home, "config.toml"), OllamaModels: tb.TempDir()}
	cfg.Registry.Ollama = reg.URL
	cfg.Registry.HuggingFace = reg.URL
	return cfg
}

// InitVault creates cfg's vault with Passphrase and a low scrypt work
// factor.
func InitVault(tb testing.TB, cfg *config.Config) {
	tb.Helper()
	v, err := vault.Init(cfg.VaultDir(), []byte(Passphrase), vault.WithScryptWorkFactor(10))
	if err != nil {
		tb.Fatal(err)
	}
	if err := v.Close(); err != nil {
		tb.Fatal(err)
	}
}
