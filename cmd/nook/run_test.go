package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testmodels"
)

// runNook runs the CLI in-process with its own NOOK_HOME and streams.
func runNook(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["NOOK_HOME"]; !ok {
		env["NOOK_HOME"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code = execute(context.Background(), c, args)
	return code, out.String(), errb.String()
}

func TestRunStreamsAnAnswer(t *testing.T) {
	model := testmodels.Path(t, testmodels.Stories260K)
	code, out, errs := runNook(t, nil, "", "run", "-m", model, "-p", "Once upon a time", "-n", "20", "--temp", "0", "--seed", "3", "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if len(strings.Fields(out)) < 5 {
		t.Fatalf("stdout %q", out)
	}
	for _, want := range []string{"prompt:", "decode: 20 tokens", "first token:", "loaded in"} {
		if !strings.Contains(errs, want) {
			t.Errorf("-v output lacks %q:\n%s", want, errs)
		}
	}
	// The same seed at temperature 0 prints the same text.
	_, again, _ := runNook(t, nil, "", "run", "-m", model, "-p", "Once upon a time", "-n", "20", "--temp", "0", "--seed", "3")
	if again != out {
		t.Fatalf("not repeatable:\n%q\n%q", out, again)
	}
}

func TestRunReadsThePromptFromStdin(t *testing.T) {
	model := testmodels.Path(t, testmodels.Stories260K)
	code, out, errs := runNook(t, map[string]string{"NOOK_MODEL": model}, "The little dog\n", "run", "-n", "10", "--temp", "0")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
	code, _, errs = runNook(t, map[string]string{"NOOK_MODEL": model}, "  \n", "run")
	if code != 1 || !strings.Contains(errs, "empty prompt") {
		t.Fatalf("empty stdin: exit %d, %q", code, errs)
	}
}

func TestRunRefusesBadModelsWithOneLineAndAHint(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(testmodels.Path(t, testmodels.Stories260K))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "half.gguf")
	os.WriteFile(trunc, good[:len(good)/3], 0o644)
	foreign := filepath.Join(dir, "notes.gguf")
	os.WriteFile(foreign, []byte("# my notes\nnot a model\n"), 0o644)
	// A name that is not installed is pulled (as `ollama run` does): from
	// a registry that has no such model.
	var asked atomic.Int32
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer reg.Close()
	for _, tc := range []struct{ name, model, says string }{
		{"a missing file", filepath.Join(dir, "nope.gguf"), "not found"},
		{"a truncated file", trunc, "truncated"},
		{"a foreign file", foreign, "not GGUF"},
		{"a vocabulary-only file", testmodels.Path(t, testmodels.VocabPhi3), "no weights"},
		{"an unknown name", "no-such-model:7b", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"NOOK_REGISTRY": reg.URL, "OLLAMA_MODELS": t.TempDir()}
			code, out, errs := runNook(t, env, "", "run", "-m", tc.model, "-p", "hi")
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if code != 1 || out != "" || len(lines) != 2 {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if !strings.HasPrefix(lines[0], "nook: error: ") || !strings.Contains(lines[0], tc.says) || !strings.HasPrefix(lines[1], "nook: hint: ") {
				t.Fatalf("stderr %q", errs)
			}
		})
	}
	if asked.Load() == 0 {
		t.Error("the unknown name was not looked up in the registry")
	}
}

// Without a model configured or installed, nook says what to do and
// downloads nothing.
func TestNoModelIsPulledThatNobodyNamed(t *testing.T) {
	var asked atomic.Int32
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer reg.Close()
	env := map[string]string{"NOOK_REGISTRY": reg.URL, "OLLAMA_MODELS": t.TempDir(), "NOOK_PASSPHRASE": "pw"}
	code, out, errs := runNook(t, env, "", "run", "-p", "hi")
	if code != 1 || out != "" || !strings.Contains(errs, "no model configured or installed") || !strings.Contains(errs, "nook: hint: run `nook pull") {
		t.Fatalf("run with no model: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	mustNook(t, env, "init")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "note.md"), []byte("# Note\n\nthe tax deadline is in April\n"), 0o644)
	_, errs = mustNook(t, env, "add", dir)
	if !strings.Contains(errs, "search is lexical only") {
		t.Errorf("add without an embedding model does not say search is lexical: %q", errs)
	}
	out, _ = mustNook(t, env, "search", "tax deadline")
	if !strings.Contains(out, "note.md") {
		t.Errorf("lexical search: %q", out)
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("the registry was asked %d times", n)
	}
}

func TestDoctorReportsTheSetUp(t *testing.T) {
	model := testmodels.Path(t, testmodels.Stories260K)
	code, out, errs := runNook(t, map[string]string{"NOOK_MODEL": model}, "", "doctor")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"backends", "CPU", "models run on CPU", "chat model", "llama, 292.8K params", "vault"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if kernel := strings.Contains(out, "Q8_0 batches: nook's AVX-512 kernel"); kernel != llama.Q8Kernel() {
		t.Errorf("doctor tells of the Q8_0 kernel: %v; the engine runs it: %v\n%s", kernel, llama.Q8Kernel(), out)
	}
	code, out, _ = runNook(t, map[string]string{"NOOK_MODEL": "/does/not/exist.gguf"}, "", "doctor")
	if code != 1 || !strings.Contains(out, "chat model") {
		t.Fatalf("a missing model should be a doctor problem: exit %d\n%s", code, out)
	}
}

func TestBadConfigIsAClearError(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config.toml"), []byte("threads = \"many\"\n"), 0o600)
	code, _, errs := runNook(t, map[string]string{"NOOK_HOME": home}, "", "doctor")
	if code != 1 || !strings.Contains(errs, "config.toml") || !strings.Contains(errs, "nook: hint:") {
		t.Fatalf("exit %d: %q", code, errs)
	}
}
