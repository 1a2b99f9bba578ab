package chat

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/nook-ai/nook/tui/styles"
)

func newTestModel(t *testing.T) Model {
	t.Helper()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	m := New(styles.New(r, styles.Dark()))
	m.SetSize(100, 30)
	return m
}

// A notice that comes with the turn (added after the answer started) does
// not stop the answer from showing, and tool calls still go before it.
func TestANoticeAfterTheAnswerStartedDoesNotHideIt(t *testing.T) {
	t.Parallel()
	m := newTestModel(t)
	m.Add(Entry{Kind: User, Text: "where is the key?"})
	m.Add(Entry{Kind: Assistant, Streaming: true})
	m.Add(Entry{Kind: Info, Text: "search is lexical only"})
	m.Append("Under the blue mat.")
	m.SetTool(Entry{Tool: "lookup", Text: "{}"})
	m.Finish(false)
	es := m.Entries()
	kinds := make([]Kind, len(es))
	for i, e := range es {
		kinds[i] = e.Kind
	}
	if want := []Kind{User, Tool, Assistant, Info}; !slicesEqual(kinds, want) {
		t.Fatalf("entries %v, want %v", kinds, want)
	}
	if es[2].Text != "Under the blue mat." || es[2].Streaming {
		t.Errorf("answer %+v", es[2])
	}
	if m.LastAnswer() != "Under the blue mat." {
		t.Errorf("LastAnswer %q", m.LastAnswer())
	}
}

func slicesEqual(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Escape sequences in every kind of entry are shown as placeholders: the
// view holds the app's own colours (SGR) and nothing else.
func TestEscapeSequencesInEntriesAreShownNotObeyed(t *testing.T) {
	t.Parallel()
	const osc52, title = "\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07"
	m := newTestModel(t)
	m.Add(Entry{Kind: User, Text: "hi " + title})
	m.Add(Entry{Kind: Assistant, Text: "Sam " + osc52})
	m.Add(Entry{Kind: Error, Text: "open evil" + title + ".md", Hint: "fix " + osc52})
	m.Add(Entry{Kind: Info, Text: "added evil" + title})
	m.SetTool(Entry{Tool: "t" + title, Text: `{"q":"x"}`, Done: true, Result: "r " + osc52})
	view := m.View()
	for _, seq := range []string{"\x1b]", "\x07", "\x1bP", "\x1b_"} {
		if strings.Contains(view, seq) {
			t.Errorf("the view holds %q:\n%q", seq, view)
		}
	}
	if n := strings.Count(ansi.Strip(view), "␛]52;c;cHduZWQ=␇"); n != 3 {
		t.Errorf("%d OSC 52 placeholders, want 3:\n%s", n, ansi.Strip(view))
	}
	if m.Entries()[1].Text != "Sam "+osc52 {
		t.Error("the entry's own text was changed (only its view is)")
	}
}
