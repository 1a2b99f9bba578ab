package styles

import (
	"github.com/charmbracelet/glamour/styles"
	"github.com/charmbracelet/lipgloss"
)

// Dark is the theme for dark terminal backgrounds.
func Dark() Theme {
	return Theme{
		Name:     "dark",
		Fg:       lipgloss.Color("252"),
		Muted:    lipgloss.Color("245"),
		Subtle:   lipgloss.Color("236"),
		Accent:   lipgloss.Color("75"),
		Answer:   lipgloss.Color("114"),
		Cite:     lipgloss.Color("180"),
		Success:  lipgloss.Color("78"),
		Warn:     lipgloss.Color("214"),
		Error:    lipgloss.Color("203"),
		Markdown: styles.DarkStyleConfig,
	}
}
