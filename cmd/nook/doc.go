// Command nook is the terminal-first personal AI assistant.
//
// Every command is flags → config → app → output: this package parses
// flags, loads the config (internal/config), calls the application layer
// (internal/app: engines, vault, ledger, plugins) and prints the result.
// It also owns what needs the terminal: passphrase and consent prompts,
// progress lines on stderr, and the terminal set-up of the app (tui over
// tui/appbackend) and of the server (`nook serve`, `nook mcp`: package
// serve over serve/appbackend). Each subcommand lives in its own file and registers
// itself with [register]; nothing here should be worth testing except
// through the CLI.
//
// Errors print as `nook: error: ...` and, when the error carries a hint
// (internal/hint), `nook: hint: ...`; the exit status is then 1.
package main
