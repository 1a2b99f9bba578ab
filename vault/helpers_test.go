package vault

import (
	"path/filepath"
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

// corpusNotes is how many notes testdata/corpus holds.
const corpusNotes = 36

// copyCorpus copies the retrieval corpus into a fresh folder.
func copyCorpus(t testing.TB) string { return vaulttest.CopyDir(t, "testdata/corpus") }

func loadQuestions(t testing.TB) []vaulttest.Question {
	return vaulttest.LoadQuestions(t, "testdata/questions.tsv")
}
