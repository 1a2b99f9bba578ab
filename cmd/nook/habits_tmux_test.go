package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	x.waitFor(20*time.Second, `1 fact(s) hold "e"`, "plan e is the train", "forget and erase this fact? [y/N]")
	if s := x.capture(); strings.Contains(s, "spare key") || strings.Contains(s, "dentist") {
		t.Errorf("\"e\" matched facts that only contain the letter:\n%s", s)
	}
	x.run("send-keys", "-t", "nook", "n", "Enter")
	x.waitFor(10*time.Second, "kept them all")
	if out := nook(t, bin, env, "forget", "--list"); strings.Count(out, "\n") != 3 {
		t.Fatalf("after answering no:\n%s", out)
	}

	x = startTmux(t, bin, env, "forget", "the")
	x.waitFor(20*time.Second, `2 fact(s) hold "the"`, "spare key", "plan e", "forget and erase these 2 facts? [y/N]")
	x.run("send-keys", "-t", "nook", "y", "Enter")
	x.waitFor(10*time.Second, "forgot", "erased")
	if out := nook(t, bin, env, "forget", "--list"); !strings.Contains(out, "dentist") || strings.Count(out, "\n") != 1 {
		t.Fatalf("after answering yes:\n%s", out)
	}

	// Without a terminal a text match is refused unless --yes.
	c := exec.Command(bin, "forget", "dentist")
	c.Env = append(os.Environ(), env...)
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no terminal to confirm") || !strings.Contains(string(out), "--yes") {
		t.Fatalf("forget without a terminal: %v\n%s", err, out)
	}
	if out := nook(t, bin, env, "forget", "--yes", "dentist"); !strings.Contains(out, "forgot") {
		t.Fatalf("forget --yes: %s", out)
	}
}
