package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesAndLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o700); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("got %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files left in the folder", len(ents))
	}
}

func TestAFailedFillKeepsTheOldFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	WriteFile(p, []byte("old"), 0o700)
	boom := errors.New("boom")
	err := Write(p, 0o700, func(w io.Writer) error { w.Write([]byte("half")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("got %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("temp file left behind")
	}
}

func TestCreateNeverReplaces(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "entry")
	if err := CreateFile(p, []byte("first"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CreateFile(p, []byte("second"), 0o700); !errors.Is(err, os.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first" {
		t.Fatalf("got %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("temp file left behind")
	}
}
