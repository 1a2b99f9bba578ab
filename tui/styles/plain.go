package styles

import "github.com/charmbracelet/glamour/styles"

// Plain is the theme without colours (NO_COLOR): structure comes from
// bold, reverse video and text marks only.
func Plain() Theme {
	return Theme{Name: "plain", Markdown: styles.NoTTYStyleConfig}
}
