package vault

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two files whose names differ only in bytes that are not UTF-8 stay two
// documents, under their exact names, through a rebuild of the index from
// the log and the objects.
func TestNonUTF8NamesStayApartThroughARebuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, dir := newTestVault(t)
	notes := filepath.Join(t.TempDir(), "notes")
	names := map[string]string{ // exact name → a word only it holds
		"note-\xff.md": "xylophone",
		"note-\xfe.md": "zeppelin",
	}
	for n, w := range names {
		write(t, filepath.Join(notes, n), "# Note\n\nthe "+w+" is here\n")
	}
	if rep, err := v.Add(ctx, []string{notes}, AddOptions{}); err != nil || rep.Added != 2 {
		t.Fatalf("add: %+v, %v", rep, err)
	}
	v.Close()
	check := func(t *testing.T, w *Vault) {
		t.Helper()
		if st, _ := w.Status(); st.Documents != 2 || st.Chunks != 2 {
			t.Errorf("status %d documents, %d chunks; want 2, 2", st.Documents, st.Chunks)
		}
		for n, word := range names {
			hs, err := w.Search(ctx, word, SearchOptions{K: 1, Mode: Lexical})
			if err != nil || len(hs) != 1 || hs[0].Source != filepath.Join(notes, n) {
				t.Errorf("search %q: %+v, %v; want the hit from %q", word, hs, err, n)
			}
		}
		if p := w.Problems(); len(p) != 0 {
			t.Errorf("problems %v", p)
		}
	}
	t.Run("from the snapshot", func(t *testing.T) { check(t, reopen(t, dir)) })
	if err := os.Remove(filepath.Join(dir, "cache", "index.age")); err != nil {
		t.Fatal(err)
	}
	w := reopen(t, dir)
	t.Run("rebuilt from the log and the objects", func(t *testing.T) { check(t, w) })
	if rep, err := w.Add(ctx, []string{notes}, AddOptions{}); err != nil || rep.Unchanged != 2 || rep.Added+rep.Updated+rep.Removed != 0 {
		t.Errorf("a second add: %+v, %v", rep, err)
	}
}

// objectOf returns the object file the state points at for (ns, key).
func objectOf(t *testing.T, v *Vault, ns, key string) string {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	ver, ok := v.st.get(ns, key)
	if !ok || ver.Ref == "" {
		t.Fatalf("no object for %s %q", ns, key)
	}
	return v.objectPath(ver.Ref)
}

func TestADamagedDocumentIsIngestedAgainByTheNextAdd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, dir := newTestVault(t)
	notes := filepath.Join(t.TempDir(), "notes")
	write(t, filepath.Join(notes, "a.md"), "# A\n\nthe quokka smiles\n")
	write(t, filepath.Join(notes, "b.md"), "# B\n\nthe wombat digs\n")
	if _, err := v.Add(ctx, []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	obj := objectOf(t, v, nsDoc, filepath.Join(notes, "a.md"))
	v.Close()
	flipByte(t, obj)
	os.Remove(filepath.Join(dir, "cache", "index.age"))
	w := reopen(t, dir)
	if p := w.Problems(); len(p) != 1 || !errors.Is(p[0], ErrCorrupt) {
		t.Errorf("problems %v, want the damaged object", p)
	}
	w.Close()
	// It was reported once; the next add must not call it unchanged.
	x := reopen(t, dir)
	rep, err := x.Add(ctx, []string{notes}, AddOptions{})
	if err != nil || rep.Updated != 1 || rep.Unchanged != 1 {
		t.Fatalf("add after the damage: %+v, %v; want 1 updated, 1 unchanged", rep, err)
	}
	if hs, _ := x.Search(ctx, "quokka", SearchOptions{K: 1, Mode: Lexical}); len(hs) != 1 {
		t.Errorf("the re-ingested document is not found: %v", hs)
	}
	if c, err := x.Check(); err != nil || !c.OK() {
		t.Errorf("check after the re-ingest: %+v, %v", c.Damaged, err)
	}
	x.Close()
	os.Remove(filepath.Join(dir, "cache", "index.age"))
	if p := reopen(t, dir).Problems(); len(p) != 0 {
		t.Errorf("problems after a rebuild: %v", p)
	}
}

func TestDamagedFactsAndSessionsAreListedNotHidden(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	f, err := v.Remember("the gate code is 4711")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Remember("the dog is called Rex"); err != nil {
		t.Fatal(err)
	}
	s := &Session{Title: "holiday plans"}
	if err := v.SaveSession(s); err != nil {
		t.Fatal(err)
	}
	if err := v.SaveSession(&Session{Title: "taxes"}); err != nil {
		t.Fatal(err)
	}
	flipByte(t, objectOf(t, v, nsMemory, f.ID))
	flipByte(t, objectOf(t, v, nsSession, s.ID))
	v.Close()
	w := reopen(t, dir)
	fs, err := w.ListFacts()
	if err != nil || len(fs) != 2 || fs[1].ID != f.ID || fs[1].Damaged == "" || !strings.Contains(fs[1].Damaged, "nook forget "+f.ID) {
		t.Errorf("ListFacts = %+v, %v; want the damaged fact last, with a hint", fs, err)
	}
	if ok, _ := w.Facts(); len(ok) != 1 {
		t.Errorf("Facts (for prompts) = %+v, want the readable one", ok)
	}
	ss, err := w.ListSessions()
	if err != nil || len(ss) != 2 || ss[1].ID != s.ID || ss[1].Damaged == "" {
		t.Errorf("ListSessions = %+v, %v; want the damaged session last", ss, err)
	}
	st, _ := w.Status()
	if st.Memories != 2 || st.Sessions != 2 {
		t.Errorf("status counts %d facts, %d sessions", st.Memories, st.Sessions)
	}
	// A damaged fact can be forgotten by its id.
	if gone, _, err := w.Forget(f.ID); err != nil || len(gone) != 1 {
		t.Errorf("Forget(%s) = %v, %v", f.ID, gone, err)
	}
}

func TestOpenRemovesOldTempFilesFromEveryFolder(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	if err := v.PutSecret("s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	v.Close()
	var folders []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			folders = append(folders, p)
		}
		return nil
	})
	if len(folders) < 8 { // the vault, keys, keys/epochs, its epoch, objects, one object folder, log, the device's log, cache
		t.Fatalf("only %d folders: %v", len(folders), folders)
	}
	old := time.Now().Add(-2 * time.Minute)
	var stale, young []string
	for _, f := range folders {
		s, y := filepath.Join(f, ".tmp-crashed"), filepath.Join(f, ".tmp-live")
		write(t, s, "x")
		write(t, y, "x")
		os.Chtimes(s, old, old)
		stale, young = append(stale, s), append(young, y)
	}
	reopen(t, dir)
	for _, s := range stale {
		if _, err := os.Stat(s); err == nil {
			t.Errorf("%s was left", s)
		}
	}
	for _, y := range young {
		if _, err := os.Stat(y); err != nil {
			t.Errorf("%s (a live writer's) was removed", y)
		}
	}
}

func TestAWitnessDetectsAnOlderCopyOfTheFolder(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	if _, err := v.Remember("before the backup"); err != nil {
		t.Fatal(err)
	}
	v.Close()
	backup := filepath.Join(t.TempDir(), "backup")
	if err := os.CopyFS(backup, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	w := reopen(t, dir)
	if _, err := w.Remember("after the backup"); err != nil {
		t.Fatal(err)
	}
	seen := w.OwnHead() // what the ledger anchors
	if err := w.CheckWitness(seen.Seq, seen.Hash, "the ledger"); err != nil {
		t.Fatalf("the live folder: %v", err)
	}
	w.Close()
	old := reopen(t, backup)
	if err := old.CheckWitness(seen.Seq, seen.Hash, "the ledger"); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("the older copy: %v, want ErrRolledBack", err)
	}
	// Written to after the restore: the entry at the witnessed place
	// differs.
	if _, err := old.Remember("a different future"); err != nil {
		t.Fatal(err)
	}
	if err := old.CheckWitness(seen.Seq, seen.Hash, "the ledger"); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("the older copy written to: %v, want ErrRolledBack", err)
	}
}

func TestRepairRestoresAMissingHeaderFromTheKeyFile(t *testing.T) {
	t.Parallel()
	for _, lost := range [][]string{{"VAULT"}, {"VAULT", "DEVICE"}} {
		t.Run(strings.Join(lost, " and "), func(t *testing.T) {
			t.Parallel()
			v, dir := newTestVault(t)
			if err := v.PutSecret("keep", []byte("me")); err != nil {
				t.Fatal(err)
			}
			v.Close()
			for _, f := range lost {
				os.Remove(filepath.Join(dir, f))
			}
			if err := RestoreHeader(dir, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("with a wrong passphrase: %v", err)
			}
			if err := RestoreHeader(dir, testPass); err != nil {
				t.Fatal(err)
			}
			w := reopen(t, dir)
			if got, err := w.Secret("keep"); err != nil || string(got) != "me" || w.ID() != v.ID() || w.Device() != v.Device() {
				t.Errorf("after restoring the header: %q, %v", got, err)
			}
			if err := RestoreHeader(dir, testPass); !errors.Is(err, ErrAlreadyInitialized) {
				t.Errorf("over an existing header: %v", err)
			}
		})
	}
}
