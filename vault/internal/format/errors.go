package format

import "errors"

var (
	// ErrMalformed: bytes that do not decode (truncated, foreign, garbage).
	ErrMalformed = errors.New("malformed")
	// ErrBadSignature: a log entry whose signature does not verify, or that
	// was signed by another device than the one it names.
	ErrBadSignature = errors.New("bad signature")
	// ErrAuth: an object, wrap or snapshot that fails authentication (its
	// name, recipient or MAC does not match its contents).
	ErrAuth = errors.New("authentication failed")
	// ErrWrongPassphrase: the passphrase does not open a key file whose
	// checksum is intact.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrDamaged: a key file whose checksum does not match its contents.
	ErrDamaged = errors.New("damaged key file")
)
