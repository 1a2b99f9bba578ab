package vault

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// copyTree copies folder src to a new temp folder and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestAVaultOfCoarseChunksIsSearchableAndReindexMakesUnits(t *testing.T) {
	t.Parallel()
	dir := copyTree(t, filepath.Join("testdata", "format1", "vault"))
	v, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if p := v.Problems(); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	hs := search(t, v, "patch the inner tube", SearchOptions{K: 1})
	if len(hs) != 1 || filepath.Base(hs[0].Source) != "bike-tire.md" || hs[0].Kind != "chunk" {
		t.Fatalf("before reindex: %+v", hs)
	}
	// The notes were added from a folder that is gone: units come from
	// the text the vault holds.
	var progress []Progress
	rep, err := v.Reindex(context.Background(), ReindexOptions{Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil || len(rep.Errors) != 0 {
		t.Fatalf("Reindex: %+v, %v", rep, err)
	}
	if rep.Reindexed != 4 || rep.Current != 0 || len(progress) != 4 || progress[3].FilesDone != 4 || progress[3].FilesTotal != 4 {
		t.Errorf("report %+v, progress %+v; want the 4 notes rebuilt and reported", rep, progress)
	}
	check := func(v *Vault) {
		t.Helper()
		hs := search(t, v, "patch the inner tube", SearchOptions{K: 1})
		if len(hs) != 1 || filepath.Base(hs[0].Source) != "bike-tire.md" || hs[0].Kind != KindPara || hs[0].StartLine != 1 || hs[0].EndLine != 3 {
			t.Errorf("after reindex: %+v", hs)
		}
		if hs := search(t, v, "patch", SearchOptions{K: 1, Tag: "home"}); len(hs) != 1 {
			t.Errorf("tags kept: %+v", hs)
		}
	}
	check(v)
	if rep, _ := v.Reindex(context.Background(), ReindexOptions{}); rep.Reindexed != 0 || rep.Current != 4 {
		t.Errorf("second reindex: %+v, want nothing to do", rep)
	}
	v.Close()
	w, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	check(w)
	if err := os.Remove(filepath.Join(dir, "cache", "index.age")); err != nil {
		t.Fatal(err)
	}
	x, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	check(x) // rebuilt from the new objects
}

func TestLexicalAddThenReindexAddsVectors(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Init(dir, testPass, WithScryptWorkFactor(10), WithEmbedModel("hash-test")) // a model named, none loaded
	if err != nil {
		t.Fatal(err)
	}
	notes := copyCorpus(t)
	if rep, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil || rep.Added != corpusNotes {
		t.Fatalf("lexical Add: %+v, %v", rep, err)
	}
	if hs := search(t, v, "sourdough starter", SearchOptions{K: 1}); len(hs) != 1 {
		t.Fatalf("lexical search: %+v", hs)
	}
	v.Close()

	w := reopen(t, dir) // now with the HashEmbedder
	if hs := search(t, w, "sourdough starter", SearchOptions{K: 1, Mode: Vector}); len(hs) != 0 {
		t.Fatalf("vector hits before reindex: %+v", hs)
	}
	rep, err := w.Reindex(context.Background(), ReindexOptions{})
	if err != nil || rep.Reindexed != corpusNotes || rep.Units < corpusNotes || rep.EmbedTime <= 0 {
		t.Fatalf("Reindex: %+v, %v", rep, err)
	}
	if hs := search(t, w, "sourdough starter", SearchOptions{K: 1, Mode: Vector}); len(hs) != 1 || filepath.Base(hs[0].Source) != "sourdough.md" {
		t.Errorf("vector search after reindex: %+v", hs)
	}
	if rep, _ := w.Add(context.Background(), []string{notes}, AddOptions{}); rep.Unchanged != corpusNotes {
		t.Errorf("Add after reindex: %+v, want all unchanged", rep)
	}
	w.Close()

	t.Run("a lexical Add leaves the vectors alone", func(t *testing.T) {
		l, err := Open(dir, testPass)
		if err != nil {
			t.Fatal(err)
		}
		if rep, _ := l.Add(context.Background(), []string{notes}, AddOptions{}); rep.Unchanged != corpusNotes {
			t.Errorf("lexical Add over embedded documents: %+v, want all unchanged", rep)
		}
		if rep, _ := l.Reindex(context.Background(), ReindexOptions{}); rep.Reindexed != 0 {
			t.Errorf("lexical Reindex over embedded documents: %+v, want nothing to do", rep)
		}
		l.Close()
	})
	t.Run("another model embeds everything again", func(t *testing.T) {
		m := reopen(t, dir, WithEmbedder(vaulttest.HashEmbedder{Dim: 128}), WithEmbedModel("hash-128"))
		rep, err := m.Reindex(context.Background(), ReindexOptions{})
		if err != nil || rep.Reindexed != corpusNotes {
			t.Fatalf("Reindex with another model: %+v, %v", rep, err)
		}
		if hs := search(t, m, "sourdough starter", SearchOptions{K: 1, Mode: Vector}); len(hs) != 1 || filepath.Base(hs[0].Source) != "sourdough.md" {
			t.Errorf("vector search with the new model: %+v", hs)
		}
	})
}
