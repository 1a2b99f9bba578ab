// Command nook is the terminal-first personal AI assistant.
//
// This package only reads flags and config and wires packages together: each
// subcommand lives in its own file and registers itself with [register].
// Logic belongs in internal/assistant, engine, vault, models, ledgerclient
// and plugins; nothing here should be worth testing except through the CLI.
//
// Errors print as `nook: error: ...` and, when the error carries a hint
// (internal/hint), `nook: hint: ...`; the exit status is then 1.
package main
