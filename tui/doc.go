// Package tui is nook's terminal app (bubbletea, lipgloss, glamour).
//
// It must not touch the disk or C: engine, vault, ledger and sync calls run
// in tea.Cmds that the caller's packages provide.
package tui
