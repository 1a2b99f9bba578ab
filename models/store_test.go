package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
)

// fakeOllamaStore lays out an Ollama models folder on disk, the way ollama
// itself writes one, holding the GGUF under name.
func fakeOllamaStore(t *testing.T, gguf []byte, name Name) (dir, blob string) {
	t.Helper()
	dir = t.TempDir()
	d := digestOf(gguf)
	blob, _ = blobPath(dir, d)
	os.MkdirAll(filepath.Dir(blob), 0o755)
	if err := os.WriteFile(blob, gguf, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := []byte("{{ .System }} {{ .Prompt }}")
	tp, _ := blobPath(dir, digestOf(tmpl))
	os.WriteFile(tp, tmpl, 0o644)
	m := Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, Layers: []Layer{
		{MediaType: MediaTypeModel, Digest: d, Size: int64(len(gguf))},
		{MediaType: MediaTypeTemplate, Digest: digestOf(tmpl), Size: int64(len(tmpl))},
	}}
	b, _ := json.Marshal(m)
	mp := name.manifestPath(dir)
	os.MkdirAll(filepath.Dir(mp), 0o755)
	if err := os.WriteFile(mp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, blob
}

func TestAnExistingOllamaStoreIsUsedInPlace(t *testing.T) {
	t.Parallel()
	gguf := readFixture(t, "stories260K.gguf")
	ollama, blob := fakeOllamaStore(t, gguf, Name{DefaultHost, DefaultNamespace, "stories", "latest"})
	s, err := NewStore(t.TempDir(), WithOllamaStore(ollama), WithHTTPClient(noNetClient(t)))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := s.List()
	if err != nil || len(ls) != 1 || ls[0].Store != "ollama" || ls[0].Name.Short() != "stories" {
		t.Fatalf("List = %+v, %v", ls, err)
	}
	for _, name := range []string{"stories", "stories:latest", "library/stories", "registry.ollama.ai/library/stories:latest"} {
		p, err := s.Resolve(name)
		if err != nil || p != blob {
			t.Errorf("Resolve(%q) = %q, %v; want the blob in the Ollama store %q", name, p, err, blob)
		}
	}
	// Pulling it again downloads nothing (the client fails every request).
	m, err := s.Pull(t.Context(), "stories", nil)
	if err != nil || m.Path != blob {
		t.Fatalf("Pull = %+v, %v", m, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs")); len(ents) != 0 {
		t.Errorf("nook copied %d blobs", len(ents))
	}
	d, err := s.Show("stories")
	if err != nil || d.Template != "{{ .System }} {{ .Prompt }}" || d.Info.Family != "llama" {
		t.Fatalf("Show = %+v, %v", d, err)
	}
	if err := s.Remove("stories"); err == nil || !strings.Contains(hint.Of(err), "ollama rm") {
		t.Errorf("Remove of an Ollama model: err %v, hint %q", err, hint.Of(err))
	}
	if _, err := os.Stat(blob); err != nil {
		t.Error("the Ollama blob was touched")
	}
}

func TestOpenFindsTheOllamaStoreFromConfig(t *testing.T) {
	t.Parallel()
	gguf := readFixture(t, "stories260K.gguf")
	ollama, blob := fakeOllamaStore(t, gguf, Name{DefaultHost, "me", "tiny", "v1"})
	cfg := &config.Config{Home: t.TempDir(), OllamaModels: ollama}
	cfg.Registry.Ollama = "http://127.0.0.1:9"
	s, err := Open(cfg, WithHTTPClient(noNetClient(t)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir() != cfg.ModelsDir() || s.ollamaURL != "http://127.0.0.1:9" || s.hfURL != DefaultHFRegistry {
		t.Errorf("store %s, registries %s %s", s.Dir(), s.ollamaURL, s.hfURL)
	}
	if p, err := s.Resolve("me/tiny:v1"); err != nil || p != blob {
		t.Errorf("Resolve = %q, %v", p, err)
	}
	if _, err := Open(&config.Config{Home: t.TempDir(), Registry: config.Registry{Ollama: "ftp://mirror"}}); err == nil {
		t.Error("a registry URL that is not http(s) was accepted")
	}
}

// fakeHub speaks the parts of the Hugging Face Hub API a pull uses.
func fakeHub(t *testing.T, repo string, files map[string][]byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/"+repo+"/tree/main", func(w http.ResponseWriter, r *http.Request) {
		list := []map[string]any{{"type": "file", "path": "README.md", "size": 10}, {"type": "directory", "path": "docs"}}
		for name, b := range files {
			list = append(list, map[string]any{"type": "file", "path": name, "size": len(b), "oid": "0123",
				"lfs": map[string]any{"oid": strings.TrimPrefix(digestOf(b), "sha256:"), "size": len(b), "pointerSize": 134}})
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("GET /"+repo+"/resolve/main/{file...}", func(w http.ResponseWriter, r *http.Request) {
		// The Hub redirects LFS files to a CDN.
		http.Redirect(w, r, "/cdn/"+r.PathValue("file"), http.StatusFound)
	})
	mux.HandleFunc("GET /cdn/{file...}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(b)))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPullFromHuggingFace(t *testing.T) {
	t.Parallel()
	stories := readFixture(t, "stories260K.gguf")
	tiny := readFixture(t, "llama-2-tiny-random.gguf")
	hub := fakeHub(t, "ggml-org/tiny", map[string][]byte{
		"tiny-Q8_0.gguf":        stories,
		"sub/tiny-IQ4_XS.gguf":  tiny,
		"tiny-F16.gguf":         tiny,
		"mmproj-tiny-F16.gguf":  []byte("not a model"),
		"tiny-Q4_K_M.gguf.part": []byte("x"),
	})
	cases := []struct {
		name, pull, wantShort string
		want                  []byte
		wantErr               error
	}{
		{"a quant tag picks its file", "hf.co/ggml-org/tiny:Q8_0", "hf.co/ggml-org/tiny:Q8_0", stories, nil},
		{"quant tags are case-insensitive and files may sit in folders", "huggingface.co/ggml-org/tiny:iq4_xs", "hf.co/ggml-org/tiny:iq4_xs", tiny, nil},
		{"no tag and no Q4_K_M is an error listing the quants", "hf.co/ggml-org/tiny", "", nil, ErrNotFound},
		{"an unknown repo is not found", "hf.co/ggml-org/nope:Q8_0", "", nil, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestStore(t, hub.URL)
			m, err := s.Pull(t.Context(), tc.pull, nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.pull == "hf.co/ggml-org/tiny" && !strings.Contains(err.Error(), "F16, IQ4_XS, Q8_0") {
					t.Errorf("error %q does not list the quants", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(m.Path)
			if digestOf(got) != digestOf(tc.want) {
				t.Fatal("pulled the wrong file")
			}
			ls, _ := s.List()
			if len(ls) != 1 || ls[0].Name.Short() != tc.wantShort {
				t.Fatalf("List = %v", ls)
			}
			if p, err := s.Resolve(tc.wantShort); err != nil || p != m.Path {
				t.Errorf("Resolve = %q, %v", p, err)
			}
			// The manifest nook wrote has a config blob like Ollama's.
			var cb configBlob
			cp, _ := blobPath(s.Dir(), m.Manifest.Config.Digest)
			b, _ := os.ReadFile(cp)
			if json.Unmarshal(b, &cb) != nil || cb.ModelFormat != "gguf" || cb.ModelFamily != "llama" {
				t.Errorf("config blob %s", b)
			}
		})
	}
}

func TestImportThenRemove(t *testing.T) {
	t.Parallel()
	dir := testModelsDir(t)
	s := newTestStore(t, "http://127.0.0.1:1")
	m, err := s.Import(filepath.Join(dir, "stories260K.gguf"), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name.Short() != "stories260k" {
		t.Errorf("default name %q", m.Name.Short())
	}
	if _, err := s.Import(filepath.Join(dir, "llama-2-tiny-random.gguf"), "tiny:rand"); err != nil {
		t.Fatal(err)
	}
	// A second name for the same file shares the blob.
	if _, err := s.Import(filepath.Join(dir, "stories260K.gguf"), "stories-copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(filepath.Join(dir, "stories260K.gguf.missing"), "x"); err == nil {
		t.Error("imported a missing file")
	}
	notGGUF := filepath.Join(t.TempDir(), "notes.gguf")
	os.WriteFile(notGGUF, []byte("hello, not a model"), 0o644)
	if _, err := s.Import(notGGUF, "notes"); err == nil || hint.Of(err) == "" {
		t.Errorf("importing a non-GGUF: err %v", err)
	}
	ls, _ := s.List()
	var names []string
	for _, m := range ls {
		names = append(names, m.Name.Short())
	}
	if diff := cmp.Diff(names, []string{"stories-copy", "stories260k", "tiny:rand"}); diff != "" {
		t.Errorf("List (-got +want):\n%s", diff)
	}
	if err := s.Remove("stories260k"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Path); err != nil {
		t.Error("a blob still used by stories-copy was removed")
	}
	if err := s.Remove("stories-copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Path); !errors.Is(err, os.ErrNotExist) {
		t.Error("an unused blob was kept")
	}
	if _, err := s.Resolve("stories260k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve after rm: %v", err)
	}
	if err := s.Remove("stories260k"); !errors.Is(err, ErrNotFound) || strings.Contains(hint.Of(err), "pull") {
		t.Errorf("second rm: %v (hint %q, which should not say to pull it)", err, hint.Of(err))
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := testModelsDir(t)
	s := newTestStore(t, "http://127.0.0.1:1")
	hfOnly, err := s.Import(filepath.Join(dir, "stories260K.gguf"), "hf.co/org/repo:Q4_K_M")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "stories260K.gguf")
	cases := []struct {
		name, in, want string
		wantErr        error
	}{
		{"a GGUF path is returned as it is", path, path, nil},
		{"a missing GGUF path is not found", filepath.Join(dir, "nope.gguf"), "", ErrNotFound},
		{"a full hf name resolves", "hf.co/org/repo:Q4_K_M", hfOnly.Path, nil},
		{"an hf name without tag resolves to its only tag", "hf.co/org/repo", hfOnly.Path, nil},
		{"an unknown name is not found with a pull hint", "llama3.2", "", ErrNotFound},
		{"an empty name is an error", "", "", ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.Resolve(tc.in)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if tc.in == "llama3.2" && !strings.Contains(hint.Of(err), "nook pull llama3.2") {
				t.Errorf("hint %q", hint.Of(err))
			}
		})
	}
}

func TestParseName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want, short string
		bad             bool
	}{
		{in: "llama3.2", want: "registry.ollama.ai/library/llama3.2:latest", short: "llama3.2"},
		{in: "llama3.2:1b", want: "registry.ollama.ai/library/llama3.2:1b", short: "llama3.2:1b"},
		{in: "me/mine:v1", want: "registry.ollama.ai/me/mine:v1", short: "me/mine:v1"},
		{in: "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", want: "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", short: "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
		{in: "huggingface.co/org/repo", want: "hf.co/org/repo:latest", short: "hf.co/org/repo"},
		{in: "localhost:5000/ns/m:t", want: "localhost:5000/ns/m:t", short: "localhost:5000/ns/m:t"},
		{in: "../../etc/passwd", bad: true},
		{in: "a/b/c/d", bad: true},
		{in: "model:", want: "registry.ollama.ai/library/model:latest", short: "model"},
		{in: "bad name", bad: true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q parses", tc.in), func(t *testing.T) {
			t.Parallel()
			n, err := ParseName(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseName(%q) = %v, want an error", tc.in, n)
				}
				return
			}
			if err != nil || n.String() != tc.want || n.Short() != tc.short {
				t.Fatalf("ParseName(%q) = %q (%q), %v; want %q (%q)", tc.in, n.String(), n.Short(), err, tc.want, tc.short)
			}
		})
	}
}

func TestAModelPathThatIsNotARegularFileIsRefused(t *testing.T) {
	t.Parallel()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", t.TempDir() + "/"} {
		if _, err := s.Resolve(p); !errors.Is(err, ErrNotAFile) {
			t.Errorf("Resolve(%s) = %v, want ErrNotAFile", p, err)
		}
	}
}
