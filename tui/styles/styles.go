package styles

import (
	"github.com/charmbracelet/lipgloss"
)

// Styles are the lipgloss styles of every part of the app, built once from
// a Theme for one renderer (one terminal).
type Styles struct {
	Theme    Theme
	Renderer *lipgloss.Renderer

	Base  lipgloss.Style
	Muted lipgloss.Style
	Title lipgloss.Style

	// Chat transcript.
	UserLabel   lipgloss.Style
	UserText    lipgloss.Style
	AnswerLabel lipgloss.Style
	Info        lipgloss.Style
	ErrorLine   lipgloss.Style
	ErrorMark   lipgloss.Style
	Hint        lipgloss.Style
	Stopped     lipgloss.Style
	Cite        lipgloss.Style
	// Tool calls: "⚙ name args → result", and the consent question.
	ToolMark   lipgloss.Style
	ToolName   lipgloss.Style
	ToolArgs   lipgloss.Style
	ToolResult lipgloss.Style
	ToolErr    lipgloss.Style
	ToolAsk    lipgloss.Style

	// Input.
	Prompt       lipgloss.Style
	EditorFrame  lipgloss.Style
	Placeholder  lipgloss.Style
	Cursor       lipgloss.Style
	Completion   lipgloss.Style
	CompletionOn lipgloss.Style

	// Side panel.
	Panel       lipgloss.Style
	PanelTitle  lipgloss.Style
	SourceNum   lipgloss.Style
	SourcePath  lipgloss.Style
	SourceLines lipgloss.Style
	SourceText  lipgloss.Style
	Uncited     lipgloss.Style

	// Status bar.
	Status      lipgloss.Style
	StatusModel lipgloss.Style
	StatusOK    lipgloss.Style
	StatusWarn  lipgloss.Style
	StatusSep   lipgloss.Style

	// Help (bubbles/help) and dialogs.
	HelpKey     lipgloss.Style
	HelpDesc    lipgloss.Style
	HelpSep     lipgloss.Style
	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	Selected    lipgloss.Style
	Spinner     lipgloss.Style
}

// New builds the styles of theme t for renderer r (lipgloss.NewRenderer on
// the program's output; its colour profile decides what is emitted).
func New(r *lipgloss.Renderer, t Theme) *Styles {
	n := r.NewStyle
	s := &Styles{Theme: t, Renderer: r}
	s.Base = n().Foreground(t.Fg)
	s.Muted = n().Foreground(t.Muted)
	s.Title = n().Foreground(t.Accent).Bold(true)

	s.UserLabel = n().Foreground(t.Accent).Bold(true)
	s.UserText = n().Foreground(t.Fg)
	s.AnswerLabel = n().Foreground(t.Answer).Bold(true)
	s.Info = n().Foreground(t.Muted)
	s.ErrorMark = n().Foreground(t.Error).Bold(true)
	s.ErrorLine = n().Foreground(t.Error)
	s.Hint = n().Foreground(t.Warn)
	s.Stopped = n().Foreground(t.Warn).Italic(true)
	s.Cite = n().Foreground(t.Cite).Bold(true)
	s.ToolMark = n().Foreground(t.Accent)
	s.ToolName = n().Foreground(t.Accent).Bold(true)
	s.ToolArgs = n().Foreground(t.Muted)
	s.ToolResult = n().Foreground(t.Success)
	s.ToolErr = n().Foreground(t.Error)
	s.ToolAsk = n().Foreground(t.Warn).Bold(true)

	s.Prompt = n().Foreground(t.Accent).Bold(true)
	s.EditorFrame = n().Border(lipgloss.NormalBorder(), true, false, false, false).BorderForeground(t.Muted)
	s.Placeholder = n().Foreground(t.Muted)
	s.Cursor = n().Foreground(t.Accent)
	s.Completion = n().Foreground(t.Muted)
	s.CompletionOn = n().Foreground(t.Accent).Bold(true)

	s.Panel = n().Border(lipgloss.NormalBorder(), false, false, false, true).BorderForeground(t.Muted).PaddingLeft(1)
	s.PanelTitle = n().Foreground(t.Accent).Bold(true)
	s.SourceNum = n().Foreground(t.Cite).Bold(true)
	s.SourcePath = n().Foreground(t.Fg)
	s.SourceLines = n().Foreground(t.Muted)
	s.SourceText = n().Foreground(t.Muted)
	s.Uncited = n().Foreground(t.Muted).Faint(true)

	s.Status = n().Foreground(t.Fg).Background(t.Subtle)
	s.StatusModel = n().Foreground(t.Accent).Background(t.Subtle).Bold(true)
	s.StatusOK = n().Foreground(t.Success).Background(t.Subtle)
	s.StatusWarn = n().Foreground(t.Warn).Background(t.Subtle)
	s.StatusSep = n().Foreground(t.Muted).Background(t.Subtle)
	if t.Name == "plain" {
		s.Status = n().Reverse(true)
		s.StatusModel = n().Reverse(true).Bold(true)
		s.StatusOK = n().Reverse(true)
		s.StatusWarn = n().Reverse(true)
		s.StatusSep = n().Reverse(true)
		s.Selected = n().Reverse(true)
	} else {
		s.Selected = n().Foreground(t.Accent).Bold(true)
	}

	s.HelpKey = n().Foreground(t.Accent)
	s.HelpDesc = n().Foreground(t.Muted)
	s.HelpSep = n().Foreground(t.Muted)
	s.Dialog = n().Border(lipgloss.RoundedBorder()).BorderForeground(t.Accent).Padding(0, 1)
	s.DialogTitle = n().Foreground(t.Accent).Bold(true)
	s.Spinner = n().Foreground(t.Accent)
	return s
}
