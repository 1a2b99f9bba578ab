package prompt

import "github.com/charmbracelet/bubbles/key"

// KeyMap submits or skips the prompt.
type KeyMap struct {
	Submit key.Binding
	Cancel key.Binding
}

// DefaultKeyMap returns the prompt's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")),
		Cancel: key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "skip")),
	}
}

// ShortHelp is part of help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Submit, k.Cancel} }

// FullHelp is part of help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }
