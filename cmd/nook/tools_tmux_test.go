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
)

// A plugin granted on a small-context model, as a user meets it: the real
// binary in tmux with stories260K at a 2,048-token context, a vault whose
// notes fill retrieval's share, and the units example plugin added and
// granted "tool". A five-word question is answered (the tools' schemas
// are counted in the prompt budget, so no "N tokens … M fit"), the answer
// streams onto the screen a piece at a time, and no tool-mode JSON shows.
func TestAFiveWordQuestionWithAPluginGrantedOnA2kModelInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run .ci/setup (make test does)")
	}
	bin := buildNook(t)
	env := nookEnv(t, bin)
	var home string
	for _, e := range env {
		if h, ok := strings.CutPrefix(e, "NOOK_HOME="); ok {
			home = h
		}
	}
	run := func(args ...string) string { t.Helper(); return nook(t, bin, env, args...) }

	// Notes enough to fill retrieval's share of the context.
	notes := filepath.Join(home, "more")
	os.MkdirAll(notes, 0o755)
	for i := range 40 {
		text := fmt.Sprintf("# Key %d\n\nThe spare key number %d is kept where the little dog sleeps, under the mat by the door of room %d, and the key opens the shed.\n", i, i, i)
		if err := os.WriteFile(filepath.Join(notes, fmt.Sprintf("key%02d.md", i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("add", notes)

	// A 2,048-token context.
	cfg := filepath.Join(home, "config.toml")
	old, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append([]byte("context_length = 2048\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}

	// The units example plugin, signed, added and granted.
	src := filepath.Join(t.TempDir(), "units")
	os.MkdirAll(src, 0o700)
	prog := testbin.Build(t, "../../plugins/examples/units")
	data, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "units"), data, 0o755)
	tmpl, err := os.ReadFile("../../plugins/examples/units/plugin.toml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "plugin.toml"), tmpl, 0o644)
	key := filepath.Join(t.TempDir(), "publisher.key")
	run("plug", "keygen", key)
	run("plug", "sign", src, "--key", key)
	run("plug", "add", src)
	run("id", "create")
	run("plug", "grant", "units", "tool", "--for", "30d")
	if out := run("plug", "tools"); !strings.Contains(out, "units__convert") {
		t.Fatalf("the granted plugin offers no tool:\n%s", out)
	}

	x := startTmux(t, bin, env)

	x.waitFor(30*time.Second, "stories260K", "vault unlocked", "Ask anything")
	x.run("send-keys", "-t", "nook", "where is the spare key?", "Enter")

	// While it streams, the answer grows on the screen.
	var growing []string
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		screen := x.capture()
		if strings.Contains(screen, "tok/s") {
			break
		}
		if strings.Contains(screen, " fit") || strings.Contains(screen, "error") {
			t.Fatalf("the turn failed:\n%s", screen)
		}
		if strings.Contains(screen, "esc stop answer") {
			if a := answerText(screen); a != "" && (len(growing) == 0 || a != growing[len(growing)-1]) {
				growing = append(growing, a)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	screen := x.waitFor(time.Minute, "tok/s", "enter send")
	t.Logf("after the turn:\n%s", screen)
	for _, bad := range []string{`{"answer"`, `"answer":`, `{"call"`, " fit", "nook: error", "context is full"} {
		if strings.Contains(screen, bad) {
			t.Errorf("the screen shows %q", bad)
		}
	}
	if strings.Contains(screen, "tools are off") {
		t.Errorf("at 2,048 tokens the plugin's tools should fit:\n%s", screen)
	}
	if answerText(screen) == "" {
		t.Fatalf("no answer on the screen:\n%s", screen)
	}
	if len(growing) < 2 {
		t.Fatalf("the answer did not stream: %d distinct partial answers seen (%q)", len(growing), growing)
	}
	t.Logf("%d partial answers seen while streaming", len(growing))
}

// answerText is the text under the last "nook" speaker line of a screen
// (left of the sources panel), up to the status area.
func answerText(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		lines[i], _, _ = strings.Cut(l, "│")
	}
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "nook" {
			start = i + 1
		}
	}
	if start < 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range lines[start:] {
		if strings.Contains(l, "─") || strings.Contains(l, "Ask anything") || strings.Contains(l, "esc stop answer") || strings.Contains(l, "enter send") {
			break
		}
		b.WriteString(strings.TrimSpace(l))
	}
	return b.String()
}
