// Package tui is nook's terminal app (bubbletea, lipgloss, glamour).
//
// Entry points: [Run] starts the app on a terminal; [New] returns the root
// model (for tests and custom programs); [Backend] is everything the app
// needs from the rest of nook. The package never touches the disk or C:
// tui/appbackend implements Backend over internal/app and the app
// calls it only from tea.Cmds, so Update never blocks and the first frame
// is drawn before any model is loaded.
package tui
