package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// What llama.cpp writes to fd 2 while the terminal app runs goes to
// tui.log, rotated while it is written: a long session never grows it past
// its cap. (Not parallel: it borrows this process's fd 2.)
func TestTUILogIsRotatedWhileItIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "tui.log")
	restore := redirectStderr(path)
	line := append(bytes.Repeat([]byte("ggml: a line of model chatter "), 10), '\n')
	for written := 0; written < 3*tuiLogSize; written += len(line) {
		if _, err := os.Stderr.Write(line); err != nil {
			restore()
			t.Fatal(err)
		}
	}
	restore()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("after 3 MiB: %v", err)
		}
		if fi.Size() > tuiLogSize {
			t.Errorf("%s is %d bytes, past the %d cap", filepath.Base(p), fi.Size(), tuiLogSize)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more than two old logs are kept")
	}
	// fd 2 is this process's stderr again.
	if _, err := os.Stderr.Write(nil); err != nil {
		t.Fatal(err)
	}
}
