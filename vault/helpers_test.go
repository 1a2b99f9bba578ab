package vault

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

var testPass = []byte("correct horse battery staple")

// newTestVault initialises a vault in a temp dir with a cheap scrypt cost.
func newTestVault(t *testing.T, opts ...Option) (*Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	opts = append([]Option{WithScryptWorkFactor(10), WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test")}, opts...)
	v, err := Init(dir, testPass, opts...)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, dir
}

func reopen(t *testing.T, dir string, opts ...Option) *Vault {
	t.Helper()
	opts = append([]Option{WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test")}, opts...)
	v, err := Open(dir, testPass, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// copyCorpus copies testdata/corpus into a fresh folder.
func copyCorpus(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "notes")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata/corpus", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

type question struct{ want, text string }

func loadQuestions(t testing.TB) []question {
	t.Helper()
	f, err := os.Open("testdata/questions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var qs []question
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want, text, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			qs = append(qs, question{want, text})
		}
	}
	return qs
}

// recallAt5 is the share of questions whose note is among the top 5 hits.
func recallAt5(t *testing.T, v *Vault, qs []question, mode Mode) (float64, []string) {
	t.Helper()
	hit := 0
	var missed []string
	for _, q := range qs {
		hs, err := v.Search(context.Background(), q.text, SearchOptions{K: 5, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range hs {
			if filepath.Base(h.Source) == q.want {
				found = true
				break
			}
		}
		if found {
			hit++
		} else {
			missed = append(missed, q.want)
		}
	}
	return float64(hit) / float64(len(qs)), missed
}
