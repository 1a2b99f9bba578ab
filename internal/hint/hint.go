// Package hint attaches a user-facing "what to do next" line to an error.
//
// Library packages return errors wrapped with context; where the fix is
// something the user does (unlock the vault, pull a model, add a grant) they
// wrap with [New] so the CLI and the TUI can show it as a second line:
//
//	nook: error: vault: open /home/u/.local/share/nook/vault: wrong passphrase
//	nook: hint: try again, or set NOOK_PASSPHRASE for scripts
package hint

import "errors"

type withHint struct {
	err  error
	hint string
}

func (e *withHint) Error() string { return e.err.Error() }
func (e *withHint) Unwrap() error { return e.err }

// New returns err carrying the hint. A nil err stays nil.
func New(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &withHint{err: err, hint: hint}
}

// Of returns the outermost hint in err's chain, or "".
func Of(err error) string {
	var h *withHint
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}
