// Package earlyterm keeps the terminal app's library from asking the
// terminal a question while nook starts, so that commands that never draw
// (`nook search`, `nook ask`, scripts under a pty) do not wait on a
// terminal that does not answer.
//
// bubbletea v1's package init asks the terminal for its background colour
// (termenv sends OSC 11 and a cursor-position request, then waits up to 5 s
// for an answer). This package's init runs before bubbletea's: Go
// initialises packages in import-path order among those whose imports are
// done, and this one imports only os, which bubbletea needs too, while
// bubbletea also imports later-sorting packages ("log", "os/signal") that
// wait behind it. Its init sets TERM to "dumb" (termenv asks no questions of
// such a terminal); [Restore], the first thing main does, puts TERM back.
// The terminal app then asks for the background itself, once, before it
// takes the terminal (cmd/nook/tui.go).
//
// Entry point: [Restore]. This package must import nothing but the
// standard library's os: any import that sorts before bubbletea and
// depends on lipgloss would let bubbletea's init run first.
package earlyterm
