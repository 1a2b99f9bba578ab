package editor

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the input's keys beyond plain editing.
type KeyMap struct {
	Send     key.Binding
	Newline  key.Binding
	Complete key.Binding
	Prev     key.Binding
	Next     key.Binding
}

// DefaultKeyMap returns the input's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Send:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Newline:  key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"), key.WithHelp("alt+enter", "new line")),
		Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete /command or @path")),
		Prev:     key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "earlier input")),
		Next:     key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "later input")),
	}
}

// ShortHelp is part of help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Send, k.Newline} }

// FullHelp is part of help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Send, k.Newline, k.Complete, k.Prev, k.Next}}
}
