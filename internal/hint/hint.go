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
