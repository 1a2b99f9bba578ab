package tui

import (
	"context"
	"io"

	tea "github.com/charmbracelet/bubbletea"
)

// Run starts the app on the terminal (in and out) and returns when the user
// quits or ctx ends.
func Run(ctx context.Context, b Backend, in io.Reader, out io.Writer, o Options) error {
	// The mouse is reported so that the wheel scrolls; shift+drag still
	// selects text in xterm, VTE, kitty, alacritty, WezTerm and Windows
	// Terminal (option+drag in iTerm2), and /mouse turns it off.
	o.Mouse = true
	p := tea.NewProgram(New(ctx, b, o),
		tea.WithMouseCellMotion(),
		tea.WithContext(ctx),
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithAltScreen(),
	)
	stop := suspendOnSignal(p)
	defer stop()
	_, err := p.Run()
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
