// Package tui is nook's terminal app (bubbletea, lipgloss, glamour).
//
// Entry points: [Run] starts the app on a terminal; [New] returns the root
// model (for tests and custom programs); [Backend] is everything the app
// needs from the rest of nook. The package never touches the vault, the
// models or C: tui/appbackend implements Backend over internal/app and the
// app calls it only from tea.Cmds, so Update never blocks and the first
// frame is drawn before any model is loaded.
//
// The only disk and process work of its own is in extern.go, each step in
// a tea.Cmd or tea.ExecProcess: Enter on a source in the focused sources
// panel (tab) runs `$PAGER +LINE FILE` (less by default; e opens
// `$EDITOR +LINE FILE`), Ctrl+E edits the prompt in $VISUAL or $EDITOR
// through a private temporary file removed when the editor exits, and
// @path in a question attaches that file's text (at most 16 KB, with a
// one-line note when cut or unreadable; tab completes the path). While a
// program runs the app is suspended, and it redraws when it exits.
//
// The mouse: Run turns on cell-motion reporting so that the wheel scrolls
// the chat (or the sources panel under the pointer). That takes plain
// drag-selection from the terminal, so shift+drag selects (xterm, VTE,
// kitty, alacritty, WezTerm, Windows Terminal; option+drag in iTerm2) and
// /mouse turns reporting off for the whole session.
//
// A quit while /add runs stops it at the next file and quits once the
// files it finished are written to the vault.
package tui
