package vault

import "errors"

// Sentinel errors callers branch on with errors.Is. Errors returned by this
// package wrap them and name the file or folder involved; they never carry
// key material or vault contents.
var (
	// ErrNotInitialized: the folder holds no vault (no VAULT file or no key
	// file for this device). Fix: `nook init`.
	ErrNotInitialized = errors.New("no vault here")
	// ErrAlreadyInitialized: Init found an existing vault.
	ErrAlreadyInitialized = errors.New("vault already exists")
	// ErrWrongPassphrase: the passphrase does not unwrap this device's keys.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrLocked: no passphrase was given, or the Vault was closed.
	ErrLocked = errors.New("vault is locked")
	// ErrNotFound: no secret, session, memory fact or document of that name.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt: a file failed authentication or decoding (tampered,
	// truncated, or a log entry out of chain). The error names the file; the
	// rest of the vault stays readable.
	ErrCorrupt = errors.New("corrupt or tampered file")
	// ErrFork: another device offered an entry that differs from the one
	// held at the same sequence number of the same device's log. Only the
	// holder of that device's key can sign entries: it may be compromised.
	ErrFork = errors.New("forked log (possible key compromise)")
	// ErrGap: an entry that does not follow the device's last entry here.
	ErrGap = errors.New("sequence gap")
	// ErrRolledBack: a witness (the ledger's anchor of this device's head)
	// saw a later or another log than this folder holds: it was restored
	// from an older copy.
	ErrRolledBack = errors.New("vault rolled back to an older copy")
)
