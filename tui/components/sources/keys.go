package sources

import "github.com/charmbracelet/bubbles/key"

// KeyMap toggles the panel and moves in it while it has the focus.
type KeyMap struct {
	Toggle   key.Binding
	Focus    key.Binding
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding
	Edit     key.Binding
	Leave    key.Binding
}

// DefaultKeyMap returns the panel's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Toggle:   key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "sources")),
		Focus:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus sources")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous source")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next source")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "shift+up"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "shift+down", " "), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home", "first source")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "last source")),
		Open:     key.NewBinding(key.WithKeys("enter", "o"), key.WithHelp("enter", "open in $PAGER")),
		Edit:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "open in $EDITOR")),
		Leave:    key.NewBinding(key.WithKeys("tab", "esc"), key.WithHelp("tab/esc", "back to the prompt")),
	}
}

// ShortHelp is part of help.KeyMap: the bottom line while focused.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageDown, k.Open, k.Edit, k.Leave}
}

// FullHelp is part of help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Toggle, k.Focus, k.Up, k.Down, k.PageUp, k.PageDown, k.Open, k.Edit, k.Leave}}
}
