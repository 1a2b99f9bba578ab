package logfile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nook-ai/nook/internal/logfile"
)

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestALogIsRotatedWhileItIsWritten(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "logs", "plugins", "units.log")
	w, err := logfile.Open(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := []byte(strings.Repeat("x", 29) + "\n") // 30 bytes
	for range 3 {
		w.Write(line)
	}
	if exists(path+".1") || size(t, path) != 90 {
		t.Fatalf("rotated before the cap: %d bytes", size(t, path))
	}
	w.Write(line) // would make 120 > 100: rotates first
	if size(t, path+".1") != 90 || size(t, path) != 30 {
		t.Fatalf("after passing the cap: .1 has %d bytes, the log %d", size(t, path+".1"), size(t, path))
	}
	for range 20 {
		w.Write(line)
	}
	if !exists(path+".2") || exists(path+".3") {
		t.Fatal("keeps other than 2 old files")
	}
	for _, p := range []string{path, path + ".1", path + ".2"} {
		if n := size(t, p); n > 100 {
			t.Errorf("%s has %d bytes, over the cap", p, n)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestAWriteBiggerThanTheCapIsSplitNotLost(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.log")
	w, err := logfile.Open(path, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789"), 25) // 250 bytes
	if n, err := w.Write(payload); n != 250 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	w.Close()
	var got []byte
	for _, p := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100 {
			t.Errorf("%s has %d bytes", p, len(b))
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("the pieces read back %q", got)
	}
}

func TestALogAlreadyOverTheCapIsRotatedWhenOpened(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tui.log")
	os.WriteFile(path, bytes.Repeat([]byte("a"), 500), 0o600)
	w, err := logfile.Open(path, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if size(t, path+".1") != 500 || size(t, path) != 0 {
		t.Fatal("a log over the cap was not moved aside at Open")
	}
}

func TestConcurrentWritersNeitherRaceNorLoseLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.log")
	w, err := logfile.Open(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				fmt.Fprintf(w, "writer %d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Close()
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 1600 {
		t.Fatalf("%d lines, want 1600", n)
	}
}

// Two processes (here two writers) on one file: when one rotates, the other
// follows instead of growing the moved file past the cap.
func TestAWriterFollowsARotationByAnotherProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.log")
	a, _ := logfile.Open(path, 100, 1)
	b, _ := logfile.Open(path, 100, 1)
	defer a.Close()
	defer b.Close()
	line := bytes.Repeat([]byte("y"), 40)
	a.Write(line)
	b.Write(line) // 80 on disk
	a.Write(line) // a rotates: .1 has 80, the log 40
	b.Write(line) // b thinks 80+40 > 100, finds the file rotated, reopens
	b.Write(line)
	for _, p := range []string{path, path + ".1"} {
		if n := size(t, p); n > 100 {
			t.Errorf("%s has %d bytes, over the cap", p, n)
		}
	}
}

func TestWritesAfterCloseAreDroppedAndReported(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.log")
	w, _ := logfile.Open(path, 0, 0)
	w.Close()
	if n, err := w.Write([]byte("late")); n != 4 || err != nil {
		t.Fatalf("write after close: %d %v, want it dropped quietly", n, err)
	}
	if w.Err() == nil {
		t.Fatal("no error kept for the dropped write")
	}
}

func TestOpenInAFolderThatCannotBeMadeFails(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := logfile.Open(filepath.Join(file, "sub", "x.log"), 0, 0); err == nil {
		t.Fatal("opened a log under a file")
	}
}
