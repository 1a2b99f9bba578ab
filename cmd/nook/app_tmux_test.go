package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The app's own habits (issue 15, item 12 and "in the app"), with the real
// binary in tmux: the sources panel, $PAGER and $EDITOR, @path, /system and
// /temp, /add's progress and a quit during /add.

// appEnv is nookEnv with more notes, a HOME and a terminal.
func appEnv(t *testing.T, bin string, notes map[string]string) []string {
	t.Helper()
	env := nookEnv(t, bin)
	home := t.TempDir()
	dir := filepath.Join(home, "more")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range notes {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env = append(env, "HOME="+home, "TERM=xterm-256color", "PAGER=", "EDITOR=", "VISUAL=")
	if len(notes) > 0 {
		nook(t, bin, env, "add", dir)
	}
	return env
}

// recorder is a shell script that writes its arguments, one a line, to
// a log file, then runs body.
func recorder(t *testing.T, body string) (script, log string) {
	t.Helper()
	dir := t.TempDir()
	script, log = filepath.Join(dir, "prog"), filepath.Join(dir, "args")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+log+".tmp && mv "+log+".tmp "+log+"\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func readWhenWritten(t *testing.T, p string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within %v", p, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (x tmux) keys(keys ...string) { x.run(append([]string{"send-keys", "-t", "nook"}, keys...)...) }

// exited waits for the app to end.
func (x tmux) exited(d time.Duration) {
	x.t.Helper()
	deadline := time.Now().Add(d)
	for strings.TrimSpace(x.run("display-message", "-p", "-t", "nook", "#{pane_dead}")) != "1" {
		if time.Now().After(deadline) {
			x.t.Fatalf("the app did not quit within %v:\n%s", d, x.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSourcesPanelIsFocusedScrolledAndOpensTheCitedFileInThePager(t *testing.T) {
	bin := buildNook(t)
	env := appEnv(t, bin, map[string]string{
		"garden.md":  "# Garden\n\nTomatoes go in after the last frost.\n",
		"dentist.md": "# Dentist\n\nThe dentist is on Friday at nine.\n",
		"shop.md":    "# Shopping\n\nBuy milk, bread and eggs.\n",
	})
	pager, log := recorder(t, "")
	env = append(env, "PAGER="+pager)
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.keys("/search spare key", "Enter")
	// One passage holds the words; the others only come by meaning.
	screen := x.waitFor(30*time.Second, `1 passage holds the words of "spare key"`, "Search: spare key")
	if regexp.MustCompile(`\d+ passages match`).MatchString(screen) {
		t.Errorf("/search still counts every hit as a match:\n%s", screen)
	}
	x.keys("Tab")
	screen = x.waitFor(10*time.Second, "enter opens", "open in $PAGER")
	// The selected source is the first: home.md, at the line the panel shows.
	m := regexp.MustCompile(`\[1\] \S*home\.md *\n.*?lines? (\d+)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no [1] home.md with its line in the panel:\n%s", screen)
	}
	x.keys("Enter")
	args := readWhenWritten(t, log, 20*time.Second)
	if !strings.HasPrefix(args, "+"+m[1]+"\n") || !strings.HasSuffix(strings.TrimSpace(args), "home.md") {
		t.Errorf("the pager got %q, want +%s and home.md", args, m[1])
	}
	// The app comes back and redraws; down selects the next source.
	x.waitFor(20*time.Second, "Search: spare key", "open in $PAGER")
	os.Remove(log)
	x.keys("Down", "Enter")
	args = readWhenWritten(t, log, 20*time.Second)
	if strings.HasSuffix(strings.TrimSpace(args), "home.md") {
		t.Errorf("down did not move to the next source: the pager got %q", args)
	}
	x.waitFor(20*time.Second, "Search: spare key")
	x.keys("Escape")
	time.Sleep(300 * time.Millisecond)
	x.keys("C-d")
	x.exited(20 * time.Second)
}

func TestCtrlEEditsThePromptAndAtPathAttachesAFile(t *testing.T) {
	bin := buildNook(t)
	env := appEnv(t, bin, nil)
	editor, log := recorder(t, `printf 'what does the lease say' > "$1"`)
	env = append(env, "EDITOR="+editor)
	lease := filepath.Join(t.TempDir(), "lease.txt")
	if err := os.WriteFile(lease, []byte("The deposit is 900 euros.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.keys("-l", "draft")
	x.keys("C-e")
	if args := readWhenWritten(t, log, 20*time.Second); !strings.Contains(args, "nook-prompt-") {
		t.Errorf("the editor got %q, want the prompt's file", args)
	}
	x.waitFor(20*time.Second, "› what does the lease say")
	x.keys("-l", " in @"+lease)
	x.keys("Enter")
	// (The long temporary path wraps on the screen.)
	x.waitFor(30*time.Second, "lease.txt (26 bytes)", "what does the lease say in")
	x.waitFor(5*time.Minute, "tok/s", "enter send")
	x.keys("-l", "and @"+filepath.Join(t.TempDir(), "gone.txt"))
	x.keys("Enter")
	x.waitFor(30*time.Second, "not attached: no such file or directory")
}

func TestSystemAndTempShowInTheStatusBarAndHelp(t *testing.T) {
	bin := buildNook(t)
	env := appEnv(t, bin, nil)
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.keys("/temp 7", "Enter")
	x.waitFor(10*time.Second, "/temp 7: not a temperature", "usage: /temp N")
	x.keys("/temp 0.3", "Enter")
	x.keys("/system answer in one line", "Enter")
	x.waitFor(10*time.Second, "temp 0.3 · system set", "system prompt set for this session: answer in one line")
	x.keys("hello", "Enter")
	x.waitFor(5*time.Minute, "tok/s", "enter send")
	x.keys("F1")
	x.waitFor(10*time.Second, "/system [TEXT|off]", "/temp [N|off]", "ctrl+e", "focus sources")
}

func TestAddShowsProgressAndAQuitKeepsTheFilesDone(t *testing.T) {
	bin := buildNook(t)
	env := appEnv(t, bin, nil)
	notes := filepath.Join(t.TempDir(), "many")
	if err := os.MkdirAll(notes, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	for i := range n {
		text := fmt.Sprintf("# Note %d\n\nNote number %d says the meeting room is %d.\n", i, i, i%40)
		if err := os.WriteFile(filepath.Join(notes, fmt.Sprintf("n%04d.md", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x := startTmux(t, bin, env)
	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.keys("/add "+notes, "Enter")
	screen := x.waitFor(2*time.Minute, fmt.Sprintf("/%d files", n))
	if !regexp.MustCompile(`adding \d+/1500 files · n\d{4}\.md`).MatchString(screen) {
		t.Errorf("no progress in the status bar:\n%s", screen)
	}
	// The quit stops the /add at the next file and waits for what is done
	// to be written ("stopping /add" shows meanwhile, often too briefly to
	// read), then the app exits cleanly.
	x.keys("C-d")
	x.exited(2 * time.Minute)
	if st := strings.TrimSpace(x.run("display-message", "-p", "-t", "nook", "#{pane_dead_status}")); st != "0" && st != "" {
		t.Errorf("exit status %s after quitting during /add:\n%s", st, x.capture())
	}
	out := nook(t, bin, env, "ls")
	kept := strings.Count(out, "/many/n")
	if kept == 0 {
		t.Fatalf("nothing of the /add was kept after the quit:\n%s", out)
	}
	t.Logf("kept %d of %d files after quitting during /add", kept, n)
}
