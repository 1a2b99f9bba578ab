package tui_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/styles"
	"github.com/nook-ai/nook/tui/tuitest"
)

// testStyles are fixed (256 colours, dark unless the theme says otherwise)
// so that golden files do not depend on the terminal running the tests.
func testStyles(t styles.Theme) *styles.Styles {
	r := lipgloss.NewRenderer(io.Discard)
	p := termenv.ANSI256
	if t.Name == "plain" {
		p = termenv.Ascii
	}
	r.SetColorProfile(p)
	r.SetHasDarkBackground(t.Name != "light")
	return styles.New(r, t)
}

// start runs the app headless on buffers at w×h.
func start(t *testing.T, b *tuitest.Backend, w, h int, o tui.Options) *teatest.TestModel {
	t.Helper()
	if o.Styles == nil {
		o.Styles = testStyles(styles.Dark())
	}
	tm := teatest.NewTestModel(t, tui.New(context.Background(), b, o), teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { tm.Quit() })
	return tm
}

// waitFor waits until the output so far holds every string.
func waitFor(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		plain := ansi.Strip(string(b))
		for _, w := range want {
			if !strings.Contains(plain, w) && !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// ready waits for the model, the vault and the services.
func ready(t *testing.T, tm *teatest.TestModel) {
	t.Helper()
	waitFor(t, tm, "tiny-test", "vault unlocked")
}

// finalView quits and returns the last View of the app.
func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	return m.(tui.Model).View()
}

// checkSize fails unless view is exactly h lines of at most w cells.
func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, lw, w, ansi.Strip(l))
		}
	}
}

func typeLine(tm *teatest.TestModel, s string) {
	tm.Type(s)
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
}

func waitSaved(t *testing.T, b *tuitest.Backend) tui.Session {
	t.Helper()
	select {
	case s := <-b.Saved:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no session saved within 10s")
		return tui.Session{}
	}
}

type testModel = *teatest.TestModel

// containsColour reports whether s sets a foreground or background colour.
func containsColour(s string) bool {
	return strings.Contains(s, "[38;") || strings.Contains(s, "[48;") || strings.Contains(s, "\x1b[3") || strings.Contains(s, "\x1b[4")
}
