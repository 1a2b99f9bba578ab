// Package commands holds the terminal app's slash commands as data: an ID,
// a title for /help, a usage line, an optional shortcut and a handler that
// only emits a typed message. [Parse] splits a line into a command and its
// arguments; [Complete] finds the commands a prefix could mean.
package commands

import (
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// Command is one slash command.
type Command struct {
	ID       string // the word after the slash: "model"
	Title    string // one line for /help
	Usage    string // "/model [NAME]"
	Shortcut string // a key that does the same, shown in /help ("ctrl+o")
	// Handler turns the arguments into a message for the app; it must not
	// do I/O (the app answers the message with a tea.Cmd).
	Handler func(args string) tea.Msg
}

// Invoked is the message every handler of the default set emits: the app
// switches on ID.
type Invoked struct {
	ID   string
	Args string
}

// Set is an ordered list of commands.
type Set []Command

func invoke(id string) func(string) tea.Msg {
	return func(args string) tea.Msg { return Invoked{ID: id, Args: strings.TrimSpace(args)} }
}

// Default returns nook's commands in /help order.
func Default() Set {
	c := func(id, usage, title, shortcut string) Command {
		return Command{ID: id, Usage: usage, Title: title, Shortcut: shortcut, Handler: invoke(id)}
	}
	return Set{
		c("help", "/help", "show commands and keys", "f1"),
		c("model", "/model [NAME]", "pick a local model, or load NAME", ""),
		c("add", "/add PATH...", "add files or folders to the vault", ""),
		c("search", "/search QUERY", "search the vault; results go to the sources panel", ""),
		c("sources", "/sources", "show or hide the sources panel", "ctrl+o"),
		c("remember", "/remember TEXT", "keep a fact for every answer", ""),
		c("forget", "/forget [ID|TEXT]", "forget facts; without TEXT, list them", ""),
		c("new", "/new", "start a new session", "ctrl+n"),
		c("retry", "/retry", "ask the last question again, dropping its answer", ""),
		c("sessions", "/sessions", "resume a saved session", ""),
		c("system", "/system [TEXT|off]", "add instructions to the system prompt for this session", ""),
		c("temp", "/temp [N|off]", "set the sampling temperature (0–2) for this session", ""),
		c("mouse", "/mouse", "turn mouse wheel scrolling off or on (off: plain text selection)", ""),
		c("copy", "/copy", "copy the last answer to the clipboard", "ctrl+y"),
		c("unlock", "/unlock", "unlock the vault", ""),
		c("plugs", "/plugs", "list plugins", ""),
		c("sync", "/sync", "sync the vault with your devices now", ""),
		c("quit", "/quit", "leave nook", "ctrl+d"),
	}
}

// Find returns the command with id, or false.
func (s Set) Find(id string) (Command, bool) {
	for _, c := range s {
		if c.ID == id {
			return c, true
		}
	}
	return Command{}, false
}

// Parse splits "/name args" into the command name and its arguments. ok is
// false when line is not a slash command (a line starting with "//" is text
// with one slash dropped by the caller).
func Parse(line string) (name, args string, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		return "", "", false
	}
	name, args, _ = strings.Cut(line[1:], " ")
	return strings.ToLower(name), strings.TrimSpace(args), true
}

// Complete returns the commands whose ID starts with prefix (the text
// after the slash, before any space), exact match first, then in order.
func (s Set) Complete(prefix string) []Command {
	prefix = strings.ToLower(prefix)
	var out []Command
	for _, c := range s {
		if strings.HasPrefix(c.ID, prefix) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID == prefix && out[j].ID != prefix })
	return out
}
