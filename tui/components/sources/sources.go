// Package sources is the side panel listing the passages an answer was
// given: [n], path and line range, cited ones first in full colour. It
// also shows /search results.
package sources

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/tui/styles"
)

// Item is one passage.
type Item struct {
	N         int
	Path      string
	StartLine int
	EndLine   int
	Text      string
	Cited     bool
}

// Model is the panel.
type Model struct {
	st      *styles.Styles
	keys    KeyMap
	title   string
	items   []Item
	answer  bool // items are an answer's sources (not search results)
	visible bool
}

// New returns a visible, empty panel.
func New(st *styles.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap(), visible: true, title: "Sources"}
}

// Keys returns the panel's key map.
func (m Model) Keys() KeyMap { return m.keys }

// SetAnswer shows the sources of an answer; uncited ones are dimmed.
func (m *Model) SetAnswer(items []Item) {
	m.title, m.items, m.answer = "Sources", items, true
}

// SetSearch shows the results of a search.
func (m *Model) SetSearch(query string, items []Item) {
	m.title, m.items, m.answer = "Search: "+query, items, false
}

// Items returns the items shown.
func (m Model) Items() []Item { return m.items }

// Toggle shows or hides the panel.
func (m *Model) Toggle() { m.visible = !m.visible }

// Visible reports whether the panel is shown (on and with something to show).
func (m Model) Visible() bool { return m.visible && len(m.items) > 0 }

// On reports the toggle's state.
func (m Model) On() bool { return m.visible }

// View renders the panel in width×height, with a rule on its left (side)
// or on top (below the chat).
func (m Model) View(width, height int, side bool) string {
	frame := m.st.Panel
	if !side {
		frame = m.st.Renderer.NewStyle().Border(lipgloss.NormalBorder(), true, false, false, false).BorderForeground(m.st.Theme.Muted)
	}
	w := max(width-frame.GetHorizontalFrameSize(), 4)
	h := max(height-frame.GetVerticalFrameSize(), 1)
	lines := []string{m.st.PanelTitle.Render(ansi.Truncate(fmt.Sprintf("%s (%d)", m.title, len(m.items)), w, "…"))}
	for _, it := range m.items {
		num := fmt.Sprintf("[%d] ", it.N)
		path := shorten(termsafe.Line(it.Path), w-len(num)) // a file name: shown, never obeyed
		var head string
		if it.Cited || !m.answer {
			head = m.st.SourceNum.Render(num) + m.st.SourcePath.Render(path)
		} else {
			head = m.st.Uncited.Render(num + path)
		}
		rng := fmt.Sprintf("lines %d–%d", it.StartLine, it.EndLine)
		if it.StartLine == it.EndLine {
			rng = fmt.Sprintf("line %d", it.StartLine)
		}
		if !it.Cited && m.answer {
			rng += " · not cited"
		}
		sub := strings.Repeat(" ", len(num)) + m.st.SourceLines.Render(ansi.Truncate(rng, w-len(num), "…"))
		lines = append(lines, head, sub)
		if snip := snippet(termsafe.Line(it.Text)); snip != "" && side {
			lines = append(lines, strings.Repeat(" ", len(num))+m.st.SourceText.Render(ansi.Truncate(snip, w-len(num), "…")))
		}
	}
	if len(lines) > h {
		more := m.st.Muted.Render(fmt.Sprintf("… %d more lines", len(lines)-h+1))
		lines = append(lines[:h-1], more)
	}
	body := m.st.Renderer.NewStyle().Width(w).Height(h).MaxHeight(h).Render(strings.Join(lines, "\n"))
	return frame.Render(body)
}

// shorten keeps the end of a path that does not fit: "…/notes/cat.md".
func shorten(p string, w int) string {
	if ansi.StringWidth(p) <= w {
		return p
	}
	base := filepath.Base(p)
	if ansi.StringWidth(base)+2 > w {
		return ansi.Truncate(base, w, "…")
	}
	parts := strings.Split(p, string(filepath.Separator))
	out := base
	for i := len(parts) - 2; i >= 0; i-- {
		next := parts[i] + string(filepath.Separator) + out
		if ansi.StringWidth(next)+2 > w {
			break
		}
		out = next
	}
	return "…" + string(filepath.Separator) + out
}

func snippet(t string) string {
	return strings.Join(strings.Fields(t), " ")
}
