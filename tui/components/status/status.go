// Package status is the bottom bar: model, backend, speed of the last
// answer, context used, vault, ledger and sync state. Items that do not fit
// a narrow terminal are dropped from the least important.
package status

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/tui/styles"
)

// Vault states.
const (
	VaultUnknown   = ""
	VaultNone      = "none"
	VaultLocked    = "locked"
	VaultUnlocking = "unlocking"
	VaultUnlocked  = "unlocked"
)

// Model is what the bar shows; the app sets the fields.
type Model struct {
	st *styles.Styles

	Model     string // model name; "" while none is loaded
	Backend   string // CPU, CUDA, Metal, remote
	Loading   string // spinner + text while the model loads, "" otherwise
	ModelErr  bool   // the model failed to load
	TokPerSec float64
	CtxUsed   int
	CtxLen    int
	Vault     string
	Ledger    string
	Sync      string
	// Tuning is the session's settings ("temp 0.2 · system set").
	Tuning string
	// Activity is a short "adding files…" note with a spinner.
	Activity string
}

// New returns an empty bar.
func New(st *styles.Styles) Model { return Model{st: st} }

type item struct {
	text  string
	style lipgloss.Style
}

// View renders the bar exactly width columns wide.
func (m Model) View(width int) string {
	s := m.st
	var left item
	switch {
	case m.Loading != "":
		left = item{m.Loading, s.StatusWarn}
	case m.ModelErr:
		left = item{"no model", s.StatusWarn}
	case m.Model != "":
		left = item{m.Model, s.StatusModel}
	default:
		left = item{"nook", s.StatusModel}
	}
	// In order of importance: dropped from the end when narrow.
	var items []item
	if m.Backend != "" && m.Loading == "" {
		items = append(items, item{m.Backend, s.Status})
	}
	if m.Activity != "" {
		items = append(items, item{m.Activity, s.StatusWarn})
	}
	if m.Tuning != "" {
		items = append(items, item{m.Tuning, s.Status})
	}
	switch m.Vault {
	case VaultUnlocked:
		items = append(items, item{"vault unlocked", s.StatusOK})
	case VaultLocked:
		items = append(items, item{"vault locked", s.StatusWarn})
	case VaultUnlocking:
		items = append(items, item{"vault unlocking…", s.StatusWarn})
	case VaultNone:
		items = append(items, item{"no vault", s.StatusWarn})
	}
	if m.TokPerSec > 0 {
		items = append(items, item{fmt.Sprintf("%.0f tok/s", m.TokPerSec), s.Status})
	}
	if m.CtxLen > 0 {
		items = append(items, item{fmt.Sprintf("ctx %d/%d", m.CtxUsed, m.CtxLen), s.Status})
	}
	if m.Ledger != "" || m.Sync != "" { // known once the app asked
		items = append(items, item{"ledger " + dash(m.Ledger), s.Status}, item{"sync " + dash(m.Sync), s.Status})
	}

	sep := s.StatusSep.Render(" · ")
	render := func(its []item) string {
		parts := []string{left.style.Render(" " + termsafe.Line(left.text))}
		for _, it := range its {
			parts = append(parts, it.style.Render(termsafe.Line(it.text))) // model names, pull progress: GGUF and registry words
		}
		return strings.Join(parts, sep) + s.Status.Render(" ")
	}
	out := render(items)
	for len(items) > 0 && ansi.StringWidth(out) > width {
		items = items[:len(items)-1]
		out = render(items)
	}
	if w := ansi.StringWidth(out); w < width {
		out += s.Status.Render(strings.Repeat(" ", width-w))
	}
	return ansi.Truncate(out, width, "")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
