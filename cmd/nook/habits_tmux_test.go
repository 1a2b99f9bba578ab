package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/testmodels"
)

// Commands a daily user types, run by the real binary in tmux and read off
// the screen.

// shellEnv is a fresh NOOK_HOME with a vault, for commands run in tmux.
func shellEnv(t *testing.T, bin string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "NOOK_HOME=" + filepath.Join(home, "nook"), "NOOK_PASSPHRASE=correct horse",
		"OLLAMA_MODELS=" + t.TempDir(), "NOOK_REGISTRY=http://127.0.0.1:1", "TERM=xterm-256color", "PS1=$ "}
	nook(t, bin, env, "init")
	return env
}

// nook runs the binary without a terminal and returns its output.
func nook(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("nook %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestForgetMatchesWholeWordsAndAsksFirst(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	for _, f := range []string{"the spare key is under the blue mat", "plan e is the train", "dentist on friday"} {
		nook(t, bin, env, "remember", f)
	}
	x := startTmux(t, bin, env, "forget", "e")
	x.waitFor(20*time.Second, `1 fact(s) hold "e"`, "plan e is the train", "forget and erase 1 fact? [y/N]")
	if s := x.capture(); strings.Contains(s, "spare key") || strings.Contains(s, "dentist") {
		t.Errorf("\"e\" matched facts that only contain the letter:\n%s", s)
	}
	x.run("send-keys", "-t", "nook", "n", "Enter")
	x.waitFor(10*time.Second, "kept them all")
	if out := nook(t, bin, env, "forget", "--list"); strings.Count(out, "\n") != 3 {
		t.Fatalf("after answering no:\n%s", out)
	}

	x = startTmux(t, bin, env, "forget", "the")
	x.waitFor(20*time.Second, `2 fact(s) hold "the"`, "spare key", "plan e", "forget and erase 2 facts? [y/N]")
	x.run("send-keys", "-t", "nook", "y", "Enter")
	x.waitFor(10*time.Second, "forgot", "erased")
	if out := nook(t, bin, env, "forget", "--list"); !strings.Contains(out, "dentist") || strings.Count(out, "\n") != 1 {
		t.Fatalf("after answering yes:\n%s", out)
	}

	// Without a terminal one match goes; several are refused unless --yes.
	nook(t, bin, env, "remember", "green tea in the morning")
	nook(t, bin, env, "remember", "tea at five")
	c := exec.Command(bin, "forget", "tea")
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no terminal to confirm") || !strings.Contains(string(out), "--yes") {
		t.Fatalf("forget without a terminal: %v\n%s", err, out)
	}
	if out := nook(t, bin, env, "forget", "--yes", "tea"); strings.Count(out, "forgot") != 2 {
		t.Fatalf("forget --yes: %s", out)
	}
	if out := nook(t, bin, env, "forget", "dentist"); !strings.Contains(out, "forgot") {
		t.Fatalf("forget one without a terminal: %s", out)
	}
}

func TestAnAnswerCutAtItsLimitSaysSo(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_MODEL="+model, "NOOK_EMBED_MODEL="+model)
	home := strings.TrimPrefix(env[1], "NOOK_HOME=")
	// 64 tokens of answer (a quarter of the context): stories260K runs on.
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte("context_length = 256\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked")
	x.run("send-keys", "-t", "nook", "-l", "Once upon a time")
	x.run("send-keys", "-t", "nook", "Enter")
	screen := x.waitFor(2*time.Minute, "cut off at the answer's length limit", "enter send")
	t.Logf("a cut answer in the app:\n%s", screen)

	x = startTmux(t, bin, env, "run", "-n", "8", "-p", "Once upon a time")
	x.waitFor(time.Minute, "nook: answer cut off at its length limit (8 tokens)")
}

func TestTheHabitsOfOllamaAndLlmUsersWork(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_EMBED_MODEL="+model)
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "home.md"), []byte("# Home\n\nThe spare key is under the blue mat by the door.\n"), 0o644)
	nook(t, bin, env, "add", notes)

	// `nook --help` says what bare `nook` does.
	if out := nook(t, bin, env, "--help"); !strings.Contains(out, "Run 'nook' with no command to open the app") || !strings.Contains(out, "nook -c") {
		t.Errorf("--help:\n%s", out)
	}
	// `nook models import` and `nook import` both exist.
	if out := nook(t, bin, env, "models", "import", "--name", "tiny", model); !strings.Contains(out, "tiny") {
		t.Errorf("models import: %s", out)
	}
	// The name may follow the file, as `ollama create` users type it.
	if out := nook(t, bin, env, "models", "import", model, "tiny2"); !strings.Contains(out, "tiny2") {
		t.Errorf("models import FILE NAME: %s", out)
	}
	if out := nook(t, bin, env, "models", "ls"); !strings.Contains(out, "tiny2") {
		t.Errorf("models ls after import FILE NAME:\n%s", out)
	}
	two := exec.Command(bin, "models", "import", model, "a", "--name", "b")
	two.Env = append(os.Environ(), env...)
	if out, err := two.CombinedOutput(); err == nil || !strings.Contains(string(out), "give the name once") {
		t.Errorf("two different names: %v\n%s", err, out)
	}

	// nook run MODEL PROMPT, as ollama run.
	x := startTmux(t, bin, env, "run", model, "Once upon a time", "-n", "12", "--temp", "0", "-v")
	x.waitFor(time.Minute, "decode: 12 tokens", "prompt:")

	// Piped text follows the -p prompt: the prompt grows by the file.
	sh := func(cmdline string) string {
		c := exec.Command("sh", "-c", cmdline)
		c.Env = append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		return string(out)
	}
	alone := sh(bin + " run " + model + " -p Summarise: -n 1 -v </dev/null")
	piped := sh("cat " + filepath.Join(notes, "home.md") + " | " + bin + " run " + model + " -p Summarise: -n 1 -v")
	if promptTokens(t, piped) <= promptTokens(t, alone)+10 {
		t.Errorf("the piped file did not reach the prompt:\nalone: %s\npiped: %s", alone, piped)
	}

	// nook ask reads stdin; -c continues the last session; `nook -c`
	// opens the app on it.
	env = append(env, "NOOK_MODEL="+model)
	out := sh("echo where is the spare key | " + bin + " ask")
	if !strings.Contains(out, "home.md") {
		t.Errorf("ask from stdin: %s", out)
	}
	sh(bin + " ask -c and the back door")
	x = startTmux(t, bin, env, "-c")
	x.waitFor(30*time.Second, "resumed", "(4 messages)", "where is the spare key", "and the back door")
}

// promptTokens reads "prompt: N tokens" from -v output.
func promptTokens(t *testing.T, out string) int {
	t.Helper()
	_, rest, ok := strings.Cut(out, "prompt: ")
	var n int
	if !ok {
		t.Fatalf("no prompt line in %q", out)
	}
	fmt.Sscanf(rest, "%d", &n)
	return n
}

func TestSessionsAndDocumentsCanBeListedRenamedExportedAndRemoved(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_MODEL="+model, "NOOK_EMBED_MODEL="+model)
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "home.md"), []byte("# Home\n\nThe spare key is under the blue mat by the door.\n"), 0o644)
	nook(t, bin, env, "add", "--tag", "house", notes)
	if out := nook(t, bin, env, "ls"); !strings.Contains(out, "home.md") || !strings.Contains(out, "house") {
		t.Errorf("nook ls:\n%s", out)
	}
	if out := nook(t, bin, env, "ls", "--json"); !strings.Contains(out, `"source":"`+filepath.Join(notes, "home.md")) {
		t.Errorf("nook ls --json:\n%s", out)
	}
	nook(t, bin, env, "ask", "where is the spare key?")
	var ss []struct{ ID, Title string }
	if err := json.Unmarshal([]byte(nook(t, bin, env, "sessions", "ls", "--json")), &ss); err != nil || len(ss) != 1 || ss[0].Title != "where is the spare key?" {
		t.Fatalf("sessions ls --json: %+v, %v", ss, err)
	}
	id := ss[0].ID
	if out := nook(t, bin, env, "sessions", "rename", id[:6], "Keys"); !strings.Contains(out, `→ "Keys"`) {
		t.Errorf("rename: %s", out)
	}
	if out := nook(t, bin, env, "sessions", "export", id, "--format", "md"); !strings.HasPrefix(out, "# Keys\n") || !strings.Contains(out, "## You\n\nwhere is the spare key?") {
		t.Errorf("export md:\n%s", out)
	}
	if out := nook(t, bin, env, "sessions", "export", id, "--format", "json"); !strings.Contains(out, `"title":"Keys"`) {
		t.Errorf("export json:\n%s", out)
	}
	if out := nook(t, bin, env, "sessions", "rm", id); !strings.Contains(out, "removed "+id) || !strings.Contains(out, "erased") {
		t.Errorf("rm: %s", out)
	}
	if out := nook(t, bin, env, "sessions"); strings.Contains(out, id) {
		t.Errorf("after rm:\n%s", out)
	}
	// Completion offers the models: installed, then the catalog.
	if out := nook(t, bin, env, "__complete", "run", ""); !strings.Contains(out, "qwen2.5:0.5b\tdownload") {
		t.Errorf("completion of run:\n%s", out)
	}
}

func TestTheOpenAppSeesWhatAnotherShellAdds(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_MODEL="+model, "NOOK_EMBED_MODEL="+model)
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked")

	// Another shell adds a note and a fact while the app is open.
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "boiler.md"), []byte("# Boiler\n\nThe boiler service code is 4411.\n"), 0o644)
	nook(t, bin, env, "add", notes)
	nook(t, bin, env, "remember", "the bins go out on tuesday")
	time.Sleep(time.Second)
	x.run("send-keys", "-t", "nook", "-l", "/search boiler service code")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "passage", "boiler.md")
	x.run("send-keys", "-t", "nook", "-l", "/forget")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "the bins go out on tuesday")
	// And the CLI still works beside the open app.
	if out := nook(t, bin, env, "forget", "--list"); !strings.Contains(out, "bins") {
		t.Errorf("forget --list beside the app: %s", out)
	}
}

func TestCtrlCTwiceWhileStreamingStopsAndCtrlZSuspends(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	model := testmodels.Path(t, testmodels.Stories260K)
	env = append(env, "NOOK_MODEL="+model, "NOOK_EMBED_MODEL="+model)
	env = append(env, "HISTFILE=/dev/null")
	// The app runs under a shell, so job control (ctrl+z, fg) is real.
	x := startTmux(t, "bash", env, "--norc", "--noprofile", "-i")
	x.run("send-keys", "-t", "nook", "-l", bin)
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(30*time.Second, "stories260K", "vault unlocked")
	x.run("send-keys", "-t", "nook", "-l", "Once upon a time")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(30*time.Second, "esc stop answer")
	x.run("send-keys", "-t", "nook", "C-c")
	x.run("send-keys", "-t", "nook", "C-c")
	time.Sleep(time.Second)
	screen := x.waitFor(10*time.Second, "enter send")
	if !strings.Contains(screen, "press ctrl+c again to quit") && !strings.Contains(screen, "(stopped)") {
		t.Errorf("after ctrl+c twice while streaming:\n%s", screen)
	}
	// ctrl+z gives the shell back; fg redraws the app.
	x.run("send-keys", "-t", "nook", "C-z")
	x.waitFor(10*time.Second, "Stopped")
	x.run("send-keys", "-t", "nook", "-l", "fg")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "stories260K", "enter send", "Once upon a time")
	// A stop from outside (kill -TSTP) too.
	pid := strings.TrimSpace(string(must(exec.Command("pgrep", "-n", "-f", bin).Output())))
	exec.Command("kill", "-TSTP", pid).Run()
	x.waitFor(10*time.Second, "Stopped")
	x.run("send-keys", "-t", "nook", "-l", "fg")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "stories260K", "enter send", "Once upon a time")
	x.run("send-keys", "-t", "nook", "C-d")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exec.Command("kill", "-0", pid).Run() != nil {
			return // exited: the home can be removed
		}
	}
	t.Errorf("nook did not exit after ctrl+d:\n%s", x.capture())
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
