package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/testbin"
	"github.com/nook-ai/nook/internal/testmodels"
)

// The terminal app, as a user meets it: the real binary in tmux, one turn
// against a real small model, the session saved and listed, /quit.

// buildNook builds cmd/nook once per test process (CGO flags come from
// `make test`, or export them as the Makefile does).
func buildNook(tb testing.TB) string { return testbin.Build(tb, ".") }

// nookEnv is a fresh NOOK_HOME with an initialised vault holding one note,
// and the real small model for chat and embeddings.
func nookEnv(tb testing.TB, bin string) []string {
	tb.Helper()
	model := testmodels.Path(tb, testmodels.Stories260K)
	home := tb.TempDir()
	env := []string{"NOOK_HOME=" + home, "NOOK_PASSPHRASE=correct horse", "NOOK_MODEL=" + model, "NOOK_EMBED_MODEL=" + model}
	notes := filepath.Join(home, "notes")
	if err := os.MkdirAll(notes, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notes, "home.md"), []byte("# Home\n\nThe spare key is under the blue mat by the door.\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	for _, args := range [][]string{{"init"}, {"add", notes}} {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), env...)
		if out, err := c.CombinedOutput(); err != nil {
			tb.Fatalf("nook %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return env
}

type tmux struct {
	t      *testing.T
	socket string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (x tmux) capture() string { return x.run("capture-pane", "-p", "-t", "nook") }

// waitFor polls the pane until it holds every string.
func (x tmux) waitFor(d time.Duration, want ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(d)
	for {
		screen := x.capture()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("after %v the pane lacks %q:\n%s", d, want, screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTUIInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run .ci/setup (make test does)")
	}
	bin := buildNook(t)
	env := nookEnv(t, bin)
	x := tmux{t: t, socket: fmt.Sprintf("nook-test-%d", os.Getpid())}
	args := []string{"new-session", "-d", "-s", "nook", "-x", "80", "-y", "24"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	x.run(append(args, bin)...)
	t.Cleanup(func() { exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	x.run("set-option", "-t", "nook", "remain-on-exit", "on")

	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.run("send-keys", "-t", "nook", "where is the spare key?", "Enter")
	x.waitFor(30*time.Second, "you", "where is the spare key?", "nook", "esc stop answer")
	// The whole answer (up to 512 tokens: seconds on an idle machine).
	screen := x.waitFor(5*time.Minute, "tok/s", "Sources (1)", "home.md", "enter send")
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "llama") || strings.Contains(l, "ggml") {
			t.Errorf("a log line reached the screen: %q", l)
		}
	}
	t.Logf("after one turn:\n%s", screen)

	// The turn was saved in the vault: /sessions lists it.
	x.run("send-keys", "-t", "nook", "/sessions", "Enter")
	x.waitFor(30*time.Second, "Resume a session", "where is the spare key?", "2 messages")
	x.run("send-keys", "-t", "nook", "Escape")
	// A key right after Esc reads as Alt+key: let the Esc stand alone.
	time.Sleep(500 * time.Millisecond)
	x.waitFor(10*time.Second, "Ask anything")
	x.run("send-keys", "-t", "nook", "/quit", "Enter")
	// /quit ends the process cleanly: exit status 0 and no error on the
	// screen. tmux sometimes marks the pane dead without recording the
	// status (it saw the terminal close and has not reaped the process);
	// then the process must have exited and the screen be free of errors.
	pid := strings.TrimSpace(x.run("display-message", "-p", "-t", "nook", "#{pane_pid}"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := strings.Fields(x.run("display-message", "-p", "-t", "nook", "#{pane_dead} #{pane_dead_status}"))
		state, _ := exec.Command("ps", "-o", "stat=", "-p", pid).Output()
		gone := len(strings.TrimSpace(string(state))) == 0 || strings.HasPrefix(strings.TrimSpace(string(state)), "Z") // exited (a zombie until tmux reaps it)
		switch {
		case len(st) == 2 && st[0] == "1" && st[1] == "0":
			return
		case len(st) == 2 && st[0] == "1":
			t.Fatalf("after /quit: exit status %s\n%s", st[1], x.capture())
		case len(st) == 1 && st[0] == "1" && gone:
			if screen := x.capture(); strings.Contains(screen, "nook: error") || strings.Contains(screen, "panic") {
				t.Fatalf("after /quit:\n%s", screen)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after /quit: pane %v, process gone %v\n%s", st, gone, x.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
