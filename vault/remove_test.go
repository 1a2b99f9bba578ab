package vault

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault/vaulttest"
)

func TestRemoveDocumentsErasesThemFromDiskTheSnapshotAndSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, dir := newTestVault(t)
	notes := t.TempDir()
	write(t, filepath.Join(notes, "trip", "plan.md"), "# Trip\n\nthe hotel door code is marzipan-canary\n")
	write(t, filepath.Join(notes, "trip", "packing.md"), "# Packing\n\nbring the marzipan-canary charger\n")
	write(t, filepath.Join(notes, "tripod.md"), "# Tripod\n\nthe tripod lives in the hall cupboard\n")
	if _, err := v.Add(ctx, []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // the snapshot holds the notes' text now
		t.Fatal(err)
	}
	v = reopen(t, dir)
	ids := append(v.ring().identities(), v.devID)
	if len(canaryFound(t, dir, "marzipan-canary", ids...)) == 0 {
		t.Fatal("the canary is not in the vault to begin with")
	}

	match, err := v.MatchDocuments([]string{filepath.Join(notes, "trip") + "/"})
	want := []string{filepath.Join(notes, "trip", "packing.md"), filepath.Join(notes, "trip", "plan.md")}
	if err != nil || !slices.Equal(match, want) {
		t.Fatalf("MatchDocuments = %v, %v; want %v (a folder, not a name prefix)", match, err, want)
	}
	gone, erased, err := v.RemoveDocuments([]string{filepath.Join(notes, "trip")})
	if err != nil || !slices.Equal(gone, want) || erased.Objects != 2 || erased.Bytes == 0 {
		t.Fatalf("RemoveDocuments = %v, %+v, %v", gone, erased, err)
	}
	if f := canaryFound(t, dir, "marzipan-canary", ids...); len(f) != 0 {
		t.Errorf("the removed text still decrypts from %v", f)
	}
	check := func(t *testing.T, v *Vault) {
		t.Helper()
		hits, err := v.Search(ctx, "marzipan hotel door code", SearchOptions{K: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if filepath.Dir(h.Source) == filepath.Join(notes, "trip") {
				t.Errorf("search still finds %s", h.Source)
			}
		}
		docs, _ := v.ListSources("")
		if len(docs) != 1 || docs[0].Source != filepath.Join(notes, "tripod.md") {
			t.Errorf("documents left: %+v", docs)
		}
	}
	check(t, v)
	v.Close()
	t.Run("after reopening from the snapshot", func(t *testing.T) { check(t, reopen(t, dir)) })
}

func TestRemoveDocumentsThatNameNothingRemovesNothing(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	notes := t.TempDir()
	write(t, filepath.Join(notes, "a.md"), "# A\n\nalpha\n")
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := v.RemoveDocuments([]string{filepath.Join(notes, "a.md"), filepath.Join(notes, "nothing-here")})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if docs, _ := v.ListSources(""); len(docs) != 1 {
		t.Errorf("a refused rm removed documents: %+v", docs)
	}
}

func TestRemoveDocumentsTakesAFileGoneFromDisk(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	notes := t.TempDir()
	p := filepath.Join(notes, "old.md")
	write(t, p, "# Old\n\nold words\n")
	if _, err := v.Add(context.Background(), []string{p}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	gone, erased, err := v.RemoveDocuments([]string{p})
	if err != nil || len(gone) != 1 || erased.Objects != 1 {
		t.Fatalf("RemoveDocuments = %v, %+v, %v", gone, erased, err)
	}
}

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	vaulttest.HashEmbedder
	n *atomic.Int64
}

func (e countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.n.Add(int64(len(texts)))
	return e.HashEmbedder.Embed(ctx, texts)
}

func TestAddWithATagTagsUnchangedDocumentsWithoutEmbeddingThemAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var n atomic.Int64
	v, dir := newTestVault(t, WithEmbedder(countingEmbedder{n: &n}))
	notes := t.TempDir()
	write(t, filepath.Join(notes, "boiler.md"), "# Boiler\n\nthe boiler service code is 4411\n")
	write(t, filepath.Join(notes, "bins.md"), "# Bins\n\nthe bins go out on tuesday\n")
	if _, err := v.Add(ctx, []string{notes}, AddOptions{Tags: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	before := n.Load()
	rep, err := v.Add(ctx, []string{notes}, AddOptions{Tags: []string{"house"}})
	if err != nil || rep.Tagged != 2 || rep.Unchanged != 2 || rep.Updated != 0 {
		t.Fatalf("Add --tag house on unchanged files: %+v, %v", rep, err)
	}
	if n.Load() != before {
		t.Errorf("tagging embedded %d texts again", n.Load()-before)
	}
	rep, err = v.Add(ctx, []string{notes}, AddOptions{Tags: []string{"house"}})
	if err != nil || rep.Tagged != 0 || rep.Unchanged != 2 {
		t.Fatalf("the same tag again: %+v, %v", rep, err)
	}
	check := func(t *testing.T, v *Vault) {
		t.Helper()
		docs, err := v.ListSources("house")
		if err != nil || len(docs) != 2 {
			t.Fatalf("ListSources(house) = %+v, %v", docs, err)
		}
		for _, d := range docs {
			if !slices.Equal(d.Tags, []string{"home", "house"}) {
				t.Errorf("%s tags %v, want [home house]", d.Source, d.Tags)
			}
		}
		hits, err := v.Search(ctx, "boiler service code", SearchOptions{K: 1, Tag: "house"})
		if err != nil || len(hits) != 1 || filepath.Base(hits[0].Source) != "boiler.md" {
			t.Errorf("search by the new tag: %+v, %v", hits, err)
		}
	}
	check(t, v)
	v.Close()
	t.Run("after reopening", func(t *testing.T) { check(t, reopen(t, dir)) })
}

func TestWatchRefusesAMissingFolderAtOnce(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := v.Watch(ctx, filepath.Join(t.TempDir(), "no-such-folder"), AddOptions{}, 0, nil)
	if !errors.Is(err, fs.ErrNotExist) || ctx.Err() != nil {
		t.Fatalf("Watch on a missing folder = %v (ctx %v), want fs.ErrNotExist at once", err, ctx.Err())
	}
}

func TestWatchEndsWithAnErrorWhenItsFolderIsRemoved(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	notes := filepath.Join(t.TempDir(), "notes")
	write(t, filepath.Join(notes, "a.md"), "# A\n\nalpha words\n")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	passes := make(chan AddReport, 10)
	done := make(chan error, 1)
	go func() {
		done <- v.Watch(ctx, notes, AddOptions{}, 50*time.Millisecond, func(r AddReport, err error) { passes <- r })
	}()
	if r := <-passes; r.Added != 1 {
		t.Fatalf("first pass %+v", r)
	}
	if err := os.RemoveAll(notes); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Watch ended with %v, want fs.ErrNotExist", err)
		}
	case <-ctx.Done():
		t.Fatal("Watch went on silently after its folder was removed")
	}
	if docs, _ := v.ListSources(""); len(docs) != 0 {
		t.Errorf("the removed folder's documents are still there: %+v", docs)
	}
}

func TestAChangedFileKeepsTheTagsItWasAddedWith(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, _ := newTestVault(t)
	notes := t.TempDir()
	p := filepath.Join(notes, "boiler.md")
	write(t, p, "# Boiler\n\nthe boiler service code is 4411\n")
	if _, err := v.Add(ctx, []string{notes}, AddOptions{Tags: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	write(t, p, "# Boiler\n\nthe boiler service code is 5522 since march\n")
	rep, err := v.Add(ctx, []string{notes}, AddOptions{})
	if err != nil || rep.Updated != 1 {
		t.Fatalf("Add of the changed file: %+v, %v", rep, err)
	}
	docs, err := v.ListSources("home")
	if err != nil || len(docs) != 1 || !slices.Equal(docs[0].Tags, []string{"home"}) {
		t.Fatalf("after the change: %+v, %v", docs, err)
	}
}
