package models

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// patterned is n bytes that differ at every offset a test might cut at.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}

func TestAStreamThatRestartsFromZeroIsHashedAgain(t *testing.T) {
	t.Parallel()
	data := patterned(600_000)
	reg := newFakeRegistry(t)
	m := reg.add(t, "library", "restart", "latest", [2]string{MediaTypeModel, string(data)})
	var calls atomic.Int64
	reg.blobHook = func(w http.ResponseWriter, r *http.Request, d []byte) bool {
		if len(d) != len(data) {
			return false
		}
		w.Header().Set("Content-Length", itoa(len(d)))
		if calls.Add(1) == 1 {
			// First: 100 kB of other bytes, then the connection drops.
			bad := bytes.Repeat([]byte{0xEE}, 100_000)
			w.Write(bad)
			return true
		}
		// Then: the Range header is ignored and the whole blob comes, right.
		w.WriteHeader(http.StatusOK)
		w.Write(d)
		return true
	}
	s := newTestStore(t, reg.URL, WithRetries(1))
	if _, err := s.Pull(t.Context(), "restart", nil); err != nil {
		t.Fatalf("pull: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d blob requests, want 2", calls.Load())
	}
	var resumed bool
	for _, r := range reg.requestLog() {
		resumed = resumed || (strings.Contains(r, m.Layers[0].Digest) && strings.HasSuffix(r, "bytes=100000-599999"))
	}
	if !resumed {
		t.Fatalf("the retry did not ask to resume at byte 100000: %q", reg.requestLog())
	}
	p, _ := blobPath(s.Dir(), m.Layers[0].Digest)
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, data) {
		t.Fatal("stored blob differs from what the server sent last")
	}
}

func TestPartsThatArriveOutOfOrderAreHashedInOrder(t *testing.T) {
	t.Parallel()
	data := patterned(3 << 20)
	for _, corrupt := range []bool{false, true} {
		name := map[bool]string{false: "all parts right", true: "a later part wrong"}[corrupt]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			m := reg.add(t, "library", "ooo", "latest", [2]string{MediaTypeModel, string(data)})
			reg.blobHook = func(w http.ResponseWriter, r *http.Request, d []byte) bool {
				if len(d) != len(data) {
					return false
				}
				lo, hi, err := parseRange(r.Header.Get("Range"))
				if err != nil {
					t.Errorf("part request without a range: %v", err)
					return false
				}
				if lo == 0 {
					// The first part comes last: the others land ahead of
					// the hash and are read back when it gets there.
					time.Sleep(300 * time.Millisecond)
				}
				body := d[lo : hi+1]
				if corrupt && lo == 2<<20 {
					body = bytes.Clone(body)
					body[1000] ^= 1
				}
				w.Header().Set("Content-Range", rangeHeader(lo, hi, len(d)))
				w.Header().Set("Content-Length", itoa(len(body)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(body)
				return true
			}
			s := newTestStore(t, reg.URL, WithParallel(1<<20, 512<<10, 6))
			_, err := s.Pull(t.Context(), "ooo", nil)
			p, _ := blobPath(s.Dir(), m.Layers[0].Digest)
			if corrupt {
				if !errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("err = %v, want ErrDigestMismatch", err)
				}
				if _, err := os.Stat(p + "-partial"); !errors.Is(err, os.ErrNotExist) {
					t.Error("the bad partial file was kept")
				}
				return
			}
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			got, _ := os.ReadFile(p)
			if !bytes.Equal(got, data) {
				t.Fatal("stored blob differs")
			}
		})
	}
}

func TestProgressWhenPipedIsPlainLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := newBar(&out)
	b.every = 0 // a line on every update
	b.update(Progress{Name: "m:1b", Status: "pulling manifest"})
	b.update(Progress{Name: "m:1b", Status: "downloading", Total: 2_000_000, Completed: 0})
	b.update(Progress{Name: "m:1b", Status: "downloading", Total: 2_000_000, Completed: 1_000_000})
	b.update(Progress{Name: "m:1b", Status: "done", Total: 2_000_000, Completed: 2_000_000})
	b.finish()
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if strings.ContainsAny(got, "\r\x1b") || !strings.HasSuffix(got, "\n") {
		t.Errorf("output has terminal controls or an open line: %q", got)
	}
	if len(lines) != 3 ||
		lines[0] != "pulling m:1b: 2.0 MB" ||
		!strings.HasPrefix(lines[1], "pulling m:1b: 50% 1.0 MB/2.0 MB ") ||
		!strings.HasPrefix(lines[2], "pulled m:1b: 2.0 MB in ") {
		t.Errorf("lines = %q", lines)
	}

	// Nothing to fetch (all blobs present): nothing to say.
	out.Reset()
	b = newBar(&out)
	b.update(Progress{Name: "m:1b", Status: "downloading", Total: 2_000_000, Completed: 2_000_000})
	b.update(Progress{Name: "m:1b", Status: "done", Total: 2_000_000, Completed: 2_000_000})
	b.finish()
	if out.Len() != 0 {
		t.Errorf("a pull with nothing to fetch wrote %q", out.String())
	}
	newBar(nil).update(Progress{Status: "downloading", Total: 1}) // no writer: no output, no panic
}
