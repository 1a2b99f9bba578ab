package models

import "errors"

var (
	// ErrNotFound: the model is not in any local store, or a registry has no such name.
	ErrNotFound = errors.New("model not found")
	// ErrNotAFile: a model path names a FIFO, device, socket or folder.
	ErrNotAFile = errors.New("not a regular file")
	// ErrDigestMismatch: a downloaded blob's sha256 is not the one the manifest names.
	// The partial file is removed.
	ErrDigestMismatch = errors.New("sha256 digest mismatch")
	// ErrStalled: the server sent no bytes for the stall timeout. What was
	// fetched is kept; pulling again resumes.
	ErrStalled = errors.New("download stalled")
	// ErrUnreachable: the registry could not be reached (DNS, connect, TLS).
	ErrUnreachable = errors.New("registry unreachable")
)
