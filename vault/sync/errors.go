package sync

import (
	"errors"
	"fmt"

	"github.com/nook-ai/nook/vault"
)

// Sentinel errors callers branch on with errors.Is. Each has a wire code
// (an Error message carries the code, and the receiving side turns it back
// into the same sentinel), so "refused" on one device is "refused" on the
// other.
var (
	// ErrRefused: the peer is not a currently valid nook/device delegate of
	// this identity (unknown, revoked, expired, or the device list is too
	// old and the chain cannot be reached).
	ErrRefused = errors.New("peer is not a device of this identity")
	// ErrWrongVault: the peer holds another vault.
	ErrWrongVault = errors.New("peer holds another vault")
	// ErrRollback: the peer offered an older head for a device than it did
	// before (its vault folder was restored from an older copy, or it
	// truncated a log).
	ErrRollback = errors.New("peer rolled a log back")
	// ErrFork: two different entries at one sequence number of one device:
	// that device's key may be compromised. It wraps vault.ErrFork.
	ErrFork = fmt.Errorf("sync: %w", vault.ErrFork)
	// ErrTruncated: the peer announced entries it then did not send.
	ErrTruncated = errors.New("peer sent a truncated log")
	// ErrCorrupt: the peer sent an entry, object or wrap that failed
	// verification (signature, hash chain, name, kind). Nothing of it was
	// stored. It wraps vault.ErrCorrupt.
	ErrCorrupt = fmt.Errorf("sync: %w", vault.ErrCorrupt)
	// ErrProtocol: garbage, an unexpected message or an oversized frame.
	ErrProtocol = errors.New("protocol violation")
	// ErrNotFound: the peer does not hold what was asked for.
	ErrNotFound = errors.New("not held by the peer")
	// ErrBusy: the peer is already syncing with this device.
	ErrBusy = errors.New("peer is busy")
	// ErrPairCode: the pairing code did not match.
	ErrPairCode = errors.New("wrong pairing code")
	// ErrPairClosed: no pairing window is open (never opened, expired,
	// used, or closed after too many wrong codes).
	ErrPairClosed = errors.New("no pairing window is open")
	// ErrNotPaired: this vault was never paired and no peer or listen
	// address is configured: sync is off.
	ErrNotPaired = errors.New("sync is off: this vault was never paired")
	// ErrInternal: the peer failed on its side (disk, vault locked).
	ErrInternal = errors.New("peer failed")
)

// wireCodes maps sentinels to the codes Error messages carry. Codes are
// part of the protocol: never renumber one.
var wireCodes = []struct {
	code uint64
	err  error
}{
	{1, ErrRefused},
	{2, ErrWrongVault},
	{3, ErrRollback},
	{4, ErrFork},
	{5, ErrTruncated},
	{6, ErrCorrupt},
	{7, ErrProtocol},
	{8, ErrNotFound},
	{9, ErrBusy},
	{10, ErrPairCode},
	{11, ErrPairClosed},
	{12, ErrInternal},
}

// codeOf is the wire code of err's sentinel (ErrInternal's when none).
func codeOf(err error) uint64 {
	for _, c := range wireCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return 12
}

// errOf is the sentinel of a wire code (ErrProtocol for an unknown code).
func errOf(code uint64) error {
	for _, c := range wireCodes {
		if c.code == code {
			return c.err
		}
	}
	return ErrProtocol
}

// RemoteError is an Error message a peer sent: Err is the sentinel of its
// code, Msg the peer's one-line reason.
type RemoteError struct {
	Err error
	Msg string
}

func (e *RemoteError) Error() string {
	if e.Msg == "" {
		return "peer: " + e.Err.Error()
	}
	return "peer: " + e.Msg
}

func (e *RemoteError) Unwrap() error { return e.Err }
