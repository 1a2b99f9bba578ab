package tui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/tuitest"
)

// fakeProgram writes a shell script that records its arguments in a file
// and returns the script and that file.
func fakeProgram(t *testing.T, body string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "args")
	script := filepath.Join(dir, "prog")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+log+"\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func waitFile(t *testing.T, p string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s was not written within 10s", p)
	return ""
}

func searchSources(dir string) []tui.Source {
	var ss []tui.Source
	for i := range 6 {
		p := filepath.Join(dir, "note"+string(rune('a'+i))+".md")
		os.WriteFile(p, []byte(strings.Repeat("line\n", 40)), 0o600)
		ss = append(ss, tui.Source{N: i + 1, Path: p, StartLine: 10 + i, EndLine: 12 + i, Cited: true, Words: i == 0,
			Text: "The deposit of " + string(rune('A'+i)) + " is returned after the lease ends, minus the cost of repairs that the landlord lists in writing."})
	}
	return ss
}

// Not parallel: the tests set $PAGER and $EDITOR.
func TestTheSourcesPanelIsFocusedScrolledAndOpensTheFileInThePager(t *testing.T) {
	b := tuitest.New()
	b.Sources = searchSources(t.TempDir())
	pager, log := fakeProgram(t, "")
	t.Setenv("PAGER", pager)
	tm := start(t, b, 120, 30, tui.Options{})
	ready(t, tm)
	typeLine(tm, "/search deposit")
	waitFor(t, tm, `1 passage holds the words of "deposit", 5 more are near in meaning`, "lease ends, minus the cost")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitFor(t, tm, "enter opens", "open in $PAGER")
	for range 3 {
		tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	args := waitFile(t, log)
	want := "+13\n" + b.Sources[3].Path + "\n"
	if args != want {
		t.Errorf("pager got %q, want %q", args, want)
	}
	// Back in the app: tab returns to the prompt, which takes text again.
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	tm.Type("hello")
	waitFor(t, tm, "hello")
}

func TestAFocusedPanelPagesDownToTheLastSource(t *testing.T) {
	b := tuitest.New()
	b.Sources = searchSources(t.TempDir())
	tm := start(t, b, 120, 16, tui.Options{})
	ready(t, tm)
	typeLine(tm, "/search deposit")
	waitFor(t, tm, "Search: deposit (6)")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	for range 6 {
		tm.Send(tea.KeyMsg{Type: tea.KeyPgDown})
	}
	waitFor(t, tm, "[6] ", "deposit of F")
	v := finalView(t, tm)
	if strings.Contains(v, "[1] ") {
		t.Errorf("the panel did not scroll past [1]:\n%s", v)
	}
	checkSize(t, v, 120, 16)
}

func TestCtrlEEditsThePromptInTheEditor(t *testing.T) {
	editor, log := fakeProgram(t, `printf 'written in the editor' > "$1"`)
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", editor)
	tm := start(t, tuitest.New(), 80, 20, tui.Options{})
	ready(t, tm)
	tm.Type("draft")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlE})
	if args := waitFile(t, log); !strings.Contains(args, "nook-prompt-") {
		t.Errorf("editor got %q, want the prompt's temporary file", args)
	}
	waitFor(t, tm, "written in the editor")
	finalView(t, tm)
}

func TestAtPathAttachesTheFileToTheQuestion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "lease.txt")
	os.WriteFile(p, []byte("deposit: 900 euros"), 0o600)
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, []byte(strings.Repeat("x", 40<<10)), 0o600)
	b := tuitest.New()
	tm := start(t, b, 100, 24, tui.Options{})
	ready(t, tm)
	typeLine(tm, "what is the deposit in @"+p+" and @"+big+" and @"+filepath.Join(dir, "gone.md"))
	waitFor(t, tm, "attached "+p, "attached the first 16 KB of "+big, "gone.md not attached: no such file")
	waitSaved(t, b)
	turns := b.Turns()
	if len(turns) != 1 || !strings.Contains(turns[0].Text, "File "+p+":\n```\ndeposit: 900 euros\n```") {
		t.Fatalf("the model got %+v", turns)
	}
	if x := strings.Repeat("x", 16<<10); !strings.Contains(turns[0].Text, x+"\n```") || strings.Contains(turns[0].Text, x+"x") {
		t.Errorf("the big file did not give exactly its first %d bytes", 16<<10)
	}
}

func TestSystemAndTempGoWithEveryTurnAndShowInTheStatusBar(t *testing.T) {
	t.Parallel()
	b := tuitest.New()
	tm := start(t, b, 120, 24, tui.Options{})
	ready(t, tm)
	typeLine(tm, "/temp 3")
	waitFor(t, tm, "/temp 3: not a temperature")
	typeLine(tm, "/temp 0.2")
	typeLine(tm, "/system answer in French")
	waitFor(t, tm, "temp 0.2 · system set", "system prompt set for this session: answer in French")
	typeLine(tm, "bonjour")
	waitSaved(t, b)
	in := b.Turns()[0]
	if in.System != "answer in French" || in.Temperature == nil || *in.Temperature != 0.2 {
		t.Errorf("turn got system %q temperature %v", in.System, in.Temperature)
	}
}

func TestQuittingDuringAddWaitsForTheFilesItFinished(t *testing.T) {
	t.Parallel()
	b := tuitest.New()
	stopped := make(chan struct{})
	b.AddFn = func(ctx context.Context, paths []string) (string, error) {
		<-ctx.Done() // a long /add, stopped by the quit
		close(stopped)
		return "stopped: added 3 files", nil
	}
	tm := start(t, b, 100, 24, tui.Options{})
	ready(t, tm)
	typeLine(tm, "/add ~/notes")
	waitFor(t, tm, "adding ~/notes")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlD})
	waitFor(t, tm, "stopping /add")
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("/add was not stopped")
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

func TestTheMouseWheelScrollsTheChat(t *testing.T) {
	t.Parallel()
	b := tuitest.New()
	b.Tokens = []string{strings.Repeat("word ", 10) + "\n\n" + strings.Repeat("para\n\n", 30) + "the end"}
	tm := start(t, b, 80, 16, tui.Options{Mouse: true})
	ready(t, tm)
	typeLine(tm, "long")
	waitSaved(t, b)
	for range 20 {
		tm.Send(tea.MouseMsg{X: 5, Y: 5, Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	}
	v := finalView(t, tm)
	if strings.Contains(v, "the end") || !strings.Contains(v, "long") {
		t.Errorf("the wheel did not scroll up to the question:\n%s", v)
	}
}

func TestTabCompletesAnAtPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lease-2024.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "lease-2025.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "other.md"), []byte("x"), 0o600)
	tm := start(t, tuitest.New(), 120, 20, tui.Options{})
	ready(t, tm)
	tm.Type("read @" + dir + "/le")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitFor(t, tm, dir+"/lease-202")
	tm.Type("5")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitFor(t, tm, dir+"/lease-2025.txt")
	if v := finalView(t, tm); strings.Contains(v, "Search:") {
		t.Errorf("tab focused the panel instead of completing:\n%s", v)
	}
}
