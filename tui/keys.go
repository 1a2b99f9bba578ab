package tui

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/nook-ai/nook/tui/components/chat"
	"github.com/nook-ai/nook/tui/components/editor"
	"github.com/nook-ai/nook/tui/components/sources"
)

// KeyMap is the app-wide keys; the components own theirs and help shows
// them together.
type KeyMap struct {
	Stop    key.Binding
	Sources key.Binding
	Copy    key.Binding
	New     key.Binding
	Help    key.Binding
	Quit    key.Binding
	Clear   key.Binding
	// Focus moves the keys to the sources panel; EditPrompt opens the
	// prompt in $EDITOR.
	Focus      key.Binding
	EditPrompt key.Binding

	Editor editor.KeyMap
	Chat   chat.KeyMap
	Panel  sources.KeyMap
}

// DefaultKeyMap returns the app's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Stop:       key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "stop answer")),
		Sources:    sources.DefaultKeyMap().Toggle,
		Copy:       key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy answer")),
		New:        key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "new session")),
		Help:       key.NewBinding(key.WithKeys("f1"), key.WithHelp("f1", "help")),
		Quit:       key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "quit")),
		Clear:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "clear input · quit")),
		Focus:      sources.DefaultKeyMap().Focus,
		EditPrompt: key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+e", "edit in $EDITOR")),
		Editor:     editor.DefaultKeyMap(),
		Chat:       chat.DefaultKeyMap(),
		Panel:      sources.DefaultKeyMap(),
	}
}

// ShortHelp is part of help.KeyMap: the bottom line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Stop, k.Editor.Send, k.Editor.Newline, k.Sources, k.Help, k.Quit}
}

// FullHelp is part of help.KeyMap: the /help screen.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Editor.Send, k.Editor.Newline, k.Editor.Complete, k.Editor.Prev, k.Editor.Next},
		{k.Stop, k.Clear, k.Sources, k.Focus, k.EditPrompt, k.Copy, k.New},
		{k.Panel.Up, k.Panel.Down, k.Panel.PageDown, k.Panel.Open, k.Panel.Edit, k.Panel.Leave},
		{k.Chat.PageUp, k.Chat.PageDown, k.Chat.Top, k.Chat.Bottom, k.Help, k.Quit},
	}
}
