package chat

import "github.com/charmbracelet/bubbles/key"

// KeyMap scrolls the transcript.
type KeyMap struct {
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
}

// DefaultKeyMap returns the transcript's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		PageUp:   key.NewBinding(key.WithKeys("pgup", "shift+up"), key.WithHelp("pgup", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "shift+down"), key.WithHelp("pgdn", "scroll down")),
		Top:      key.NewBinding(key.WithKeys("ctrl+home"), key.WithHelp("ctrl+home", "first message")),
		Bottom:   key.NewBinding(key.WithKeys("ctrl+end"), key.WithHelp("ctrl+end", "last message")),
	}
}

// ShortHelp is part of help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.PageUp, k.PageDown} }

// FullHelp is part of help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.PageUp, k.PageDown, k.Top, k.Bottom}}
}
