// Package hint attaches a user-facing "what to do next" line to an error.
//
// Library packages return errors wrapped with context; where the fix is
// something the user does (unlock the vault, pull a model, add a grant) they
// wrap with [New] so the CLI and the TUI can show it as a second line:
//
//	nook: error: vault: open /home/u/.local/share/nook/vault: wrong passphrase
//	nook: hint: try again, or set NOOK_PASSPHRASE for scripts
package hint
