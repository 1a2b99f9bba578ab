package sources

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/tui/styles"
)

func panel(n int) Model {
	m := New(styles.New(lipgloss.NewRenderer(nil), styles.Dark()))
	var its []Item
	for i := range n {
		its = append(its, Item{N: i + 1, Path: fmt.Sprintf("/notes/n%d.md", i+1), StartLine: 3 * i, EndLine: 3*i + 2,
			Text: strings.Repeat(fmt.Sprintf("passage %d words ", i+1), 20)})
	}
	m.SetSearch("Search: q", its)
	return m
}

func TestThePanelFitsItsSizeWithLongSnippetsWrapped(t *testing.T) {
	t.Parallel()
	for _, side := range []bool{true, false} {
		for _, size := range [][2]int{{30, 10}, {56, 40}, {100, 8}} {
			m := panel(5)
			m.SetSize(size[0], size[1], side)
			m.Focus()
			v := m.View(size[0], size[1], side)
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("side %v %v: %d lines", side, size, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("side %v %v: a line is %d wide: %q", side, size, w, ansi.Strip(l))
				}
			}
			if side && !strings.Contains(ansi.Strip(v), "passage 1 words passage") {
				t.Errorf("side %v %v: no snippet longer than a line:\n%s", side, size, ansi.Strip(v))
			}
		}
	}
}

func TestKeysMoveTheSelectionAndScrollItIntoSight(t *testing.T) {
	t.Parallel()
	m := panel(8)
	m.SetSize(40, 12, true)
	if !m.Focus() {
		t.Fatal("a panel with items did not take the focus")
	}
	press := func(k tea.KeyMsg) tea.Cmd {
		var cmd tea.Cmd
		m, cmd = m.Update(k)
		return cmd
	}
	press(tea.KeyMsg{Type: tea.KeyEnd})
	if it, _ := m.Selected(); it.N != 8 {
		t.Fatalf("end selected [%d]", it.N)
	}
	if v := ansi.Strip(m.View(40, 12, true)); !strings.Contains(v, "[8] /notes/n8.md") || strings.Contains(v, "[1] ") {
		t.Errorf("the last source is not in sight:\n%s", v)
	}
	for range 10 { // more than enough pages to reach the top
		press(tea.KeyMsg{Type: tea.KeyPgUp})
	}
	press(tea.KeyMsg{Type: tea.KeyDown})
	cmd := press(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter asked for nothing")
	}
	if msg, ok := cmd().(OpenMsg); !ok || msg.Item.N != 2 || msg.Edit {
		t.Errorf("enter after paging to the top and down gave %#v, want to open [2]", cmd())
	}
	if msg := press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("e")})().(OpenMsg); !msg.Edit {
		t.Errorf("e did not ask for the editor: %#v", msg)
	}
	m.Blur()
	if press(tea.KeyMsg{Type: tea.KeyEnter}) != nil {
		t.Error("a panel without the focus took enter")
	}
}

func TestAnEmptyPanelTakesNoFocus(t *testing.T) {
	t.Parallel()
	m := panel(0)
	if m.Focus() || m.Focused() {
		t.Error("an empty panel took the focus")
	}
}
