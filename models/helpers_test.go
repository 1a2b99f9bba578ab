package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testModelsDir finds the shared GGUF fixtures: NOOK_TEST_MODELS, else a
// shared/models folder above the package. Missing fixtures fail the test.
func testModelsDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("NOOK_TEST_MODELS"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "models"), filepath.Join(d, "..", "shared", "models")} {
			if _, err := os.Stat(filepath.Join(c, "stories260K.gguf")); err == nil {
				return c
			}
		}
		if filepath.Dir(d) == d {
			t.Fatal("test models not found: set NOOK_TEST_MODELS to the folder holding stories260K.gguf")
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testModelsDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// loopbackClient is an HTTP client that refuses any host but loopback, so a
// test can never reach the network.
func loopbackClient(t testing.TB) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		ip := net.ParseIP(r.URL.Hostname())
		if r.URL.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("test tried to reach %s", r.URL)
			return nil, fmt.Errorf("test transport: non-loopback host %q refused", r.URL.Host)
		}
		return tr.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noNetClient fails every request.
func noNetClient(t testing.TB) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request to %s", r.URL)
		return nil, fmt.Errorf("no network in this test")
	})}
}

// fakeRegistry speaks the Ollama registry protocol from memory.
type fakeRegistry struct {
	*httptest.Server
	mu        sync.Mutex
	manifests map[string][]byte // "ns/model/tag"
	blobs     map[string][]byte // digest → content served
	requests  []string          // "GET path range"
	// blobHook, when set, may serve a blob request itself (return true).
	blobHook func(w http.ResponseWriter, r *http.Request, data []byte) bool
	hits     atomic.Int64
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	f := &fakeRegistry{manifests: map[string][]byte{}, blobs: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
	hook := f.blobHook
	f.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		http.NotFound(w, r)
		return
	}
	switch parts[2] {
	case "manifests":
		f.mu.Lock()
		m, ok := f.manifests[parts[0]+"/"+parts[1]+"/"+parts[3]]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
			return
		}
		w.Header().Set("Content-Type", MediaTypeManifest)
		w.Write(m)
	case "blobs":
		f.mu.Lock()
		data, ok := f.blobs[parts[3]]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if hook != nil && hook(w, r, data) {
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	default:
		http.NotFound(w, r)
	}
}

// add publishes a model: each layer is (media type, content). The model
// layer's digest is the true one unless lieDigest is set.
func (f *fakeRegistry) add(t testing.TB, ns, model, tag string, layers ...[2]string) Manifest {
	t.Helper()
	cfg := []byte(`{"model_format":"gguf"}`)
	m := Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest,
		Config: Layer{MediaType: MediaTypeConfig, Digest: digestOf(cfg), Size: int64(len(cfg))}}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[m.Config.Digest] = cfg
	for _, l := range layers {
		d := digestOf([]byte(l[1]))
		f.blobs[d] = []byte(l[1])
		m.Layers = append(m.Layers, Layer{MediaType: l[0], Digest: d, Size: int64(len(l[1]))})
	}
	b, _ := json.Marshal(m)
	f.manifests[ns+"/"+model+"/"+tag] = b
	return m
}

func (f *fakeRegistry) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// newTestStore is a store in a temp folder pulling from reg, through a
// loopback-only client, with short timeouts.
func newTestStore(t testing.TB, regURL string, opts ...Option) *Store {
	t.Helper()
	base := []Option{WithRegistry(regURL), WithHFRegistry(regURL), WithHTTPClient(loopbackClient(t)),
		WithStallTimeout(2 * time.Second), WithRetries(0)}
	s, err := NewStore(t.TempDir(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
