// Package picker is a dialog choosing one item of a list (a model, a
// session). It emits ChosenMsg or CanceledMsg.
package picker

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/tui/styles"
)

// Item is one choice.
type Item struct {
	ID    string
	Label string
	Note  string // dimmed after the label
}

// ChosenMsg: the user chose Item in the picker of Kind.
type ChosenMsg struct {
	Kind string
	Item Item
}

// CanceledMsg: the user closed the picker of Kind.
type CanceledMsg struct{ Kind string }

// Model is the dialog.
type Model struct {
	st    *styles.Styles
	keys  KeyMap
	Kind  string
	title string
	items []Item
	sel   int
}

// New returns a picker of kind ("model", "session") with a title.
func New(st *styles.Styles, kind, title string, items []Item) Model {
	return Model{st: st, keys: DefaultKeyMap(), Kind: kind, title: title, items: items}
}

// Keys returns the picker's key map.
func (m Model) Keys() KeyMap { return m.keys }

// Update moves the selection or closes the dialog.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Up):
		m.sel = max(0, m.sel-1)
	case key.Matches(k, m.keys.Down):
		m.sel = min(len(m.items)-1, m.sel+1)
	case key.Matches(k, m.keys.Choose) && len(m.items) > 0:
		it, kind := m.items[m.sel], m.Kind
		return m, func() tea.Msg { return ChosenMsg{Kind: kind, Item: it} }
	case key.Matches(k, m.keys.Cancel):
		kind := m.Kind
		return m, func() tea.Msg { return CanceledMsg{Kind: kind} }
	}
	return m, nil
}

// View renders the dialog at most width×height.
func (m Model) View(width, height int) string {
	w := max(min(width-4, 72), 10)
	inner := w - m.st.Dialog.GetHorizontalFrameSize()
	rows := max(height-m.st.Dialog.GetVerticalFrameSize()-2, 1)
	lines := []string{m.st.DialogTitle.Render(ansi.Truncate(m.title, inner, "…")), ""}
	start := 0
	if m.sel >= rows {
		start = m.sel - rows + 1
	}
	for i := start; i < len(m.items) && i < start+rows; i++ {
		it := m.items[i]
		mark, style := "  ", m.st.Base
		if i == m.sel {
			mark, style = "› ", m.st.Selected
		}
		line := style.Render(mark+termsafe.Line(it.Label)) + m.st.Muted.Render("  "+termsafe.Line(it.Note)) // session titles are the user's (or a model's) words
		lines = append(lines, ansi.Truncate(line, inner, "…"))
	}
	return m.st.Dialog.Width(w - m.st.Dialog.GetHorizontalBorderSize()).Render(strings.Join(lines, "\n"))
}
