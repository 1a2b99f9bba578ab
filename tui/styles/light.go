package styles

import (
	"github.com/charmbracelet/glamour/styles"
	"github.com/charmbracelet/lipgloss"
)

// Light is the theme for light terminal backgrounds.
func Light() Theme {
	return Theme{
		Name:     "light",
		Fg:       lipgloss.Color("235"),
		Muted:    lipgloss.Color("242"),
		Subtle:   lipgloss.Color("254"),
		Accent:   lipgloss.Color("25"),
		Answer:   lipgloss.Color("28"),
		Cite:     lipgloss.Color("130"),
		Success:  lipgloss.Color("28"),
		Warn:     lipgloss.Color("166"),
		Error:    lipgloss.Color("160"),
		Markdown: styles.LightStyleConfig,
	}
}
