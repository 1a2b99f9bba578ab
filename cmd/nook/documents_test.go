package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/testmodels"
)

// Managing documents with the real binary: nook rm erases them, nook add
// --tag tags the ones already held, nook watch refuses a missing folder
// and reports one removed under it.

// docsEnv is shellEnv with the tiny model for chat and embeddings, and a
// notes folder holding files.
func docsEnv(t *testing.T, files map[string]string) (bin string, env []string, notes string) {
	t.Helper()
	bin = buildNook(t)
	env = shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_MODEL="+model, "NOOK_EMBED_MODEL="+model)
	notes = filepath.Join(t.TempDir(), "notes")
	for name, text := range files {
		p := filepath.Join(notes, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bin, env, notes
}

// envValue is NAME's value in env.
func envValue(env []string, name string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, name+"="); ok {
			return v
		}
	}
	return ""
}

// objectSizes maps the vault's object files to their sizes.
func objectSizes(t *testing.T, env []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	root := filepath.Join(envValue(env, "NOOK_HOME"), "vault", "objects")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				out[p] = fi.Size()
			}
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no objects under %s", root)
	}
	return out
}

// fails runs the binary without a terminal, expects it to exit 1, and
// returns its output.
func fails(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	return asNookCmd(bin, env).mustRun(t, 1, args...)
}

// asNookCmd is bounded_test.go's runner for bin with env.
func asNookCmd(bin string, env []string) *nookCmd {
	n := &nookCmd{bin: bin, env: map[string]string{}}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		n.env[k] = v
	}
	return n
}

func TestRmRemovesADocumentAndErasesItsBytesFromDisk(t *testing.T) {
	bin, env, notes := docsEnv(t, map[string]string{
		"plan.md": "# Trip\n\nThe hotel door code is zanzibar 7731.\n",
		"home.md": "# Home\n\nThe spare key is under the blue mat.\n",
	})
	nook(t, bin, env, "add", notes)
	before := objectSizes(t, env)
	var rep struct {
		Removed []string
		Erased  struct{ Objects, Bytes int64 }
	}
	out := nook(t, bin, env, "rm", "--json", filepath.Join(notes, "plan.md"))
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("rm --json: %v\n%s", err, out)
	}
	if len(rep.Removed) != 1 || rep.Removed[0] != filepath.Join(notes, "plan.md") || rep.Erased.Objects != 1 {
		t.Fatalf("rm --json: %+v", rep)
	}
	after := objectSizes(t, env)
	var goneBytes int64
	for p, n := range before {
		if _, ok := after[p]; !ok {
			goneBytes += n
		}
	}
	if len(before)-len(after) != 1 || goneBytes != rep.Erased.Bytes {
		t.Errorf("objects on disk %d → %d, %d bytes gone; rm reported %+v", len(before), len(after), goneBytes, rep.Erased)
	}
	if _, err := os.Stat(filepath.Join(notes, "plan.md")); err != nil {
		t.Errorf("rm touched the file itself: %v", err)
	}
	if out := nook(t, bin, env, "search", "--json", "hotel door code zanzibar"); strings.Contains(out, "plan.md") {
		t.Errorf("search still finds the removed document:\n%s", out)
	}
	if out := nook(t, bin, env, "ls"); strings.Contains(out, "plan.md") || !strings.Contains(out, "home.md") {
		t.Errorf("nook ls after rm:\n%s", out)
	}
	// A path that names no document: a one-line error with a hint.
	out = fails(t, bin, env, "rm", filepath.Join(notes, "plan.md"))
	if !strings.Contains(out, "no document there") || !strings.Contains(out, "hint: `nook ls`") || strings.Count(out, "\n") != 2 {
		t.Errorf("rm of nothing:\n%s", out)
	}
}

func TestRmOfAFolderAsksFirstOnATerminalAndNeedsYesWithoutOne(t *testing.T) {
	bin, env, notes := docsEnv(t, map[string]string{
		"trip/plan.md":  "# Trip\n\nThe hotel door code is 7731.\n",
		"trip/pack.md":  "# Packing\n\nBring the charger.\n",
		"tripod/leg.md": "# Tripod\n\nThe tripod is in the hall cupboard.\n",
	})
	nook(t, bin, env, "add", notes)
	trip := filepath.Join(notes, "trip")
	out := fails(t, bin, env, "rm", trip)
	if !strings.Contains(out, "2 documents match") || !strings.Contains(out, "no terminal to confirm") || !strings.Contains(out, "--yes") {
		t.Fatalf("rm of a folder without a terminal:\n%s", out)
	}
	if out := nook(t, bin, env, "ls"); strings.Count(out, ".md") != 3 {
		t.Fatalf("a refused rm removed documents:\n%s", out)
	}

	x := startTmux(t, bin, env, "rm", trip)
	x.waitFor(20*time.Second, "2 documents match", "pack.md", "plan.md", "remove and erase 2 documents? [y/N]")
	if s := x.capture(); strings.Contains(s, "leg.md") {
		t.Errorf("a folder named like it matched too:\n%s", s)
	}
	x.run("send-keys", "-t", "nook", "n", "Enter")
	x.waitFor(10*time.Second, "kept them all")

	x = startTmux(t, bin, env, "rm", trip)
	x.waitFor(20*time.Second, "remove and erase 2 documents? [y/N]")
	x.run("send-keys", "-t", "nook", "y", "Enter")
	screen := strings.ReplaceAll(x.waitFor(10*time.Second, "erased 2 objects"), "\n", "") // long paths wrap
	for _, f := range []string{"pack.md", "plan.md"} {
		if !strings.Contains(screen, "removed "+filepath.Join(trip, f)) {
			t.Errorf("rm does not say it removed %s:\n%s", f, screen)
		}
	}
	if out := nook(t, bin, env, "ls"); strings.Contains(out, filepath.Join(notes, "trip")+"/") || !strings.Contains(out, "leg.md") {
		t.Errorf("nook ls after rm:\n%s", out)
	}
	if out := nook(t, bin, env, "rm", "--yes", filepath.Join(notes, "tripod")); !strings.Contains(out, "leg.md") {
		t.Errorf("rm --yes:\n%s", out)
	}
}

func TestAddWithATagTagsFilesAlreadyInTheVault(t *testing.T) {
	bin, env, notes := docsEnv(t, map[string]string{
		"boiler.md": "# Boiler\n\nThe boiler service code is 4411.\n",
		"bins.md":   "# Bins\n\nThe bins go out on tuesday.\n",
		"photo.jpg": "\xff\xd8\xff\xe0 not text",
	})
	nook(t, bin, env, "add", "--tag", "home", notes)
	out := nook(t, bin, env, "add", "--tag", "house", notes)
	if !strings.Contains(out, "unchanged 2") || !strings.Contains(out, "tagged 2 documents already in the vault") {
		t.Errorf("add --tag on files already in the vault:\n%s", out)
	}
	if !strings.Contains(out, "skipped: 1 unsupported") {
		t.Errorf("skipped files carry no reason:\n%s", out)
	}
	var docs []struct {
		Source string
		Tags   []string
	}
	if err := json.Unmarshal([]byte(nook(t, bin, env, "ls", "--json", "--tag", "house")), &docs); err != nil || len(docs) != 2 {
		t.Fatalf("ls --json --tag house: %+v, %v", docs, err)
	}
	for _, d := range docs {
		if strings.Join(d.Tags, ",") != "home,house" {
			t.Errorf("%s has tags %v, want home,house", d.Source, d.Tags)
		}
	}
	if out := nook(t, bin, env, "search", "--tag", "house", "boiler service code"); !strings.Contains(out, "boiler.md") {
		t.Errorf("search --tag house:\n%s", out)
	}
}

func TestWatchRefusesAMissingFolderAndReportsOneRemovedWhileWatched(t *testing.T) {
	bin, env, notes := docsEnv(t, map[string]string{"a.md": "# A\n\nalpha words\n"})
	start := time.Now()
	out := fails(t, bin, env, "watch", filepath.Join(notes, "nope"))
	if !strings.Contains(out, "no such folder") || !strings.Contains(out, "hint:") || strings.Count(out, "\n") != 2 {
		t.Errorf("watch on a missing folder:\n%s", out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("watch on a missing folder took %s to fail", d)
	}

	c := asNookCmd(bin, env).cmd("watch", notes)
	var buf lockedBuffer
	c.Stdout, c.Stderr = &buf, &buf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() { c.Process.Kill() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(buf.String(), "added 1") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), "added 1") {
		t.Fatalf("watch did not start:\n%s", buf.String())
	}
	if err := os.RemoveAll(notes); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		out := buf.String()
		if err == nil || !strings.Contains(out, "removed 1") || !strings.Contains(out, "the folder was removed") || !strings.Contains(out, "hint:") {
			t.Errorf("watch after its folder was removed: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("watch went on silently after its folder was removed:\n%s", buf.String())
	}
}
