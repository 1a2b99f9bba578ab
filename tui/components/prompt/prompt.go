// Package prompt is a dialog asking for a secret (the vault passphrase)
// with a masked input. It emits SubmitMsg or CancelMsg.
package prompt

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/tui/styles"
)

// SubmitMsg carries what was typed.
type SubmitMsg struct{ Value []byte }

// CancelMsg: the user skipped the prompt.
type CancelMsg struct{}

// Model is the dialog.
type Model struct {
	st    *styles.Styles
	keys  KeyMap
	title string
	note  string
	in    textinput.Model
	// footer replaces the line under the input ("" = the unlock one).
	footer string
}

// WithFooter returns the prompt with s as the line under the input.
func (m Model) WithFooter(s string) Model {
	m.footer = s
	return m
}

// New returns a focused masked prompt; note (may be "") is a line under
// the title, such as why the previous try failed.
func New(st *styles.Styles, title, note string) Model {
	in := textinput.New()
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '•'
	in.Prompt = "› "
	in.PromptStyle = st.Prompt
	in.TextStyle = st.Base
	in.Cursor.Style = st.Cursor
	in.Focus()
	return Model{st: st, keys: DefaultKeyMap(), title: title, note: note, in: in}
}

// Keys returns the prompt's key map.
func (m Model) Keys() KeyMap { return m.keys }

// Update edits the input or closes the dialog.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.keys.Submit):
			v := []byte(m.in.Value())
			m.in.Reset()
			return m, func() tea.Msg { return SubmitMsg{Value: v} }
		case key.Matches(k, m.keys.Cancel):
			m.in.Reset()
			return m, func() tea.Msg { return CancelMsg{} }
		}
	}
	var cmd tea.Cmd
	m.in, cmd = m.in.Update(msg)
	return m, cmd
}

// View renders the dialog at most width wide.
func (m Model) View(width int) string {
	w := max(min(width-4, 60), 10)
	inner := w - m.st.Dialog.GetHorizontalFrameSize()
	m.in.Width = inner - 3
	lines := []string{m.st.DialogTitle.Render(ansi.Truncate(m.title, inner, "…"))}
	if m.note != "" {
		lines = append(lines, m.st.Hint.Width(inner).Render(m.note))
	}
	footer := m.footer
	if footer == "" {
		footer = "enter unlocks · esc skips (answers then use no notes and the chat is not saved)"
	}
	lines = append(lines, "", m.in.View(), "", m.st.Muted.Width(inner).Render(footer))
	return m.st.Dialog.Width(w - m.st.Dialog.GetHorizontalBorderSize()).Render(strings.Join(lines, "\n"))
}
