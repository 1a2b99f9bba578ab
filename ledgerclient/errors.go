package ledgerclient

import "errors"

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotOwner: the key that signed a write does not own the identity.
	ErrNotOwner = errors.New("key is not the identity's owner")
	// ErrBadSignature: a relayed (...Signed) write carried an unusable signature.
	ErrBadSignature = errors.New("bad signature")
	// ErrNoRegistry: no registry contract is configured or deployed.
	ErrNoRegistry = errors.New("no registry contract")
	// ErrUnreachable: the chain did not answer.
	ErrUnreachable = errors.New("ledger unreachable")
	// ErrNoSecret is what a KeyStore returns (wrapped) for a name it does not
	// hold; fs.ErrNotExist is accepted too.
	ErrNoSecret = errors.New("secret not found")
	// ErrNoIdentity: the KeyStore holds no identity key yet.
	ErrNoIdentity = errors.New("no identity yet")
	// ErrIdentityExists: CreateIdentity found one already.
	ErrIdentityExists = errors.New("an identity already exists")
	// ErrTxFailed: a transaction was mined but reverted.
	ErrTxFailed = errors.New("transaction reverted")
	// ErrPinMismatch: the chain is not the one the vault pinned (another
	// chain id, genesis block, registry or registry code; see Trust).
	ErrPinMismatch = errors.New("not the chain this vault trusts")
)
