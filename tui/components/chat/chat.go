// Package chat is the transcript: the user's messages, the streamed answers
// rendered as Markdown (glamour), and the info and error lines, in a
// scrolling viewport that follows the newest text unless scrolled up.
package chat

import (
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/glamour"
	"github.com/charmbracelet/lipgloss"

	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/tui/styles"
)

// Kind of an entry.
type Kind int

const (
	User Kind = iota
	Assistant
	Info
	Error
	// Tool is a tool call: Tool names it, Text holds its arguments (JSON).
	Tool
)

// Entry is one block of the transcript.
type Entry struct {
	Kind Kind
	// Text: Markdown for Assistant, plain otherwise.
	Text string
	// Hint is the "what to do" line of an Error.
	Hint string
	// Streaming: the answer is still arriving.
	Streaming bool
	// Stopped: the user stopped the answer.
	Stopped bool
	// Cut says why the answer was cut off ("" = it ended).
	Cut string

	// Tool entries: the tool's name; Done with Result or, when Failed, the
	// error; Asking: waiting for the user's consent (Note says the answer).
	Tool   string
	Done   bool
	Result string
	Failed bool
	Asking bool
	Note   string

	rendered string
	width    int
}

// Model is the transcript.
type Model struct {
	st      *styles.Styles
	keys    KeyMap
	vp      viewport.Model
	entries []Entry
	width   int
	height  int
	md      *glamour.TermRenderer
	mdWidth int
	// Empty is shown when there are no entries.
	Empty func(width, height int) string
}

// New returns an empty transcript.
func New(st *styles.Styles) Model {
	vp := viewport.New(0, 0)
	vp.KeyMap = viewport.KeyMap{} // keys are routed explicitly
	return Model{st: st, keys: DefaultKeyMap(), vp: vp}
}

// Keys returns the transcript's key map (for help).
func (m Model) Keys() KeyMap { return m.keys }

// SetSize sets the area the transcript fills.
func (m *Model) SetSize(w, h int) {
	if w == m.width && h == m.height {
		return
	}
	m.width, m.height = max(w, 1), max(h, 1)
	m.vp.Width, m.vp.Height = m.width, m.height
	m.refresh(true)
}

// Add appends an entry.
func (m *Model) Add(e Entry) {
	m.entries = append(m.entries, e)
	m.refresh(true)
}

// SetTool shows a tool call: it replaces the newest unfinished entry of
// the same tool, or else goes before the answer being streamed (the
// calls come before the answer they feed), or at the end.
func (m *Model) SetTool(e Entry) {
	e.Kind = Tool
	for i := len(m.entries) - 1; i >= 0; i-- {
		if o := m.entries[i]; o.Kind == Tool && o.Tool == e.Tool && !o.Done {
			if e.Text == "" {
				e.Text = o.Text
			}
			m.entries[i] = e
			m.refresh(false)
			return
		}
		if m.entries[i].Kind == User {
			break // only within the current turn
		}
	}
	if i := m.streamingAt(); i >= 0 {
		m.entries = slices.Insert(m.entries, i, e)
	} else {
		m.entries = append(m.entries, e)
	}
	m.refresh(true)
}

// Reset removes every entry.
func (m *Model) Reset() {
	m.entries = nil
	m.refresh(true)
}

// Len is the number of entries.
func (m Model) Len() int { return len(m.entries) }

// Entries returns a copy of the entries.
func (m Model) Entries() []Entry { return append([]Entry(nil), m.entries...) }

// Append adds text to the last entry when it is a streaming answer.
func (m *Model) Append(text string) {
	if e := m.streaming(); e != nil {
		e.Text += text
		e.rendered = ""
		m.refresh(false)
	}
}

// Cut marks the streaming answer as cut off, saying why.
func (m *Model) Cut(why string) {
	if e := m.streaming(); e != nil {
		e.Cut = why
		e.rendered = ""
	}
}

// Finish ends the streaming answer; stopped marks it as stopped by the user.
func (m *Model) Finish(stopped bool) {
	if e := m.streaming(); e != nil {
		e.Streaming = false
		e.Stopped = stopped
		e.rendered = ""
		m.refresh(false)
	}
}

// LastAnswer returns the text of the newest answer.
func (m Model) LastAnswer() string {
	for i := len(m.entries) - 1; i >= 0; i-- {
		if m.entries[i].Kind == Assistant {
			return m.entries[i].Text
		}
	}
	return ""
}

func (m *Model) streaming() *Entry {
	if i := m.streamingAt(); i >= 0 {
		return &m.entries[i]
	}
	return nil
}

// streamingAt is the index of the answer being streamed, or -1. Info lines
// added after it started (a notice that came with the turn) may follow it.
func (m *Model) streamingAt() int {
	for i := len(m.entries) - 1; i >= 0; i-- {
		switch e := m.entries[i]; {
		case e.Kind == Assistant && e.Streaming:
			return i
		case e.Kind == User || e.Kind == Assistant:
			return -1 // only within the current turn
		}
	}
	return -1
}

// Scroll moves the transcript n lines down (up when negative).
func (m *Model) Scroll(n int) {
	if n < 0 {
		m.vp.ScrollUp(-n)
	} else {
		m.vp.ScrollDown(n)
	}
}

// Update scrolls on the transcript's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.keys.PageUp):
			m.vp.HalfPageUp()
		case key.Matches(k, m.keys.PageDown):
			m.vp.HalfPageDown()
		case key.Matches(k, m.keys.Top):
			m.vp.GotoTop()
		case key.Matches(k, m.keys.Bottom):
			m.vp.GotoBottom()
		}
	}
	return m, nil
}

// View renders the visible part of the transcript, exactly width×height.
func (m Model) View() string {
	if len(m.entries) == 0 && m.Empty != nil {
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, m.Empty(m.width, m.height))
	}
	return m.vp.View()
}

// refresh re-renders the entries whose width changed (all when force) and
// keeps the view at the bottom if it was there.
func (m *Model) refresh(force bool) {
	follow := m.vp.AtBottom() || force
	parts := make([]string, 0, len(m.entries))
	for i := range m.entries {
		e := &m.entries[i]
		if e.rendered == "" || e.width != m.width {
			e.rendered = m.render(*e)
			e.width = m.width
		}
		parts = append(parts, e.rendered)
	}
	m.vp.SetContent(strings.Join(parts, "\n\n"))
	if follow {
		m.vp.GotoBottom()
	}
}

func (m *Model) render(e Entry) string {
	// Every field may hold untrusted text (the model's words, documents,
	// file names, tool results, errors quoting them): escape sequences are
	// shown as placeholders, never obeyed. The entry keeps the raw text.
	e.Text, e.Hint, e.Tool, e.Result, e.Note = termsafe.String(e.Text), termsafe.String(e.Hint), termsafe.Line(e.Tool), termsafe.String(e.Result), termsafe.String(e.Note)
	w := max(m.width-2, 10)
	pad := m.st.Renderer.NewStyle().PaddingLeft(1)
	switch e.Kind {
	case User:
		return pad.Render(m.st.UserLabel.Render("you") + "\n" + m.st.UserText.Width(w).Render(e.Text))
	case Assistant:
		body := m.markdown(e.Text, w)
		if e.Streaming && strings.TrimSpace(e.Text) == "" {
			body = m.st.Info.Render("…")
		}
		out := m.st.AnswerLabel.Render("nook") + "\n" + body
		if e.Stopped {
			out += "\n" + m.st.Stopped.Render("(stopped)")
		}
		if e.Cut != "" {
			out += "\n" + m.st.Stopped.Width(w).Render("✂ "+e.Cut)
		}
		return pad.Render(out)
	case Error:
		out := m.st.ErrorMark.Render("✗ ") + m.st.ErrorLine.Width(w-2).Render(e.Text)
		if e.Hint != "" {
			out += "\n" + m.st.Hint.Render("→ ") + m.st.Hint.Width(w-2).Render(e.Hint)
		}
		return pad.Render(out)
	case Tool:
		return pad.Render(m.toolLine(e, w))
	default:
		return pad.Render(m.st.Info.Render("· ") + m.st.Info.Width(w-2).Render(e.Text))
	}
}

// markdown renders an answer; a renderer error falls back to wrapped text.
func (m *Model) markdown(text string, w int) string {
	if m.md == nil || m.mdWidth != w {
		cfg := m.st.Theme.Markdown
		zero := uint(0)
		cfg.Document.Margin = &zero
		cfg.Document.BlockPrefix = ""
		cfg.Document.BlockSuffix = ""
		r, err := glamour.NewTermRenderer(
			glamour.WithStyles(cfg),
			glamour.WithWordWrap(w),
			glamour.WithColorProfile(m.st.Renderer.ColorProfile()),
		)
		if err != nil {
			return m.st.Base.Width(w).Render(text)
		}
		m.md, m.mdWidth = r, w
	}
	out, err := m.md.Render(text)
	if err != nil {
		return m.st.Base.Width(w).Render(text)
	}
	return strings.Trim(out, "\n")
}

// toolLine renders "⚙ name {args} → result" on one line (cut to w), the
// consent question on a second while it is asked.
func (m *Model) toolLine(e Entry, w int) string {
	out := m.st.ToolMark.Render("⚙ ") + m.st.ToolName.Render(e.Tool)
	if e.Text != "" {
		out += " " + m.st.ToolArgs.Render(oneLine(e.Text, max(w/2, 20)))
	}
	rest := max(w-lipgloss.Width(out)-3, 10)
	switch {
	case e.Done && e.Failed:
		out += m.st.ToolErr.Render(" → " + oneLine(e.Result, rest))
	case e.Done:
		out += m.st.ToolResult.Render(" → " + oneLine(e.Result, rest))
	case e.Note != "":
		out += m.st.Info.Render(" · " + e.Note)
	default:
		out += m.st.Info.Render(" …")
	}
	if e.Asking {
		out += "\n" + m.st.ToolAsk.Render("  allow this call? y/n")
	}
	return out
}

// oneLine joins s's lines and cuts it to n cells with an ellipsis.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if lipgloss.Width(s) <= n {
		return s
	}
	r := []rune(s)
	r = r[:min(len(r), n)]
	for len(r) > 0 && lipgloss.Width(string(r)) > n-1 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
