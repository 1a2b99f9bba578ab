package sources

import "github.com/charmbracelet/bubbles/key"

// KeyMap toggles the panel.
type KeyMap struct {
	Toggle key.Binding
}

// DefaultKeyMap returns the panel's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{Toggle: key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "sources"))}
}

// ShortHelp is part of help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Toggle} }

// FullHelp is part of help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{{k.Toggle}} }
