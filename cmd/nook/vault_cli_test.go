package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/nook-ai/nook/internal/testmodels"
)

// The vault, ingest and RAG commands as scripts use them: NOOK_HOME,
// NOOK_PASSPHRASE, NOOK_MODEL and NOOK_EMBED_MODEL set, stderr not a
// terminal. Most run in-process (runNook); the SIGKILL test runs the binary.

const cliPass = "correct horse battery staple"

func vaultCLIEnv(t *testing.T) map[string]string {
	t.Helper()
	model := testmodels.Path(t, testmodels.Stories260K)
	return map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": cliPass, "NOOK_MODEL": model, "NOOK_EMBED_MODEL": model}
}

// cliNotes copies a few notes of the vault's test corpus into a folder.
func cliNotes(t *testing.T, names ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "notes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "..", "vault", "testdata", "corpus", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustNook(t *testing.T, env map[string]string, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errs := runNook(t, env, "", args...)
	if code != 0 {
		t.Fatalf("nook %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out, errs
}

func TestVaultCommandsFromInitToAsk(t *testing.T) {
	env := vaultCLIEnv(t)
	notes := cliNotes(t, "sourdough.md", "tomatoes.md", "bike-tire.md", "lisbon.md", "piano.md")

	out, _ := mustNook(t, env, "init")
	if !strings.Contains(out, "created vault") {
		t.Errorf("init printed %q", out)
	}

	t.Run("a second init is refused with a hint", func(t *testing.T) {
		code, _, errs := runNook(t, env, "", "init")
		if code != 1 || !strings.Contains(errs, "nook: error: ") || !strings.Contains(errs, "nook: hint: ") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})

	out, errs := mustNook(t, env, "add", notes)
	if !strings.Contains(out, "added 5,") {
		t.Errorf("add printed %q", out)
	}
	if strings.Contains(errs, "\r") || strings.Contains(errs, "[=") {
		t.Errorf("a progress bar was drawn on a stderr that is not a terminal: %q", errs)
	}

	t.Run("adding the same folder again skips every file", func(t *testing.T) {
		out, _ := mustNook(t, env, "add", notes)
		if !strings.Contains(out, "added 0, updated 0, unchanged 5") {
			t.Errorf("add printed %q", out)
		}
	})

	t.Run("a path that does not exist is an error with a hint", func(t *testing.T) {
		code, _, errs := runNook(t, env, "", "add", filepath.Join(notes, "typo.md"))
		if code != 1 || !strings.Contains(errs, "no such file") || !strings.Contains(errs, "nook: hint: check the path") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})

	t.Run("vault status counts documents", func(t *testing.T) {
		out, _ := mustNook(t, env, "vault", "status", "--json")
		var st struct {
			Documents int      `json:"documents"`
			Chunks    int      `json:"chunks"`
			Problems  []string `json:"problems"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if st.Documents != 5 || st.Chunks < 5 || len(st.Problems) != 0 {
			t.Errorf("status %+v", st)
		}
		out, _ = mustNook(t, env, "vault", "status")
		if !regexp.MustCompile(`(?m)^documents\s+5 `).MatchString(out) {
			t.Errorf("status printed %q", out)
		}
	})

	t.Run("search --json has the documented shape", func(t *testing.T) {
		out, _ := mustNook(t, env, "search", "--json", "-k", "3", "how often should the sourdough starter be fed?")
		var hits []map[string]any
		if err := json.Unmarshal([]byte(out), &hits); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if len(hits) == 0 || len(hits) > 3 {
			t.Fatalf("%d hits", len(hits))
		}
		for _, h := range hits {
			checkHitShape(t, h, "source", "kind", "speaker", "date", "tokens")
		}
		if got := filepath.Base(hits[0]["source"].(string)); got != "sourdough.md" {
			t.Errorf("first hit %s, want sourdough.md", got)
		}
	})

	t.Run("ask --json answers with sources", func(t *testing.T) {
		out, _ := mustNook(t, env, "ask", "--json", "how often should the sourdough starter be fed?")
		var ans struct {
			Answer  *string          `json:"answer"`
			Sources []map[string]any `json:"sources"`
		}
		if err := json.Unmarshal([]byte(out), &ans); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if ans.Answer == nil || len(ans.Sources) == 0 {
			t.Fatalf("answer %q", out)
		}
		for _, s := range ans.Sources {
			checkHitShape(t, s, "source", "n", "cited")
		}
	})

	t.Run("remember, list and forget a fact", func(t *testing.T) {
		out, _ := mustNook(t, env, "remember", "my bike is a blue Gazelle")
		if !strings.Contains(out, "remembered") {
			t.Errorf("remember printed %q", out)
		}
		out, _ = mustNook(t, env, "forget", "--list")
		if !strings.Contains(out, "my bike is a blue Gazelle") {
			t.Errorf("forget --list printed %q", out)
		}
		out, _ = mustNook(t, env, "forget", "gazelle")
		if !strings.Contains(out, "forgot") {
			t.Errorf("forget printed %q", out)
		}
		code, _, errs := runNook(t, env, "", "forget", "gazelle")
		if code != 1 || !strings.Contains(errs, "nook: error: ") || !strings.Contains(errs, "nook: hint: ") {
			t.Errorf("forgetting nothing: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("the exported key decrypts every object and nothing is plaintext", func(t *testing.T) {
		out, errs := mustNook(t, env, "vault", "export-key")
		ids, err := age.ParseIdentities(strings.NewReader(out))
		if err != nil {
			t.Fatalf("export-key printed no age identity: %v", err)
		}
		if !strings.Contains(errs, "keep it safe") {
			t.Errorf("no warning on stderr: %q", errs)
		}
		vdir := filepath.Join(env["NOOK_HOME"], "vault")
		n := 0
		filepath.WalkDir(vdir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == "VAULT" || d.Name() == "DEVICE" || d.Name() == "lock" {
				return err
			}
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte("starter")) || bytes.Contains(b, []byte("Gazelle")) {
				t.Errorf("%s holds plaintext", p)
			}
			if strings.Contains(p, string(filepath.Separator)+"objects"+string(filepath.Separator)) {
				r, err := age.Decrypt(bytes.NewReader(b), ids...)
				if err != nil {
					t.Errorf("%s: %v", p, err)
				}
				_ = r
				n++
			}
			return nil
		})
		if n < 5 {
			t.Errorf("%d objects decrypted, want ≥ 5", n)
		}
	})
}

// checkHitShape checks the keys of `nook search --json` (and of ask's
// sources, which add extra).
func checkHitShape(t *testing.T, h map[string]any, extra ...string) {
	t.Helper()
	allowed := map[string]bool{"source": true, "start_line": true, "end_line": true, "score": true, "text": true, "heading": true}
	for _, k := range extra {
		allowed[k] = true
	}
	for k := range h {
		if !allowed[k] {
			t.Errorf("unexpected key %q in %v", k, h)
		}
	}
	src, ok1 := h["source"].(string)
	start, ok2 := h["start_line"].(float64)
	end, ok3 := h["end_line"].(float64)
	_, ok4 := h["score"].(float64)
	text, ok5 := h["text"].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !filepath.IsAbs(src) || start < 1 || end < start || text == "" {
		t.Errorf("bad hit %v", h)
	}
}

func TestWrongPassphraseIsOneErrorAndAHint(t *testing.T) {
	env := vaultCLIEnv(t)
	mustNook(t, env, "init")
	bad := map[string]string{}
	for k, v := range env {
		bad[k] = v
	}
	bad["NOOK_PASSPHRASE"] = "Tr0ub4dor&3"
	for _, args := range [][]string{{"vault", "status"}, {"search", "anything"}, {"add", t.TempDir()}} {
		code, out, errs := runNook(t, bad, "", args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 1 || out != "" || len(lines) != 2 ||
			!strings.HasPrefix(lines[0], "nook: error: ") || !strings.Contains(lines[0], "wrong passphrase") ||
			!strings.HasPrefix(lines[1], "nook: hint: ") {
			t.Errorf("nook %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
		if strings.Contains(errs, "Tr0ub4dor") || strings.Contains(errs, cliPass) {
			t.Errorf("a passphrase appears in the error: %q", errs)
		}
	}
	if _, _, errs := runNook(t, bad, "", "vault", "status"); !strings.Contains(errs, "NOOK_PASSPHRASE does not unlock this vault") {
		t.Errorf("the hint does not name NOOK_PASSPHRASE: %q", errs)
	}
	t.Run("without a vault the hint says to run init, before any model is loaded", func(t *testing.T) {
		e := vaultCLIEnv(t)
		delete(e, "NOOK_EMBED_MODEL")
		delete(e, "NOOK_MODEL")
		e["NOOK_REGISTRY"] = "http://127.0.0.1:1" // a pull would fail loudly
		for _, args := range [][]string{{"vault", "status"}, {"search", "x"}, {"ask", "x"}, {"add", "."}} {
			code, _, errs := runNook(t, e, "", args...)
			if code != 1 || !strings.Contains(errs, "nook: hint: run `nook init` first") {
				t.Errorf("nook %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
			}
		}
	})
}

// The crash test: `nook add` killed with SIGKILL in the middle;
// the vault opens with no problem, keeps every committed document, and
// running `nook add` again completes the rest.
func TestSIGKILLDuringNookAdd(t *testing.T) {
	bin := buildNook(t)
	env := vaultCLIEnv(t)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	nook := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), environ...)
		return c
	}
	if out, err := nook("init").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	const total = 120
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	for i := range total {
		os.WriteFile(filepath.Join(notes, fmt.Sprintf("n%03d.md", i)), fmt.Appendf(nil, "# Note %d\n\nthe unique token tok%03d lives here.\n\nsecond paragraph %d\n", i, i, i), 0o644)
	}
	logDir := ""
	dev, err := os.ReadFile(filepath.Join(env["NOOK_HOME"], "vault", "DEVICE"))
	if err != nil {
		t.Fatal(err)
	}
	logDir = filepath.Join(env["NOOK_HOME"], "vault", "log", strings.TrimSpace(string(dev)))

	add := nook("add", notes)
	var addOut bytes.Buffer
	add.Stdout, add.Stderr = &addOut, &addOut
	if err := add.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- add.Wait() }()
	// Kill it once two batches are in the log (after entry 1, which records
	// the vault's first key epoch; temp files do not count).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ents, _ := os.ReadDir(logDir)
		n := 0
		for _, e := range ents {
			if len(e.Name()) == 16 && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if n >= 3 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("nook add ended before it was killed: %v\n%s", err, addOut.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no log entry after 2 minutes")
		}
	}
	add.Process.Signal(syscall.SIGKILL)
	if err := <-done; err == nil {
		t.Fatalf("nook add finished before the kill:\n%s", addOut.String())
	}

	status := func() (docs int, problems []string) {
		t.Helper()
		out, err := nook("vault", "status", "--json").Output()
		if err != nil {
			t.Fatalf("status after the kill: %v", err)
		}
		var st struct {
			Documents int      `json:"documents"`
			Problems  []string `json:"problems"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatal(err)
		}
		return st.Documents, st.Problems
	}
	committed, problems := status()
	if len(problems) != 0 {
		t.Errorf("problems after the kill: %v", problems)
	}
	if committed < 16 || committed >= total {
		t.Fatalf("%d documents committed before the kill, want between 16 and %d", committed, total-1)
	}
	out, err := nook("search", "--json", "-k", "1", "tok000").Output()
	if err != nil || !strings.Contains(string(out), "n000.md") {
		t.Errorf("a committed note is not found after the kill: %v %s", err, out)
	}
	out, err = nook("add", notes).CombinedOutput()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	want := fmt.Sprintf("added %d, updated 0, unchanged %d,", total-committed, committed)
	if !strings.Contains(string(out), want) {
		t.Errorf("re-run printed %q, want %q", out, want)
	}
	if docs, _ := status(); docs != total {
		t.Errorf("%d documents after the re-run, want %d", docs, total)
	}
}
