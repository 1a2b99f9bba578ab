// Package sources is the side panel listing the passages an answer was
// given: [n], path and line range, cited ones first in full colour. It
// also shows /search results. With the focus (tab) it scrolls, shows the
// selected passage longer, and Enter asks the app to open the file at the
// passage's line ([OpenMsg]); the panel itself runs nothing.
package sources

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
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

	// focused: the keys move in the list; sel is the selected item, top
	// the first line shown (under the title); w, h, side the last size.
	focused bool
	sel     int
	top     int
	w, h    int
	side    bool
}

// OpenMsg asks the app to show an item's file at its line: in $PAGER, or
// in $EDITOR when Edit.
type OpenMsg struct {
	Item Item
	Edit bool
}

// Snippet lengths in lines: of each item, and of the selected one while
// the panel has the focus.
const (
	snipLines    = 4
	snipSelected = 12
)

// New returns a visible, empty panel.
func New(st *styles.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap(), visible: true, title: "Sources", side: true}
}

// Keys returns the panel's key map.
func (m Model) Keys() KeyMap { return m.keys }

// SetAnswer shows the sources of an answer; uncited ones are dimmed.
func (m *Model) SetAnswer(items []Item) {
	m.title, m.items, m.answer = "Sources", items, true
	m.sel, m.top = 0, 0
	if len(items) == 0 {
		m.focused = false
	}
}

// SetSearch shows the results of a search under title.
func (m *Model) SetSearch(title string, items []Item) {
	m.title, m.items, m.answer = title, items, false
	m.sel, m.top = 0, 0
	if len(items) == 0 {
		m.focused = false
	}
}

// Items returns the items shown.
func (m Model) Items() []Item { return m.items }

// Toggle shows or hides the panel.
func (m *Model) Toggle() {
	m.visible = !m.visible
	if !m.visible {
		m.focused = false
	}
}

// Visible reports whether the panel is shown (on and with something to show).
func (m Model) Visible() bool { return m.visible && len(m.items) > 0 }

// On reports the toggle's state.
func (m Model) On() bool { return m.visible }

// Focus gives the panel the keys (shown if hidden); false when there is
// nothing to focus.
func (m *Model) Focus() bool {
	if len(m.items) == 0 {
		return false
	}
	m.visible, m.focused = true, true
	m.sel = min(m.sel, len(m.items)-1)
	m.follow()
	return true
}

// Blur gives the keys back to the prompt.
func (m *Model) Blur() { m.focused = false }

// Focused reports whether the panel has the keys.
func (m Model) Focused() bool { return m.focused && m.Visible() }

// Selected returns the selected item (false when there is none).
func (m Model) Selected() (Item, bool) {
	if m.sel < 0 || m.sel >= len(m.items) {
		return Item{}, false
	}
	return m.items[m.sel], true
}

// SetSize is the size View will get (for paging).
func (m *Model) SetSize(width, height int, side bool) {
	m.w, m.h, m.side = width, height, side
	m.follow()
}

// Update moves in the list while focused; Enter (or e) emits OpenMsg.
// Leaving the focus is the app's (Leave keys).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !m.focused || len(m.items) == 0 {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Up):
		m.sel = max(m.sel-1, 0)
	case key.Matches(k, m.keys.Down):
		m.sel = min(m.sel+1, len(m.items)-1)
	case key.Matches(k, m.keys.PageUp):
		m.page(-1)
		return m, nil
	case key.Matches(k, m.keys.PageDown):
		m.page(+1)
		return m, nil
	case key.Matches(k, m.keys.Top):
		m.sel = 0
	case key.Matches(k, m.keys.Bottom):
		m.sel = len(m.items) - 1
	case key.Matches(k, m.keys.Open), key.Matches(k, m.keys.Edit):
		it := m.items[m.sel]
		edit := key.Matches(k, m.keys.Edit)
		return m, func() tea.Msg { return OpenMsg{Item: it, Edit: edit} }
	default:
		return m, nil
	}
	m.follow()
	return m, nil
}

// Scroll moves the view by n lines (the mouse wheel), keeping the
// selection in sight.
func (m *Model) Scroll(n int) {
	_, starts := m.body()
	m.top = max(min(m.top+n, m.maxTop()), 0)
	for i, s := range starts {
		if s >= m.top {
			if m.sel < i || m.sel >= len(starts) || starts[m.sel] < m.top {
				m.sel = i
			}
			break
		}
	}
	m.top = max(min(m.top, m.maxTop()), 0)
}

// page scrolls a page and selects the first item shown.
func (m *Model) page(d int) {
	_, starts := m.body()
	rows := max(m.rows()-1, 1)
	m.top = max(min(m.top+d*rows, m.maxTop()), 0)
	m.sel = len(starts) - 1
	for i, s := range starts {
		if s >= m.top {
			m.sel = i
			break
		}
	}
	if d < 0 && m.top == 0 {
		m.sel = 0
	}
}

// rows is how many lines the list has under the title.
func (m Model) rows() int {
	frame := m.st.Panel.GetVerticalFrameSize()
	if !m.side {
		frame = 1
	}
	return max(m.h-frame-1, 1)
}

func (m Model) width() int {
	frame := m.st.Panel.GetHorizontalFrameSize()
	if !m.side {
		frame = 0
	}
	return max(m.w-frame, 4)
}

func (m Model) maxTop() int {
	lines, _ := m.body()
	return max(len(lines)-m.rows(), 0)
}

// follow scrolls so the selected item is in sight, its head first.
func (m *Model) follow() {
	if m.w == 0 {
		return
	}
	lines, starts := m.body()
	if m.sel >= len(starts) {
		return
	}
	end := len(lines)
	if m.sel+1 < len(starts) {
		end = starts[m.sel+1]
	}
	rows := m.rows()
	if end-m.top > rows {
		m.top = end - rows
	}
	if starts[m.sel] < m.top {
		m.top = starts[m.sel]
	}
	m.top = max(min(m.top, m.maxTop()), 0)
}

// body renders every item's lines at the current width; starts[i] is
// item i's first line.
func (m Model) body() (lines []string, starts []int) {
	w := m.width()
	for i, it := range m.items {
		starts = append(starts, len(lines))
		selected := m.focused && i == m.sel
		num := fmt.Sprintf("[%d] ", it.N)
		indent := strings.Repeat(" ", len(num))
		path := shorten(termsafe.Line(it.Path), w-len(num)) // a file name: shown, never obeyed
		var head string
		switch {
		case selected:
			head = m.st.Selected.Render(num + path)
		case it.Cited || !m.answer:
			head = m.st.SourceNum.Render(num) + m.st.SourcePath.Render(path)
		default:
			head = m.st.Uncited.Render(num + path)
		}
		rng := fmt.Sprintf("lines %d–%d", it.StartLine, it.EndLine)
		if it.StartLine == it.EndLine {
			rng = fmt.Sprintf("line %d", it.StartLine)
		}
		if !it.Cited && m.answer {
			rng += " · not cited"
		}
		lines = append(lines, head, indent+m.st.SourceLines.Render(ansi.Truncate(rng, w-len(num), "…")))
		n := snipLines
		if !m.side {
			n = 1
		}
		if selected {
			n = snipSelected
		}
		for _, l := range wrap(snippet(termsafe.Line(it.Text)), w-len(num), n) {
			lines = append(lines, indent+m.st.SourceText.Render(l))
		}
	}
	return lines, starts
}

// View renders the panel in width×height, with a rule on its left (side)
// or on top (below the chat).
func (m Model) View(width, height int, side bool) string {
	if m.w != width || m.h != height || m.side != side {
		m.SetSize(width, height, side)
	}
	frame := m.st.Panel
	if !side {
		frame = m.st.Renderer.NewStyle().Border(lipgloss.NormalBorder(), true, false, false, false).BorderForeground(m.st.Theme.Muted)
	}
	w := m.width()
	h := m.rows() + 1
	title := fmt.Sprintf("%s (%d)", m.title, len(m.items))
	if m.focused {
		title += " · enter opens"
	}
	all, _ := m.body()
	lines := []string{m.st.PanelTitle.Render(ansi.Truncate(title, w, "…"))}
	end := min(m.top+h-1, len(all))
	shown := all[min(m.top, len(all)):end]
	if end < len(all) && len(shown) > 0 {
		shown = append(shown[:len(shown)-1:len(shown)-1], m.st.Muted.Render(fmt.Sprintf("… %d more lines", len(all)-end+1)))
	}
	lines = append(lines, shown...)
	body := m.st.Renderer.NewStyle().Width(w).Height(h).MaxHeight(h).Render(strings.Join(lines, "\n"))
	return frame.Render(body)
}

// wrap word-wraps s to w columns, at most n lines, the last cut with "…".
func wrap(s string, w, n int) []string {
	if s == "" || w < 4 {
		return nil
	}
	ls := strings.Split(ansi.Wrap(s, w, ""), "\n")
	if len(ls) > n {
		ls = ls[:n]
		ls[n-1] = ansi.Truncate(ls[n-1]+" …", w, "…")
	}
	return ls
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
