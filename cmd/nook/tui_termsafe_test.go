package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/remote/remotetest"
)

// In the terminal app, escape sequences in a note, its file name and the
// model's answer are shown as placeholders: tmux (which obeys OSC 0 and
// OSC 52 from a program, as the control pane shows) gets neither a new
// pane title nor a clipboard buffer from them.
func TestTUIShowsEscapeSequencesAsPlaceholders(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run .ci/setup (make test does)")
	}
	const osc52, title = "\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07"
	srv := remotetest.NewOllama(t, enginetest.New(enginetest.Reply{Tokens: []string{"Sam", " " + osc52[:3], osc52[3:], " " + title, " done"}}), "chatty")
	bin := buildNook(t)
	home := t.TempDir()
	env := []string{"NOOK_HOME=" + home, "NOOK_PASSPHRASE=" + cliPass}
	cfg := fmt.Sprintf("[remote]\nkind = \"ollama\"\nurl = %q\nmodel = \"chatty\"\n", srv.URL)
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "evil"+title+".md"), []byte("# Clipboard "+title+"\n\nthe zanzibar clipboard "+osc52+" trick\n"), 0o644)
	for _, args := range [][]string{{"init"}, {"add", notes}} {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), env...)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("nook %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	x := tmux{t: t, socket: fmt.Sprintf("nook-termsafe-%d", os.Getpid())}
	t.Cleanup(func() { exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	// The control: a program that prints the sequences raw sets both.
	x.run("new-session", "-d", "-s", "control", "-x", "80", "-y", "24", "sh", "-c", `printf '\033]0;pwned\007\033]52;c;cHduZWQ=\007'; sleep 30`)
	x.run("set-option", "-g", "set-clipboard", "on")
	x.run("set-option", "-g", "remain-on-exit", "on")
	x.run("respawn-pane", "-k", "-t", "control", "sh", "-c", `printf '\033]0;pwned\007\033]52;c;cHduZWQ=\007'; sleep 30`)
	deadline := time.Now().Add(10 * time.Second)
	for strings.TrimSpace(x.run("display-message", "-p", "-t", "control", "#{pane_title}")) != "pwned" || !strings.Contains(x.run("list-buffers"), "pwned") {
		if time.Now().After(deadline) {
			t.Fatalf("tmux does not obey the raw sequences (title %q, buffers %q): the test cannot show anything",
				x.run("display-message", "-p", "-t", "control", "#{pane_title}"), x.run("list-buffers"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.run("delete-buffer")

	args := []string{"new-session", "-d", "-s", "nook", "-x", "120", "-y", "40"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	x.run(append(args, bin)...)
	x.waitFor(30*time.Second, "chatty", "vault unlocked", "Ask anything")
	x.run("send-keys", "-t", "nook", "/search zanzibar", "Enter")
	x.waitFor(30*time.Second, "evil␛]0;pwned␇.md", "␛]52;c;cHduZWQ=␇ trick") // the snippet wraps before the sequence
	x.run("send-keys", "-t", "nook", "what about zanzibar?", "Enter")
	// The answer, and (the first time this server is used, with the first
	// turn: the app owns the screen while the model loads) what it receives.
	screen := x.waitFor(30*time.Second, "Sam ␛]52;c;cHduZWQ=␇ ␛]0;pwned␇ done", "using the ollama server at", "enter send")
	if got := strings.TrimSpace(x.run("display-message", "-p", "-t", "nook", "#{pane_title}")); got == "pwned" {
		t.Errorf("the pane title was set from the vault or the model:\n%s", screen)
	}
	if bufs := x.run("list-buffers"); strings.TrimSpace(bufs) != "" {
		t.Errorf("the clipboard (OSC 52) was set: %q\n%s", bufs, screen)
	}
	x.run("send-keys", "-t", "nook", "/quit", "Enter")
	for deadline := time.Now().Add(30 * time.Second); strings.TrimSpace(x.run("display-message", "-p", "-t", "nook", "#{pane_dead}")) != "1"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nook did not quit:\n%s", x.capture())
		}
	}
	if seen, err := os.ReadFile(filepath.Join(home, "remote-seen")); err != nil || !strings.Contains(string(seen), srv.URL) {
		t.Errorf("the notice shown in the app is not remembered: %q, %v", seen, err)
	}
}
