package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/hint"
)

func TestPullFromTheOllamaRegistry(t *testing.T) {
	t.Parallel()
	gguf := readFixture(t, "stories260K.gguf")
	reg := newFakeRegistry(t)
	m := reg.add(t, "library", "stories", "260k",
		[2]string{MediaTypeModel, string(gguf)},
		[2]string{MediaTypeTemplate, "{{ .Prompt }}"},
		[2]string{MediaTypeLicense, "MIT License"},
		[2]string{MediaTypeParams, `{"stop":["</s>"]}`})
	s := newTestStore(t, reg.URL)

	got, err := s.Pull(t.Context(), "stories:260k", nil)
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(s.Dir(), "manifests", "registry.ollama.ai", "library", "stories", "260k")
	if _, err := os.Stat(mp); err != nil {
		t.Fatalf("manifest not stored in the Ollama layout: %v", err)
	}
	for _, l := range m.all() {
		p := filepath.Join(s.Dir(), "blobs", "sha256-"+strings.TrimPrefix(l.Digest, "sha256:"))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("blob %s: %v", l.Digest, err)
		}
		if digestOf(b) != l.Digest {
			t.Fatalf("blob %s holds other bytes", l.Digest)
		}
	}
	path, err := s.Resolve("stories:260k")
	if err != nil || path != got.Path {
		t.Fatalf("Resolve = %q, %v; want %q", path, err, got.Path)
	}
	ls, err := s.List()
	if err != nil || len(ls) != 1 || ls[0].Name.Short() != "stories:260k" || ls[0].Store != "nook" {
		t.Fatalf("List = %+v, %v", ls, err)
	}
	d, err := s.Show("stories:260k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Info.Family != "llama" || d.Info.ContextLength != 2048 || d.Info.ParamsString() != "293K" || d.Info.Quant != "F32" {
		t.Errorf("info = family %q ctx %d params %q quant %q", d.Info.Family, d.Info.ContextLength, d.Info.ParamsString(), d.Info.Quant)
	}
	if d.Template != "{{ .Prompt }}" || d.License != "MIT License" || !strings.Contains(d.Params, "</s>") {
		t.Errorf("layers: template %q license %q params %q", d.Template, d.License, d.Params)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	for _, e := range entries {
		if strings.Contains(e.Name(), "partial") {
			t.Errorf("leftover %s after a complete pull", e.Name())
		}
	}

	// A second pull reads the manifest again but no blob.
	before := len(reg.requestLog())
	if _, err := s.Pull(t.Context(), "stories:260k", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range reg.requestLog()[before:] {
		if strings.Contains(r, "/blobs/") {
			t.Errorf("second pull fetched %s again", r)
		}
	}
}

func TestInterruptedPullsResume(t *testing.T) {
	t.Parallel()
	gguf := readFixture(t, "llama-2-tiny-random.gguf") // 1.75 MB
	cases := []struct {
		name string
		opts []Option
	}{
		{"a single stream continues with a Range request", nil},
		{"parallel parts continue where each stopped", []Option{WithParallel(1<<20, 256<<10, 3)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			m := reg.add(t, "library", "tiny", "latest", [2]string{MediaTypeModel, string(gguf)})
			const cut = 100_000
			// First round: every blob response breaks off after cut bytes.
			reg.blobHook = func(w http.ResponseWriter, r *http.Request, data []byte) bool {
				if len(data) < cut*2 {
					return false
				}
				lo, hi := 0, len(data)-1
				if rg := r.Header.Get("Range"); rg != "" {
					var err error
					lo, hi, err = parseRange(rg)
					if err != nil {
						t.Error(err)
					}
					w.Header().Set("Content-Range", rangeHeader(lo, hi, len(data)))
				}
				w.Header().Set("Content-Length", itoa(hi-lo+1))
				if r.Header.Get("Range") != "" {
					w.WriteHeader(http.StatusPartialContent)
				}
				w.Write(data[lo : lo+min(cut, hi-lo+1)])
				return true // the handler returns: the connection is cut short
			}
			s := newTestStore(t, reg.URL, tc.opts...)
			_, err := s.Pull(t.Context(), "tiny", nil)
			if err == nil {
				t.Fatal("want an error from a broken download")
			}
			model, _ := blobPath(s.Dir(), m.Layers[0].Digest)
			var sc sidecar
			b, err := os.ReadFile(model + "-partial.json")
			if err != nil {
				t.Fatalf("no progress record kept: %v", err)
			}
			json.Unmarshal(b, &sc)
			var done int64
			for _, p := range sc.Parts {
				done += p.Done
			}
			if done == 0 {
				t.Fatalf("progress record says nothing was fetched: %s", b)
			}
			if _, err := os.Stat(model); err == nil {
				t.Fatal("a partial blob was accepted")
			}

			reg.mu.Lock()
			reg.blobHook = nil
			reg.mu.Unlock()
			before := len(reg.requestLog())
			if _, err := s.Pull(t.Context(), "tiny", nil); err != nil {
				t.Fatalf("resume: %v", err)
			}
			got, _ := os.ReadFile(model)
			if digestOf(got) != m.Layers[0].Digest {
				t.Fatal("resumed blob differs")
			}
			// Each unfinished part is asked for from where the record says it
			// stopped (a part cancelled before its first byte starts at its
			// start), and nothing else is fetched again.
			var want, resumedAt []string
			for _, p := range sc.Parts {
				if p.Start+p.Done < p.End {
					want = append(want, fmt.Sprintf("bytes=%d-%d", p.Start+p.Done, p.End-1))
				}
			}
			for _, r := range reg.requestLog()[before:] {
				if strings.Contains(r, m.Layers[0].Digest) {
					resumedAt = append(resumedAt, r[strings.LastIndexByte(r, ' ')+1:])
				}
			}
			slices.Sort(want)
			slices.Sort(resumedAt)
			if !slices.Equal(resumedAt, want) {
				t.Errorf("resume requests %q, want %q (from the record %s)", resumedAt, want, b)
			}
			if _, err := os.Stat(model + "-partial.json"); !errors.Is(err, os.ErrNotExist) {
				t.Error("progress record left after success")
			}
		})
	}
}

func TestBadDownloadsFailClearly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(t *testing.T, reg *fakeRegistry) string // returns the name to pull
		want    error
		partial bool // a resumable partial file stays
	}{
		{
			name: "a blob whose digest does not match is rejected and removed",
			setup: func(t *testing.T, reg *fakeRegistry) string {
				m := reg.add(t, "library", "liar", "latest", [2]string{MediaTypeModel, strings.Repeat("a", 5000)})
				reg.mu.Lock()
				reg.blobs[m.Layers[0].Digest] = []byte(strings.Repeat("b", 5000))
				reg.mu.Unlock()
				return "liar"
			},
			want: ErrDigestMismatch,
		},
		{
			name:  "an unknown name is not found",
			setup: func(t *testing.T, reg *fakeRegistry) string { return "no-such-model:7b" },
			want:  ErrNotFound,
		},
		{
			name: "a server that stalls times out and keeps what it sent",
			setup: func(t *testing.T, reg *fakeRegistry) string {
				reg.add(t, "library", "slow", "latest", [2]string{MediaTypeModel, strings.Repeat("s", 200_000)})
				reg.blobHook = func(w http.ResponseWriter, r *http.Request, data []byte) bool {
					if len(data) < 100_000 {
						return false
					}
					w.Header().Set("Content-Length", itoa(len(data)))
					w.Write(data[:50_000])
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
					case <-time.After(10 * time.Second):
					}
					return true
				}
				return "slow"
			},
			want:    ErrStalled,
			partial: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			name := tc.setup(t, reg)
			s := newTestStore(t, reg.URL, WithStallTimeout(300*time.Millisecond))
			start := time.Now()
			_, err := s.Pull(t.Context(), name, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v to fail", time.Since(start))
			}
			if hint.Of(err) == "" {
				t.Errorf("error %q has no hint", err)
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "models: pull ") {
				t.Errorf("error is not one prefixed line: %q", err)
			}
			if _, err := os.Stat(filepath.Join(s.Dir(), "manifests")); err == nil {
				t.Error("a manifest was written for a failed pull")
			}
			var partials []string
			ents, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), "-partial") {
					partials = append(partials, e.Name())
				}
			}
			if tc.partial != (len(partials) > 0) {
				t.Errorf("partial files = %v, want kept=%v", partials, tc.partial)
			}
		})
	}
}

func TestLargeBlobsAreFetchedInParallelParts(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	reg := newFakeRegistry(t)
	m := reg.add(t, "library", "big", "latest", [2]string{MediaTypeModel, string(data)})
	s := newTestStore(t, reg.URL, WithParallel(1<<20, 512<<10, 4))
	// Pull only the blob (the fake "model" is not GGUF, which is fine for the store).
	if _, err := s.Pull(t.Context(), "big", nil); err != nil {
		t.Fatal(err)
	}
	var ranges []string
	for _, r := range reg.requestLog() {
		if strings.Contains(r, m.Layers[0].Digest) {
			ranges = append(ranges, r[strings.LastIndexByte(r, ' ')+1:])
		}
	}
	slices.Sort(ranges)
	if len(ranges) != 6 || ranges[0] != "bytes=0-524287" {
		t.Fatalf("ranges = %v, want 6 parts of 512 KiB", ranges)
	}
	p, _ := blobPath(s.Dir(), m.Layers[0].Digest)
	got, _ := os.ReadFile(p)
	if digestOf(got) != m.Layers[0].Digest {
		t.Fatal("assembled blob differs")
	}
}

func TestUnreachableRegistryIsOneLineWithAHint(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	s := newTestStore(t, url)
	_, err = s.Pull(t.Context(), "llama3.2", nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(hint.Of(err), "NOOK_REGISTRY") {
		t.Errorf("hint %q does not name NOOK_REGISTRY", hint.Of(err))
	}
	// Said briefly: the address and the cause, not the whole request.
	addr := strings.TrimPrefix(url, "http://")
	if !strings.Contains(err.Error(), "registry unreachable: "+addr+": ") || strings.Contains(err.Error(), `Get "`) {
		t.Errorf("err = %q, want %q and the cause", err, "registry unreachable: "+addr)
	}
	_, err = s.EnsureDefault(t.Context(), RoleChat, nil)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(hint.Of(err), "NOOK_MODEL") || strings.Contains(err.Error(), "\n") {
		t.Errorf("EnsureDefault: err %v, hint %q", err, hint.Of(err))
	}
}

func TestCancelledPullLeavesAResumablePartial(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	m := reg.add(t, "library", "cancel", "latest", [2]string{MediaTypeModel, strings.Repeat("c", 300_000)})
	ctx, cancel := context.WithCancel(t.Context())
	reg.blobHook = func(w http.ResponseWriter, r *http.Request, data []byte) bool {
		if len(data) < 200_000 {
			return false
		}
		w.Header().Set("Content-Length", itoa(len(data)))
		w.Write(data[:120_000])
		w.(http.Flusher).Flush()
		time.Sleep(100 * time.Millisecond)
		cancel() // Ctrl+C while bytes are flowing
		<-r.Context().Done()
		return true
	}
	s := newTestStore(t, reg.URL)
	_, err := s.Pull(ctx, "cancel", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	p, _ := blobPath(s.Dir(), m.Layers[0].Digest)
	b, err := os.ReadFile(p + "-partial.json")
	if err != nil {
		t.Fatalf("no progress record: %v", err)
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil || sc.Parts[0].Done != 120_000 {
		t.Fatalf("progress record %s, want 120000 bytes done", b)
	}
	reg.mu.Lock()
	reg.blobHook = nil
	reg.mu.Unlock()
	if _, err := s.Pull(t.Context(), "cancel", nil); err != nil {
		t.Fatal(err)
	}
}

func parseRange(h string) (lo, hi int, err error) {
	var a, b int
	_, err = fmtSscanf(strings.TrimPrefix(h, "bytes="), "%d-%d", &a, &b)
	return a, b, err
}
