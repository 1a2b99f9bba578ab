package tui_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/tuitest"
)

func TestChat(t *testing.T) {
	t.Parallel()

	t.Run("/retry asks the last question again and keeps one answer to it", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.Tokens = []string{"first", " answer"}
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		typeLine(tm, "what is nook?")
		waitSaved(t, b)
		b.Tokens = []string{"second", " answer"}
		typeLine(tm, "/retry")
		s := waitSaved(t, b)
		if len(s.Messages) != 2 || s.Messages[0].Content != "what is nook?" || s.Messages[1].Content != "second answer" {
			t.Fatalf("session after /retry: %+v", s.Messages)
		}
	})

	t.Run("esc stops an answer without quitting and the app answers again", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.Tokens = repeat("word ", 400)
		b.TokenDelay = 10 * time.Millisecond
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		typeLine(tm, "tell me a long story")
		waitFor(t, tm, "word word")
		tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
		s := waitSaved(t, b)
		if got := s.Messages[1].Content; len(got) >= len(strings.Join(b.Tokens, "")) {
			t.Fatalf("the stopped answer has all %d characters", len(got))
		}
		b.Tokens, b.TokenDelay = []string{"short", " answer"}, 0
		typeLine(tm, "again")
		s = waitSaved(t, b)
		if diff := cmp.Diff("short answer", s.Messages[3].Content); diff != "" {
			t.Errorf("second answer (-want +got):\n%s", diff)
		}
		v := ansi.Strip(finalView(t, tm))
		if !strings.Contains(v, "(stopped)") {
			t.Errorf("the stopped answer is not marked:\n%s", v)
		}
	})

	t.Run("ctrl+c stops an answer too", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.Tokens = repeat("tok ", 400)
		b.TokenDelay = 10 * time.Millisecond
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		typeLine(tm, "go")
		waitFor(t, tm, "tok tok")
		tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		waitSaved(t, b)
		waitFor(t, tm, "(stopped)")
	})

	t.Run("each turn is saved and the next one gets the history", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		typeLine(tm, "first question")
		s1 := waitSaved(t, b)
		typeLine(tm, "second question")
		s2 := waitSaved(t, b)
		if s1.ID == "" || s1.ID != s2.ID {
			t.Errorf("session ids %q then %q, want one non-empty id", s1.ID, s2.ID)
		}
		if s2.Title != "first question" || len(s2.Messages) != 4 {
			t.Errorf("saved session %+v", s2)
		}
		turns := b.Turns()
		want := []engine.Message{{Role: "user", Content: "first question"}, {Role: "assistant", Content: "ok"}}
		if diff := cmp.Diff(want, turns[1].History); diff != "" {
			t.Errorf("history of turn 2 (-want +got):\n%s", diff)
		}
		if turns[1].Session != s1.ID {
			t.Errorf("turn session %q, want %q", turns[1].Session, s1.ID)
		}
	})

	t.Run("alt+enter makes a multi-line message and up recalls it", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		tm.Type("line one")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter, Alt: true})
		tm.Type("line two")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitSaved(t, b)
		if got := b.Turns()[0].Text; got != "line one\nline two" {
			t.Errorf("sent %q", got)
		}
		typeLine(tm, "next")
		waitSaved(t, b)
		tm.Send(tea.KeyMsg{Type: tea.KeyUp})
		tm.Send(tea.KeyMsg{Type: tea.KeyUp})
		v := trimLines(ansi.Strip(finalView(t, tm)))
		if !strings.Contains(v, "› line one\n  line two") {
			t.Errorf("up twice does not recall the first message:\n%s", v)
		}
	})

	t.Run("a message sent while the model loads is kept", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.Block = make(chan struct{})
		tm := start(t, b, 80, 24, tui.Options{})
		waitFor(t, tm, "loading model")
		typeLine(tm, "hello")
		waitFor(t, tm, "still loading")
		close(b.Block)
		waitFor(t, tm, "tiny-test")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		waitSaved(t, b)
		if got := b.Turns()[0].Text; got != "hello" {
			t.Errorf("sent %q", got)
		}
	})

	t.Run("a failed turn is a styled line with its hint, not a crash", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.TurnFn = func(ctx context.Context, in tui.TurnInput) (*tui.Turn, error) {
			return nil, errors.New("assistant: the question alone needs 9000 tokens")
		}
		tm := start(t, b, 80, 24, tui.Options{})
		ready(t, tm)
		typeLine(tm, "x")
		waitFor(t, tm, "✗ assistant: the question alone needs 9000 tokens", "→ ask again")
		typeLine(tm, "/help")
		waitFor(t, tm, "Commands")
	})
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(b *tuitest.Backend)
		keys  func(t *testing.T, tm testModel)
		want  []string
	}{
		{
			name: "tab completes a command",
			keys: func(t *testing.T, tm testModel) { tm.Type("/rem"); tm.Send(tea.KeyMsg{Type: tea.KeyTab}) },
			want: []string{"› /remember"},
		},
		{
			name: "a prefix lists the matching commands",
			keys: func(t *testing.T, tm testModel) { tm.Type("/s") },
			want: []string{"/search QUERY", "/sources", "/sessions", "/system", "+1 more"},
		},
		{
			name: "an unknown command says where the list is",
			keys: func(t *testing.T, tm testModel) { typeLine(tm, "/frobnicate") },
			want: []string{"✗ unknown command /frobnicate", "/help lists the commands"},
		},
		{
			name: "/plugs says none are installed",
			keys: func(t *testing.T, tm testModel) { typeLine(tm, "/plugs") },
			want: []string{"no plugins installed"},
		},
		{
			name: "/sync says there are no peers",
			keys: func(t *testing.T, tm testModel) { typeLine(tm, "/sync") },
			want: []string{"no peers configured"},
		},
		{
			name: "/remember then /forget without text lists the fact",
			keys: func(t *testing.T, tm testModel) {
				typeLine(tm, "/remember the cat is called Miso")
				typeLine(tm, "/forget")
			},
			want: []string{"remembered f1: the cat is called Miso", "f1  the cat is called Miso"},
		},
		{
			name: "/search fills the sources panel",
			setup: func(b *tuitest.Backend) {
				b.Sources = []tui.Source{{N: 1, Path: "/n/cat.md", StartLine: 2, EndLine: 5, Cited: true}}
			},
			keys: func(t *testing.T, tm testModel) { typeLine(tm, "/search cat") },
			want: []string{"Search: cat (1)", "[1] /n/cat.md", "lines 2–5"},
		},
		{
			name: "/model opens a picker and loads the choice",
			keys: func(t *testing.T, tm testModel) {
				typeLine(tm, "/model")
				waitFor(t, tm, "other-model")
				tm.Send(tea.KeyMsg{Type: tea.KeyDown})
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			},
			want: []string{"loaded other-model"},
		},
		{
			name: "/sessions resumes a saved session",
			setup: func(b *tuitest.Backend) {
				b.AddSession(tui.Session{ID: "s1", Title: "cats", Messages: []engine.Message{{Role: "user", Content: "about cats"}, {Role: "assistant", Content: "they purr"}}})
			},
			keys: func(t *testing.T, tm testModel) {
				typeLine(tm, "/sessions")
				waitFor(t, tm, "Resume a session")
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			},
			want: []string{"they purr", `resumed "cats" (2 messages)`},
		},
		{
			name: "/add without a path shows the usage",
			keys: func(t *testing.T, tm testModel) { typeLine(tm, "/add") },
			want: []string{"/add needs an argument", "usage: /add PATH..."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tuitest.New()
			if tt.setup != nil {
				tt.setup(b)
			}
			tm := start(t, b, 100, 30, tui.Options{})
			ready(t, tm)
			tt.keys(t, tm)
			waitFor(t, tm, tt.want...)
		})
	}
}

func TestVault(t *testing.T) {
	t.Parallel()

	t.Run("a locked vault asks for the passphrase in the app", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.State.NeedPassphrase = true
		got := make(chan string, 2)
		b.UnlockFn = func(ctx context.Context, pass []byte) error {
			got <- string(pass)
			if string(pass) != "right" {
				return errors.New("vault: open: wrong passphrase")
			}
			return nil
		}
		tm := start(t, b, 80, 24, tui.Options{})
		waitFor(t, tm, "Unlock the vault")
		typeLine(tm, "wrong")
		waitFor(t, tm, "wrong passphrase: try again")
		typeLine(tm, "right")
		waitFor(t, tm, "vault unlocked")
		if a, b := <-got, <-got; a != "wrong" || b != "right" {
			t.Errorf("passphrases %q, %q", a, b)
		}
		v := finalView(t, tm)
		if strings.Contains(v, "right") || strings.Contains(v, "wrong\n") {
			t.Errorf("the passphrase is visible:\n%s", v)
		}
	})

	t.Run("without a vault the app says how to make one and still answers", func(t *testing.T) {
		t.Parallel()
		b := tuitest.New()
		b.State = tui.VaultState{}
		b.Tokens = []string{"a fine", " answer"}
		tm := start(t, b, 80, 24, tui.Options{})
		waitFor(t, tm, "no vault", "nook init")
		typeLine(tm, "hi")
		waitFor(t, tm, "a fine answer")
		if len(b.Turns()) != 1 {
			t.Fatal("no turn ran")
		}
		select {
		case s := <-b.Saved:
			t.Errorf("saved %+v without a vault", s)
		default:
		}
	})
}

// The first frame must not wait for the model.
func TestFirstFrameDoesNotWaitForTheModel(t *testing.T) {
	t.Parallel()
	b := tuitest.New()
	b.Block = make(chan struct{}) // the model never loads
	tm := start(t, b, 80, 24, tui.Options{})
	waitFor(t, tm, "loading model", "Ask anything")
	close(b.Block)
}

func repeat(tok string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = tok
	}
	return out
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
