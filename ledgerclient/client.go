package ledgerclient

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nook-ai/nook/ledgerclient/contracts"
)

// Backend is what the client needs from a chain: *ethclient.Client and the
// simulated backend's client both satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
}

// DefaultCacheTTL is how long a cached Check answer may stand in for the
// chain when the chain does not answer.
const DefaultCacheTTL = 30 * time.Second

// Forever, as a validity, never expires (uint256 max on chain).
const Forever time.Duration = 1<<63 - 1

// Client reads and writes the registry on one chain. Its methods are safe
// for concurrent use; writes are sent one at a time.
type Client struct {
	b       Backend
	chainID *big.Int
	payer   *ecdsa.PrivateKey
	commit  func()
	ttl     time.Duration
	now     func() time.Time

	regAddr common.Address
	reg     *contracts.Registry

	sendMu  sync.Mutex
	cacheMu sync.Mutex
	cache   map[cacheKey]cacheEntry

	pinMu  sync.Mutex
	pin    *Pin  // the chain the vault trusts (pin.go); nil: unchecked
	pinErr error // set when the chain differs from the pin
}

// Option configures New.
type Option func(*Client)

// WithRegistry binds the client to a deployed registry.
func WithRegistry(addr common.Address) Option { return func(c *Client) { c.regAddr = addr } }

// WithPayer sets the account that sends (and pays for) transactions. When it
// is not the identity's owner, writes are signed by the owner and relayed by
// the payer through the ...Signed variants. Default: the owner pays.
func WithPayer(k *ecdsa.PrivateKey) Option { return func(c *Client) { c.payer = k } }

// WithCommit sets a function called after each transaction is sent, for
// chains that mine only on request (the simulated backend's Commit, the
// embedded dev chain's).
func WithCommit(f func()) Option { return func(c *Client) { c.commit = f } }

// WithCacheTTL sets how long a cached Check answer stands in for an
// unreachable chain (default DefaultCacheTTL; 0 disables that fallback).
func WithCacheTTL(d time.Duration) Option { return func(c *Client) { c.ttl = d } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New binds a client to a chain. It asks the chain for its id, so an
// unreachable chain fails here with ErrUnreachable.
func New(ctx context.Context, b Backend, opts ...Option) (*Client, error) {
	c := &Client{b: b, ttl: DefaultCacheTTL, now: time.Now, cache: map[cacheKey]cacheEntry{}}
	for _, o := range opts {
		o(c)
	}
	if c.ttl < 0 {
		return nil, fmt.Errorf("ledger: negative cache ttl %v", c.ttl)
	}
	id, err := b.ChainID(ctx)
	if err != nil {
		return nil, wrapRPC("ledger: chain id", err)
	}
	c.chainID = id
	if c.regAddr != (common.Address{}) {
		if err := c.bind(c.regAddr); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) bind(addr common.Address) error {
	reg, err := contracts.NewRegistry(addr, c.b)
	if err != nil {
		return fmt.Errorf("ledger: bind registry %s: %w", addr.Hex(), err)
	}
	c.reg, c.regAddr = reg, addr
	return nil
}

// ChainID is the chain's id, as read by New.
func (c *Client) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Registry is the registry's address (zero before Deploy or WithRegistry).
func (c *Client) Registry() common.Address { return c.regAddr }

// DID names identity on this chain.
func (c *Client) DID(identity common.Address) string { return DID(c.chainID, identity) }

// Deploy installs a new registry, paid by the payer, and binds the client
// to it.
func (c *Client) Deploy(ctx context.Context) (common.Address, error) {
	if c.payer == nil {
		return common.Address{}, errors.New("ledger: deploy: no payer account")
	}
	var addr common.Address
	_, err := c.transact(ctx, "deploy registry", c.payer, func(o *bind.TransactOpts) (*types.Transaction, error) {
		a, tx, _, err := contracts.DeployRegistry(o, c.b)
		addr = a
		return tx, err
	})
	if err != nil {
		return common.Address{}, err
	}
	if err := c.bind(addr); err != nil {
		return common.Address{}, err
	}
	return addr, nil
}

// HasRegistry reports whether the bound registry address holds code.
func (c *Client) HasRegistry(ctx context.Context) (bool, error) {
	if c.reg == nil {
		return false, nil
	}
	code, err := c.b.CodeAt(ctx, c.regAddr, nil)
	if err != nil {
		return false, wrapRPC("ledger: registry code", err)
	}
	return len(code) > 0, nil
}

// Status is what `nook ledger status` shows.
type Status struct {
	ChainID   *big.Int
	Block     uint64
	BlockTime time.Time
	Registry  common.Address
	Deployed  bool // code at Registry
}

// Status reads the chain's head and checks the registry.
func (c *Client) Status(ctx context.Context) (Status, error) {
	s := Status{ChainID: c.ChainID(), Registry: c.regAddr}
	h, err := c.b.HeaderByNumber(ctx, nil)
	if err != nil {
		return s, wrapRPC("ledger: head", err)
	}
	s.Block, s.BlockTime = h.Number.Uint64(), time.Unix(int64(h.Time), 0)
	s.Deployed, err = c.HasRegistry(ctx)
	return s, err
}

func (c *Client) registry() (*contracts.Registry, error) {
	if c.reg == nil {
		return nil, fmt.Errorf("ledger: %w", ErrNoRegistry)
	}
	return c.reg, nil
}

// Owner is identity's current owner (the identity itself until changed).
func (c *Client) Owner(ctx context.Context, identity common.Address) (common.Address, error) {
	reg, err := c.registry()
	if err != nil {
		return common.Address{}, err
	}
	o, err := reg.IdentityOwner(&bind.CallOpts{Context: ctx}, identity)
	if err != nil {
		return common.Address{}, wrapRPC("ledger: owner of "+identity.Hex(), err)
	}
	return o, nil
}

// ValidDelegate asks the registry whether delegate is a valid delegate of
// the type for identity (judged by the head block's time).
func (c *Client) ValidDelegate(ctx context.Context, identity common.Address, delegateType [32]byte, delegate common.Address) (bool, error) {
	reg, err := c.registry()
	if err != nil {
		return false, err
	}
	ok, err := reg.ValidDelegate(&bind.CallOpts{Context: ctx}, identity, delegateType, delegate)
	if err != nil {
		return false, wrapRPC("ledger: valid delegate", err)
	}
	return ok, nil
}

// DelegateValidTo is the time until which delegate is valid (zero time: never added).
func (c *Client) DelegateValidTo(ctx context.Context, identity common.Address, delegateType [32]byte, delegate common.Address) (time.Time, error) {
	reg, err := c.registry()
	if err != nil {
		return time.Time{}, err
	}
	v, err := reg.Delegates(&bind.CallOpts{Context: ctx}, identity, delegateType, delegate)
	if err != nil {
		return time.Time{}, wrapRPC("ledger: delegate", err)
	}
	return unixTime(v), nil
}

// AddDelegate makes delegate a delegate of the type for validity, signed by
// owner (the identity's current owner key).
func (c *Client) AddDelegate(ctx context.Context, owner *ecdsa.PrivateKey, identity common.Address, delegateType [32]byte, delegate common.Address, validity time.Duration) (*types.Receipt, error) {
	val, err := validitySeconds(validity)
	if err != nil {
		return nil, err
	}
	return c.write(ctx, "add delegate", owner, identity,
		func(reg *contracts.Registry, o *bind.TransactOpts) (*types.Transaction, error) {
			return reg.AddDelegate(o, identity, delegateType, delegate, val)
		},
		func(reg *contracts.Registry, o *bind.TransactOpts, v uint8, r, s [32]byte) (*types.Transaction, error) {
			return reg.AddDelegateSigned(o, identity, v, r, s, delegateType, delegate, val)
		},
		[]byte("addDelegate"), delegateType[:], delegate.Bytes(), word(val))
}

// RevokeDelegate ends delegate's validity now.
func (c *Client) RevokeDelegate(ctx context.Context, owner *ecdsa.PrivateKey, identity common.Address, delegateType [32]byte, delegate common.Address) (*types.Receipt, error) {
	return c.write(ctx, "revoke delegate", owner, identity,
		func(reg *contracts.Registry, o *bind.TransactOpts) (*types.Transaction, error) {
			return reg.RevokeDelegate(o, identity, delegateType, delegate)
		},
		func(reg *contracts.Registry, o *bind.TransactOpts, v uint8, r, s [32]byte) (*types.Transaction, error) {
			return reg.RevokeDelegateSigned(o, identity, v, r, s, delegateType, delegate)
		},
		[]byte("revokeDelegate"), delegateType[:], delegate.Bytes())
}

// SetAttribute publishes an attribute (it lives in the event log only).
func (c *Client) SetAttribute(ctx context.Context, owner *ecdsa.PrivateKey, identity common.Address, name [32]byte, value []byte, validity time.Duration) (*types.Receipt, error) {
	val, err := validitySeconds(validity)
	if err != nil {
		return nil, err
	}
	return c.write(ctx, "set attribute", owner, identity,
		func(reg *contracts.Registry, o *bind.TransactOpts) (*types.Transaction, error) {
			return reg.SetAttribute(o, identity, name, value, val)
		},
		func(reg *contracts.Registry, o *bind.TransactOpts, v uint8, r, s [32]byte) (*types.Transaction, error) {
			return reg.SetAttributeSigned(o, identity, v, r, s, name, value, val)
		},
		[]byte("setAttribute"), name[:], value, word(val))
}

// RevokeAttribute withdraws an attribute.
func (c *Client) RevokeAttribute(ctx context.Context, owner *ecdsa.PrivateKey, identity common.Address, name [32]byte, value []byte) (*types.Receipt, error) {
	return c.write(ctx, "revoke attribute", owner, identity,
		func(reg *contracts.Registry, o *bind.TransactOpts) (*types.Transaction, error) {
			return reg.RevokeAttribute(o, identity, name, value)
		},
		func(reg *contracts.Registry, o *bind.TransactOpts, v uint8, r, s [32]byte) (*types.Transaction, error) {
			return reg.RevokeAttributeSigned(o, identity, v, r, s, name, value)
		},
		[]byte("revokeAttribute"), name[:], value)
}

// ChangeOwner moves control of identity to newOwner.
func (c *Client) ChangeOwner(ctx context.Context, owner *ecdsa.PrivateKey, identity, newOwner common.Address) (*types.Receipt, error) {
	return c.write(ctx, "change owner", owner, identity,
		func(reg *contracts.Registry, o *bind.TransactOpts) (*types.Transaction, error) {
			return reg.ChangeOwner(o, identity, newOwner)
		},
		func(reg *contracts.Registry, o *bind.TransactOpts, v uint8, r, s [32]byte) (*types.Transaction, error) {
			return reg.ChangeOwnerSigned(o, identity, v, r, s, newOwner)
		},
		[]byte("changeOwner"), newOwner.Bytes())
}

type (
	directFn func(*contracts.Registry, *bind.TransactOpts) (*types.Transaction, error)
	signedFn func(*contracts.Registry, *bind.TransactOpts, uint8, [32]byte, [32]byte) (*types.Transaction, error)
)

// write sends a registry write: directly when the payer is owner (or there
// is no payer), else signed by owner and relayed by the payer. parts are the
// call's packed arguments after the identity, as the contract hashes them.
func (c *Client) write(ctx context.Context, what string, owner *ecdsa.PrivateKey, identity common.Address, direct directFn, signed signedFn, parts ...[]byte) (*types.Receipt, error) {
	reg, err := c.registry()
	if err != nil {
		return nil, err
	}
	if owner == nil {
		return nil, fmt.Errorf("ledger: %s: no owner key", what)
	}
	if c.payer == nil || Address(c.payer) == Address(owner) {
		return c.transact(ctx, what, owner, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return direct(reg, o)
		})
	}
	// Relayed: the hash reads the owner's nonce, so signing and sending
	// happen under the send lock.
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	h, err := c.signedHash(ctx, identity, parts...)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", what, err)
	}
	v, r, s, err := Sign(h, owner)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", what, err)
	}
	return c.transactLocked(ctx, what, c.payer, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return signed(reg, o, v, r, s)
	})
}

// SignedHash is the hash an owner signs for a ...Signed call on this
// registry: keccak256(0x19 0x00 registry nonce[owner] identity parts...).
func (c *Client) signedHash(ctx context.Context, identity common.Address, parts ...[]byte) (common.Hash, error) {
	reg, err := c.registry()
	if err != nil {
		return common.Hash{}, err
	}
	opts := &bind.CallOpts{Context: ctx}
	owner, err := reg.IdentityOwner(opts, identity)
	if err != nil {
		return common.Hash{}, wrapRPC("owner", err)
	}
	nonce, err := reg.Nonce(opts, owner)
	if err != nil {
		return common.Hash{}, wrapRPC("nonce", err)
	}
	return SignedHash(c.regAddr, nonce, identity, parts...), nil
}

// SignedHash computes what the registry at registry recovers a ...Signed
// call's signer from, given the owner's nonce; parts are the method name and
// its packed arguments after identity (e.g. "addDelegate", type, delegate,
// validity as a 32-byte word).
func SignedHash(registry common.Address, nonce *big.Int, identity common.Address, parts ...[]byte) common.Hash {
	var buf bytes.Buffer
	buf.Write([]byte{0x19, 0x00})
	buf.Write(registry.Bytes())
	buf.Write(word(nonce))
	buf.Write(identity.Bytes())
	for _, p := range parts {
		buf.Write(p)
	}
	return crypto256(buf.Bytes())
}

func (c *Client) transact(ctx context.Context, what string, key *ecdsa.PrivateKey, f func(*bind.TransactOpts) (*types.Transaction, error)) (*types.Receipt, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.transactLocked(ctx, what, key, f)
}

func (c *Client) transactLocked(ctx context.Context, what string, key *ecdsa.PrivateKey, f func(*bind.TransactOpts) (*types.Transaction, error)) (*types.Receipt, error) {
	opts, err := bind.NewKeyedTransactorWithChainID(key, c.chainID)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", what, err)
	}
	opts.Context = ctx
	// Build once to have the node estimate the gas (a revert surfaces
	// here), then send with a margin: estimates measured against the head
	// have come out short of what the next block charges.
	opts.NoSend = true
	tx, err := f(opts)
	if err != nil {
		return nil, c.txError(what, err)
	}
	opts.NoSend = false
	opts.GasLimit = tx.Gas() + tx.Gas()/4
	if tx, err = f(opts); err != nil {
		return nil, c.txError(what, err)
	}
	if c.commit != nil {
		c.commit()
	}
	rcpt, err := bind.WaitMined(ctx, c.b, tx)
	if err != nil {
		return nil, wrapRPC("ledger: "+what+": wait for "+tx.Hash().Hex(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, fmt.Errorf("ledger: %s: tx %s: %w", what, tx.Hash().Hex(), ErrTxFailed)
	}
	return rcpt, nil
}

var registryABI = func() *abi.ABI {
	a, err := contracts.RegistryMetaData.GetAbi()
	if err != nil {
		panic(err) // the committed ABI is checked by the contracts tests
	}
	return a
}()

// txError turns a failed send (usually a revert found by gas estimation)
// into ErrNotOwner / ErrBadSignature / ErrUnreachable where it can.
func (c *Client) txError(what string, err error) error {
	var de rpc.DataError
	if errors.As(err, &de) {
		var data []byte
		switch d := de.ErrorData().(type) {
		case string:
			data, _ = hexutil.Decode(d)
		case []byte:
			data = d
		}
		if len(data) >= 4 {
			for name, e := range registryABI.Errors {
				if !bytes.Equal(data[:4], e.ID[:4]) {
					continue
				}
				switch name {
				case "NotOwner":
					return fmt.Errorf("ledger: %s: %w", what, ErrNotOwner)
				case "BadSignature":
					return fmt.Errorf("ledger: %s: %w", what, ErrBadSignature)
				}
			}
		}
	}
	return wrapRPC("ledger: "+what, err)
}

// wrapRPC adds context and marks transport failures with ErrUnreachable.
func wrapRPC(what string, err error) error {
	if isUnreachable(err) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isUnreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ne), errors.As(err, &ue),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, rpc.ErrClientQuit),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, ErrUnreachable):
		return true
	}
	return strings.Contains(err.Error(), "connection refused")
}

func validitySeconds(d time.Duration) (*big.Int, error) {
	if d == Forever {
		return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), nil
	}
	if d < time.Second {
		return nil, fmt.Errorf("ledger: validity %v is under a second", d)
	}
	return big.NewInt(int64(d / time.Second)), nil
}

// maxTime stands for "never expires" (and any validTo past year 9999).
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func unixTime(v *big.Int) time.Time {
	if v == nil || v.Sign() == 0 {
		return time.Time{}
	}
	if !v.IsInt64() || v.Int64() > maxTime.Unix() {
		return maxTime
	}
	return time.Unix(v.Int64(), 0)
}

// Never reports whether t stands for "no expiry".
func Never(t time.Time) bool { return !t.Before(maxTime) }

func word(v *big.Int) []byte { return common.LeftPadBytes(v.Bytes(), 32) }
