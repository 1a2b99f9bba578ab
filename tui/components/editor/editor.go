// Package editor is the message input: a multi-line textarea (Alt+Enter
// adds a line) with input history on up/down and completion of slash
// commands on Tab. Enter emits a SubmitMsg.
package editor

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/tui/commands"
	"github.com/nook-ai/nook/tui/styles"
)

// SubmitMsg is sent when the user presses Enter on a non-empty input.
type SubmitMsg struct{ Text string }

// maxRows is the tallest the input grows before it scrolls.
const maxRows = 6

// maxCompletions is how many matching commands are listed above the input.
const maxCompletions = 4

// Model is the input.
type Model struct {
	st      *styles.Styles
	keys    KeyMap
	ta      textarea.Model
	cmds    commands.Set
	history []string
	hpos    int    // index into history while browsing; len(history) = not browsing
	draft   string // what was typed before browsing
	width   int
}

// New returns a focused, empty input that completes cmds.
func New(st *styles.Styles, cmds commands.Set) Model {
	ta := textarea.New()
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.ShowLineNumbers = false
	ta.Placeholder = "Ask anything · / for commands"
	ta.SetPromptFunc(2, func(i int) string {
		if i == 0 {
			return "› "
		}
		return "  "
	})
	fs := textarea.Style{
		Base:        st.Renderer.NewStyle(),
		CursorLine:  st.Renderer.NewStyle(),
		EndOfBuffer: st.Renderer.NewStyle(),
		Placeholder: st.Placeholder,
		Prompt:      st.Prompt,
		Text:        st.Base,
	}
	ta.FocusedStyle, ta.BlurredStyle = fs, fs
	ta.Cursor.Style = st.Cursor
	ta.Cursor.TextStyle = st.Base
	ta.Cursor.SetMode(cursor.CursorStatic)
	ta.KeyMap.InsertNewline = key.NewBinding(key.WithDisabled())
	ta.KeyMap.LinePrevious = key.NewBinding(key.WithKeys("up"))
	ta.KeyMap.LineNext = key.NewBinding(key.WithKeys("down"))
	ta.KeyMap.DeleteCharacterForward = key.NewBinding(key.WithKeys("delete"))
	ta.Focus()
	ta.SetHeight(1)
	return Model{st: st, keys: DefaultKeyMap(), ta: ta, cmds: cmds}
}

// Keys returns the input's key map (for help).
func (m Model) Keys() KeyMap { return m.keys }

// Value is the text typed so far.
func (m Model) Value() string { return m.ta.Value() }

// SetValue replaces the text (the cursor goes to the end).
func (m *Model) SetValue(s string) {
	m.ta.SetValue(s)
	m.fit()
}

// Reset clears the input.
func (m *Model) Reset() {
	m.ta.Reset()
	m.fit()
}

// History returns the inputs sent, oldest first.
func (m Model) History() []string { return append([]string(nil), m.history...) }

// SetWidth sets the input's width.
func (m *Model) SetWidth(w int) {
	m.width = max(w, 4)
	m.ta.SetWidth(m.width)
	m.fit()
}

// Height is the number of rows View takes.
func (m Model) Height() int {
	return 1 + len(m.completionLines()) + m.ta.Height()
}

// Update handles a key; Enter on text emits SubmitMsg.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		var cmd tea.Cmd
		m.ta, cmd = m.ta.Update(msg)
		return m, cmd
	}
	switch {
	case key.Matches(k, m.keys.Send):
		text := m.ta.Value()
		if strings.TrimSpace(text) == "" {
			return m, nil
		}
		if n := len(m.history); n == 0 || m.history[n-1] != text {
			m.history = append(m.history, text)
		}
		m.hpos = len(m.history)
		m.Reset()
		return m, func() tea.Msg { return SubmitMsg{Text: text} }
	case key.Matches(k, m.keys.Newline):
		m.ta.InsertString("\n")
		m.fit()
		return m, nil
	case key.Matches(k, m.keys.Complete):
		m.complete()
		return m, nil
	case key.Matches(k, m.keys.Prev) && m.ta.Line() == 0 && len(m.history) > 0:
		m.browse(-1)
		return m, nil
	case key.Matches(k, m.keys.Next) && m.ta.Line() == m.ta.LineCount()-1 && m.hpos < len(m.history):
		m.browse(+1)
		return m, nil
	}
	var cmd tea.Cmd
	m.ta, cmd = m.ta.Update(msg)
	m.fit()
	return m, cmd
}

func (m *Model) browse(d int) {
	if m.hpos > len(m.history) {
		m.hpos = len(m.history)
	}
	if m.hpos == len(m.history) {
		m.draft = m.ta.Value()
	}
	m.hpos = max(0, min(len(m.history), m.hpos+d))
	if m.hpos == len(m.history) {
		m.ta.SetValue(m.draft)
	} else {
		m.ta.SetValue(m.history[m.hpos])
	}
	m.fit()
}

// completing returns the command prefix being typed ("/mo" → "mo").
func (m Model) completing() (string, bool) {
	v := m.ta.Value()
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, " \n") {
		return "", false
	}
	return v[1:], true
}

func (m *Model) complete() {
	p, ok := m.completing()
	if !ok {
		return
	}
	if cs := m.cmds.Complete(p); len(cs) > 0 {
		m.ta.SetValue("/" + cs[0].ID + " ")
		m.fit()
	}
}

func (m Model) completionLines() []string {
	p, ok := m.completing()
	if !ok {
		return nil
	}
	cs := m.cmds.Complete(p)
	var out []string
	for i, c := range cs {
		if i == maxCompletions {
			out = append(out, m.st.Completion.Render(fmt.Sprintf("  +%d more · /help lists them", len(cs)-i)))
			break
		}
		usage := m.st.Completion.Render(c.Usage)
		if i == 0 {
			usage = m.st.CompletionOn.Render(c.Usage)
		}
		line := "  " + usage + m.st.Completion.Render("  "+c.Title)
		out = append(out, ansi.Truncate(line, m.width, "…"))
	}
	if len(out) == 0 {
		out = append(out, m.st.Completion.Render(ansi.Truncate("  no such command · /help lists them", m.width, "…")))
	}
	return out
}

// fit grows the textarea with its lines, up to maxRows.
func (m *Model) fit() {
	rows := 0
	for _, l := range strings.Split(m.ta.Value(), "\n") {
		rows += max(1, (ansi.StringWidth(l)+m.width-3)/max(m.width-2, 1))
	}
	m.ta.SetHeight(max(1, min(maxRows, rows)))
}

// View renders the rule, the completions and the input.
func (m Model) View() string {
	rule := m.st.Muted.Render(strings.Repeat("─", m.width))
	parts := []string{rule}
	parts = append(parts, m.completionLines()...)
	parts = append(parts, m.ta.View())
	return strings.Join(parts, "\n")
}
