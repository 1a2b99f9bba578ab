package styles

import (
	"github.com/charmbracelet/glamour/ansi"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Theme is a palette of named colours plus the Markdown style that goes
// with it.
type Theme struct {
	Name string

	Fg      lipgloss.Color // body text
	Muted   lipgloss.Color // secondary text, borders
	Subtle  lipgloss.Color // faint backgrounds (status bar)
	Accent  lipgloss.Color // the user's messages, titles
	Answer  lipgloss.Color // the assistant's name
	Cite    lipgloss.Color // [n] marks and source numbers
	Success lipgloss.Color
	Warn    lipgloss.Color
	Error   lipgloss.Color

	// Markdown styles glamour renders answers with.
	Markdown ansi.StyleConfig
}

// Pick returns the theme for a terminal: noColor (NO_COLOR set, or a
// terminal without colours) wins over the background.
func Pick(dark, noColor bool) Theme {
	switch {
	case noColor:
		return Plain()
	case dark:
		return Dark()
	default:
		return Light()
	}
}

// Profile is the colour profile for a terminal: Ascii (no colour at all)
// when noColor, else the one given.
func Profile(p termenv.Profile, noColor bool) termenv.Profile {
	if noColor {
		return termenv.Ascii
	}
	return p
}
