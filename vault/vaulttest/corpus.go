package vaulttest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CopyDir copies the files of folder src (vault/testdata/corpus: the
// retrieval corpus) into a new folder "notes" and returns its path.
func CopyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "notes")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

// Question is a retrieval question and the file name of the note that
// answers it.
type Question struct{ Want, Text string }

// LoadQuestions reads "NOTE<TAB>QUESTION" lines (vault/testdata/questions.tsv).
func LoadQuestions(tb testing.TB, path string) []Question {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var qs []Question
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if want, text, ok := strings.Cut(sc.Text(), "\t"); ok {
			qs = append(qs, Question{want, text})
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return qs
}
