package tui_test

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/components/chat"
	"github.com/nook-ai/nook/tui/tuitest"
)

// A turn's tool calls are shown in the chat; one that needs consent waits
// for y/n and the answer goes back to the backend.
func TestToolCallsAndConsent(t *testing.T) {
	for _, tc := range []struct {
		key    string
		allow  bool
		result string
	}{
		{"y", true, "→ 1.86 mi"},
		{"n", false, "→ declined"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			b := tuitest.New()
			b.Tokens = []string{"about ", "1.86 miles"}
			b.Calls = []tuitest.Call{
				{Name: "clock__now", Args: `{}`, Result: "12:00"},
				{Name: "units__convert", Args: `{"from":"km","to":"mi","value":3}`, Consent: true, Result: "1.86 mi"},
			}
			tm := start(t, b, 100, 30, tui.Options{})
			ready(t, tm)
			typeLine(tm, "3 km in miles?")
			waitFor(t, tm, "⚙ clock__now", "→ 12:00", "⚙ units__convert", "allow this call? y/n")
			select {
			case <-b.Answers:
				t.Fatal("the call ran before the user answered")
			case <-time.After(50 * time.Millisecond):
			}
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tc.key)})
			select {
			case got := <-b.Answers:
				if got != tc.allow {
					t.Fatalf("answer %q sent %v, want %v", tc.key, got, tc.allow)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no answer reached the backend")
			}
			waitFor(t, tm, tc.result, "1.86 miles")
			s := waitSaved(t, b)
			if len(s.Messages) != 2 || s.Messages[1].Content != "about 1.86 miles" {
				t.Errorf("saved %+v", s.Messages)
			}
			m := finalModel(t, tm)
			if v := m.Input(); v != "" {
				t.Errorf("the answer key went to the editor: %q", v)
			}
			var tools []chat.Entry
			for _, e := range m.Transcript() {
				if e.Kind == chat.Tool {
					tools = append(tools, e)
				}
			}
			if len(tools) != 2 || tools[0].Tool != "clock__now" || tools[1].Tool != "units__convert" || !tools[1].Done || tools[1].Asking {
				t.Fatalf("tool entries %+v", tools)
			}
			if tools[1].Failed == tc.allow {
				t.Errorf("units__convert failed=%v after %q", tools[1].Failed, tc.key)
			}
		})
	}
}

// Esc while a call waits for consent stops the turn; the call is not run.
func TestToolConsentCancelled(t *testing.T) {
	b := tuitest.New()
	b.Calls = []tuitest.Call{{Name: "mail__send", Args: `{"to":"x"}`, Consent: true, Result: "sent"}}
	tm := start(t, b, 100, 30, tui.Options{})
	ready(t, tm)
	typeLine(tm, "mail x")
	waitFor(t, tm, "allow this call? y/n")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "(stopped)")
	select {
	case got := <-b.Answers:
		t.Fatalf("a cancelled question sent %v", got)
	default:
	}
	if v := finalView(t, tm); v == "" {
		t.Fatal("empty view")
	}
}

// /plugs lists the installed plugins with their grants; the status bar
// shows the ledger's state.
func TestPlugsAndLedgerState(t *testing.T) {
	b := tuitest.New()
	b.Ledger = "embedded"
	b.PluginList = []string{"units 1.0.0: tool (expires in 29d)"}
	tm := start(t, b, 100, 30, tui.Options{})
	waitFor(t, tm, "tiny-test", "vault unlocked", "ledger embedded")
	typeLine(tm, "/plugs")
	waitFor(t, tm, "plugins:", "units 1.0.0: tool (expires in 29d)")
}

func finalModel(t *testing.T, tm testModel) tui.Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t).(tui.Model)
}
