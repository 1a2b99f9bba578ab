// Package appbackend is the terminal app's [tui.Backend] over the
// application layer (internal/app): a thin adapter that maps the app's
// types to the tui's and adds the hints that name the app's commands
// (/unlock, /model).
//
// Entry point: [New]. It must not hold state of its own beyond what the
// mapping needs (session creation times), do terminal I/O, or import
// bubbletea: package tui drives it from its tea.Cmds. It lives beside tui
// rather than in it so that tui itself never links llama.cpp.
package appbackend
