// Package logfile is a log file that stays small while it is written:
// [Open] returns a [Writer] that appends to a file and, when the file would
// pass its size cap, moves it to <name>.1 (the previous .1 to .2, and so
// on, the oldest dropped) and starts a new one. nook's plugin logs
// (<logs>/plugins/<id>.log) use it, and so can tui.log.
//
// A log must never stop what writes it: a Writer reports every write as
// done, drops what it could not write, and keeps the first error for
// [Writer.Err]. It is safe for concurrent use by one process; when two
// processes write the same file, each notices that the other rotated it
// and follows.
//
// logfile owns the files it is given and nothing else: no formatting, no
// levels, no sanitising (wrap it with internal/termsafe for untrusted
// text).
package logfile
