package vault

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/hint"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	ctx := context.Background()
	notes := copyCorpus(t)
	rep, err := v.Add(ctx, []string{notes}, AddOptions{Tags: []string{"home"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != corpusNotes || rep.Chunks == 0 {
		t.Fatalf("report %+v", rep)
	}
	if err := v.PutSecret("ledger/key", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	s := &Session{Title: "first", Messages: []Message{{Role: "user", Content: "hello"}, {Role: "assistant", Content: "hi"}}}
	if err := v.SaveSession(s); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Remember("my daughter is called Lena"); err != nil {
		t.Fatal(err)
	}
	devKey := v.DeviceKey()
	if len(devKey) != 32 {
		t.Fatalf("device key is %d bytes", len(devKey))
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Search(ctx, "x", SearchOptions{}); !errors.Is(err, ErrLocked) {
		t.Errorf("search on closed vault: %v, want ErrLocked", err)
	}

	w := reopen(t, dir)
	if got := w.DeviceKey(); !bytes.Equal(got, devKey) {
		t.Error("device key changed across opens")
	}
	sec, err := w.Secret("ledger/key")
	if err != nil || !bytes.Equal(sec, []byte{1, 2, 3}) {
		t.Errorf("Secret = %v, %v", sec, err)
	}
	if _, err := w.Secret("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent secret: %v, want ErrNotFound", err)
	}
	got, err := w.LoadSession(s.ID)
	if err != nil || got.Title != "first" || len(got.Messages) != 2 || got.Messages[1].Content != "hi" {
		t.Errorf("LoadSession = %+v, %v", got, err)
	}
	list, _ := w.ListSessions()
	if len(list) != 1 || list[0].ID != s.ID {
		t.Errorf("ListSessions = %+v", list)
	}
	facts, _ := w.Facts()
	if len(facts) != 1 || facts[0].Text != "my daughter is called Lena" {
		t.Errorf("Facts = %+v", facts)
	}
	hits, err := w.Search(ctx, "inner tube patch glue", SearchOptions{K: 3})
	if err != nil || len(hits) == 0 || filepath.Base(hits[0].Source) != "bike-tire.md" {
		t.Fatalf("Search = %+v, %v", hits, err)
	}
	if hits[0].StartLine != 1 || hits[0].EndLine != 3 {
		t.Errorf("line range %d-%d, want 1-3", hits[0].StartLine, hits[0].EndLine)
	}
	if hs, _ := w.Search(ctx, "inner tube patch", SearchOptions{Tag: "work"}); len(hs) != 0 {
		t.Errorf("tag filter let through %d hits", len(hs))
	}
	if hs, _ := w.Search(ctx, "inner tube patch", SearchOptions{Tag: "home", Folder: notes}); len(hs) == 0 {
		t.Error("tag+folder filter found nothing")
	}
	if hs, _ := w.Search(ctx, "inner tube patch", SearchOptions{Folder: "/elsewhere"}); len(hs) != 0 {
		t.Errorf("folder filter let through %d hits", len(hs))
	}
	gone, erased, err := w.Forget("Lena")
	if err != nil || len(gone) != 1 {
		t.Fatal(gone, err)
	}
	if erased.Objects != 1 || erased.Bytes == 0 {
		t.Errorf("forget erased %+v, want the fact's one object", erased)
	}
	if facts, _ := w.Facts(); len(facts) != 0 {
		t.Errorf("facts after Forget: %+v", facts)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, dir := newTestVault(t)
	tests := []struct {
		name string
		dir  string
		pass []byte
		want error
		hint string
	}{
		{"a wrong passphrase is refused", dir, []byte("wrong"), ErrWrongPassphrase, "try again"},
		{"an empty passphrase leaves the vault locked", dir, nil, ErrLocked, "passphrase"},
		{"a folder without a vault says to init", t.TempDir(), testPass, ErrNotInitialized, "nook init"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(tc.dir, tc.pass)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if !strings.Contains(hint.Of(err), tc.hint) {
				t.Errorf("hint %q lacks %q", hint.Of(err), tc.hint)
			}
		})
	}
	if _, err := Init(dir, testPass); !errors.Is(err, ErrAlreadyInitialized) {
		t.Errorf("second Init: %v", err)
	}
}

// objectFiles lists object files under the vault.
func objectFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestDamagedObjects(t *testing.T) {
	t.Parallel()
	damage := []struct {
		name string
		do   func([]byte) []byte
	}{
		{"a flipped byte in an object is reported with its file name", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }},
		{"a truncated object is reported with its file name", func(b []byte) []byte { return b[:len(b)/2] }},
		{"an object swapped for another is reported", nil},
	}
	for _, tc := range damage {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, dir := newTestVault(t)
			if err := v.PutSecret("a", []byte("alpha")); err != nil {
				t.Fatal(err)
			}
			objs := objectFiles(t, dir)
			if err := v.PutSecret("b", []byte("bravo")); err != nil {
				t.Fatal(err)
			}
			victim := objs[0]
			b, _ := os.ReadFile(victim)
			if tc.do != nil {
				b = tc.do(b)
			} else {
				for _, o := range objectFiles(t, dir) {
					if o != victim {
						b, _ = os.ReadFile(o)
					}
				}
			}
			os.WriteFile(victim, b, 0o600)
			v.Close()
			w := reopen(t, dir)
			_, err := w.Secret("a")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), victim) {
				t.Errorf("Secret(a) = %v, want ErrCorrupt naming %s", err, victim)
			}
			if got, err := w.Secret("b"); err != nil || string(got) != "bravo" {
				t.Errorf("the rest of the vault: Secret(b) = %q, %v", got, err)
			}
		})
	}
}

func TestLogOutOfChain(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	for _, s := range []string{"one", "two", "three"} {
		if err := v.PutSecret(s, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	v.Close()
	logDir := filepath.Join(dir, "log", v.Device())
	// Entry 1 records the first key epoch; "one" is entry 2. Replace entry
	// 3 by entry 4: a valid, signed entry in the wrong place.
	e4, _ := os.ReadFile(filepath.Join(logDir, entryName(4)))
	os.WriteFile(filepath.Join(logDir, entryName(3)), e4, 0o600)
	os.Remove(filepath.Join(dir, "cache", "index.age")) // force a replay
	w := reopen(t, dir)
	probs := w.Problems()
	if len(probs) == 0 || !errors.Is(probs[0], ErrCorrupt) || !strings.Contains(probs[0].Error(), entryName(3)) {
		t.Fatalf("problems %v, want one naming entry 3", probs)
	}
	for _, s := range []string{"one", "three"} { // before and after the damage
		if got, err := w.Secret(s); err != nil || string(got) != s {
			t.Errorf("Secret(%s) = %q, %v", s, got, err)
		}
	}
	if _, err := w.Secret("two"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the damaged entry's secret: %v", err)
	}
	if err := w.PutSecret("four", nil); err != nil {
		t.Errorf("writing after a damaged entry in the middle of the log: %v", err)
	}
}

func TestSnapshotRebuild(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		do   func(path string)
	}{
		{"a missing snapshot is rebuilt from objects", func(p string) { os.Remove(p) }},
		{"a tampered snapshot is rebuilt from objects", func(p string) {
			b, _ := os.ReadFile(p)
			b[len(b)-5] ^= 0xff
			os.WriteFile(p, b, 0o600)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, dir := newTestVault(t)
			if _, err := v.Add(context.Background(), []string{copyCorpus(t)}, AddOptions{}); err != nil {
				t.Fatal(err)
			}
			v.Close()
			tc.do(filepath.Join(dir, "cache", "index.age"))
			w := reopen(t, dir)
			hits, err := w.Search(context.Background(), "pike wire leader", SearchOptions{K: 1})
			if err != nil || len(hits) != 1 || filepath.Base(hits[0].Source) != "fishing.md" {
				t.Fatalf("Search after rebuild = %+v, %v", hits, err)
			}
			st, _ := w.Status()
			if st.Documents != corpusNotes {
				t.Errorf("documents %d, want %d", st.Documents, corpusNotes)
			}
		})
	}
}

// No plaintext sentence of the corpus may appear in any file of the vault.
func TestNoPlaintextOnDisk(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	notes := copyCorpus(t)
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	v.Remember("the spare key is under the blue flowerpot")
	v.PutSecret("s", []byte("the ledger secret sentence"))
	v.Close()
	var sentences []string
	ents, _ := os.ReadDir(notes)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(notes, e.Name()))
		for _, s := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '.' || r == '\n' }) {
			if s = strings.TrimSpace(s); len(s) > 12 {
				sentences = append(sentences, s)
			}
		}
	}
	sentences = append(sentences, "spare key is under the blue flowerpot", "the ledger secret sentence")
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		files++
		b, _ := os.ReadFile(p)
		for _, s := range sentences {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains plaintext %q", p, s)
			}
		}
		return nil
	})
	if files < 30 {
		t.Errorf("scanned only %d files", files)
	}
}

// The stock age CLI decrypts any object with the exported key.
func TestExportKeyWithStockAge(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	if err := v.PutSecret("x", []byte("interoperable")); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	ageBin := filepath.Join(tmp, "age")
	build := exec.Command("go", "build", "-o", ageBin, "filippo.io/age/cmd/age")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build age: %v\n%s", err, out)
	}
	var key bytes.Buffer
	if err := v.ExportKey(&key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(tmp, "key.txt")
	os.WriteFile(keyFile, key.Bytes(), 0o600)
	objs := objectFiles(t, dir)
	if len(objs) != 1 {
		t.Fatalf("%d objects", len(objs))
	}
	out, err := exec.Command(ageBin, "-d", "-i", keyFile, objs[0]).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	if !bytes.HasSuffix(out, []byte("interoperable")) || !bytes.HasPrefix(out, []byte("nook-object/2 secret 1\n")) {
		t.Errorf("age -d gave %q", out)
	}
	// And a log entry.
	ent := filepath.Join(dir, "log", v.Device(), entryName(1))
	if out, err := exec.Command(ageBin, "-d", "-i", keyFile, ent).Output(); err != nil || !bytes.Contains(out, []byte(`"sig"`)) {
		t.Errorf("age -d log entry: %v %q", err, out)
	}
}
