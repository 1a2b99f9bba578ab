package ledgerclient

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"
	"unicode"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Delegate types and attribute names nook uses (see the package doc).
var (
	DeviceType = crypto.Keccak256Hash([]byte("nook/device"))
	AttrX25519 = bytes32("did/pub/X25519/enc/base64")
	AttrScope  = bytes32("nook/scope")
)

// PlugType is the delegate type of a plugin grant for scope.
func PlugType(scope string) [32]byte { return crypto.Keccak256Hash([]byte("nook/plug/" + scope)) }

func bytes32(s string) (b [32]byte) {
	copy(b[:], s)
	return b
}

// ValidScope checks a scope name: 1 to 64 printable characters, no spaces.
func ValidScope(scope string) error {
	if scope == "" || len(scope) > 64 {
		return fmt.Errorf("ledger: scope %q must be 1 to 64 characters", scope)
	}
	for _, r := range scope {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("ledger: scope %q has a space or an unprintable character", scope)
		}
	}
	return nil
}

// Grant is a plugin's grant of one scope on an identity.
type Grant struct {
	Plugin  common.Address // the publisher's address (the delegate)
	Scope   string         // "" when no name was published for Type
	Type    [32]byte       // PlugType(Scope)
	Expires time.Time      // validTo; a revoked grant ends at its revocation
}

// Active reports whether the grant is valid at now.
func (g Grant) Active(now time.Time) bool { return g.Expires.After(now) }

// Grant gives plugin the scope on identity for d (or Forever), signed by
// owner. The first grant of a scope on an identity also publishes the
// scope's name (AttrScope) so other devices can list grants by name.
func (c *Client) Grant(ctx context.Context, owner *ecdsa.PrivateKey, identity, plugin common.Address, scope string, d time.Duration) (Grant, error) {
	return c.grant(ctx, owner, identity, plugin, scope, d, PlugType)
}

func (c *Client) grant(ctx context.Context, owner *ecdsa.PrivateKey, identity, delegate common.Address, scope string, d time.Duration, kind func(string) [32]byte) (Grant, error) {
	if err := ValidScope(scope); err != nil {
		return Grant{}, err
	}
	st, err := c.State(ctx, identity)
	if err != nil {
		return Grant{}, fmt.Errorf("ledger: grant %q: %w", scope, err)
	}
	if !st.scopeNamed(scope) {
		if _, err := c.SetAttribute(ctx, owner, identity, AttrScope, []byte(scope), Forever); err != nil {
			return Grant{}, fmt.Errorf("ledger: grant %q: publish scope name: %w", scope, err)
		}
	}
	if _, err := c.AddDelegate(ctx, owner, identity, kind(scope), delegate, d); err != nil {
		return Grant{}, fmt.Errorf("ledger: grant %q to %s: %w", scope, delegate.Hex(), err)
	}
	exp, err := c.DelegateValidTo(ctx, identity, kind(scope), delegate)
	if err != nil {
		return Grant{}, err
	}
	return Grant{Plugin: delegate, Scope: scope, Type: kind(scope), Expires: exp}, nil
}

// Revoke ends plugin's grant of scope on identity now.
func (c *Client) Revoke(ctx context.Context, owner *ecdsa.PrivateKey, identity, plugin common.Address, scope string) error {
	return c.revoke(ctx, owner, identity, plugin, scope, PlugType)
}

func (c *Client) revoke(ctx context.Context, owner *ecdsa.PrivateKey, identity, delegate common.Address, scope string, kind func(string) [32]byte) error {
	if err := ValidScope(scope); err != nil {
		return err
	}
	if _, err := c.RevokeDelegate(ctx, owner, identity, kind(scope), delegate); err != nil {
		return fmt.Errorf("ledger: revoke %q from %s: %w", scope, delegate.Hex(), err)
	}
	return nil
}

// AddDevice makes device a nook/device delegate of identity for d and, when
// x25519 is given (a raw 32-byte X25519 public key), publishes it as the
// device's age recipient.
func (c *Client) AddDevice(ctx context.Context, owner *ecdsa.PrivateKey, identity, device common.Address, x25519 []byte, d time.Duration) error {
	if len(x25519) != 0 && len(x25519) != 32 {
		return fmt.Errorf("ledger: device %s: X25519 key is %d bytes, want 32", device.Hex(), len(x25519))
	}
	if _, err := c.AddDelegate(ctx, owner, identity, DeviceType, device, d); err != nil {
		return fmt.Errorf("ledger: add device %s: %w", device.Hex(), err)
	}
	if len(x25519) == 32 {
		if _, err := c.SetAttribute(ctx, owner, identity, AttrX25519, x25519, d); err != nil {
			return fmt.Errorf("ledger: device %s: publish recipient: %w", device.Hex(), err)
		}
	}
	return nil
}

// Decision is Check's answer. Reason says why in words, including when the
// answer came from the cache because the chain did not answer.
type Decision struct {
	Allowed   bool
	Expires   time.Time // the grant's validTo (zero: never granted)
	Reason    string
	FromCache bool
	Block     uint64 // the block the answer was read at
}

type cacheKey struct {
	identity, plugin common.Address
	scope            string
	typ              [32]byte
}

type cacheEntry struct {
	block    uint64
	headTime time.Time
	validTo  *big.Int
	at       time.Time // when it was read from the chain
}

const maxCacheEntries = 4096

// Check says whether plugin holds a valid grant of scope on identity, from
// chain state at the head block (see the package doc for the cache and the
// unreachable-chain policy). When the chain does not answer and no cached
// answer is young enough, Check denies: the Decision says so and err wraps
// ErrUnreachable.
func (c *Client) Check(ctx context.Context, identity, plugin common.Address, scope string) (Decision, error) {
	return c.check(ctx, identity, plugin, scope, PlugType)
}

func (c *Client) check(ctx context.Context, identity, plugin common.Address, scope string, kind func(string) [32]byte) (Decision, error) {
	if err := ValidScope(scope); err != nil {
		return Decision{Reason: "invalid scope"}, err
	}
	reg, err := c.registry()
	if err != nil {
		return Decision{Reason: "no registry"}, err
	}
	key := cacheKey{identity, plugin, scope, kind(scope)}
	head, err := c.b.HeaderByNumber(ctx, nil)
	if err != nil {
		if ctx.Err() != nil {
			return Decision{Reason: "cancelled"}, ctx.Err()
		}
		return c.offline(key, err)
	}
	block, headTime := head.Number.Uint64(), time.Unix(int64(head.Time), 0)
	c.cacheMu.Lock()
	e, ok := c.cache[key]
	c.cacheMu.Unlock()
	if ok && e.block == block {
		d := c.decide(e.validTo, headTime)
		d.FromCache, d.Block = true, block
		return d, nil
	}
	v, err := reg.Delegates(&bind.CallOpts{Context: ctx, BlockNumber: head.Number}, identity, key.typ, plugin)
	if err != nil {
		if ctx.Err() != nil {
			return Decision{Reason: "cancelled"}, ctx.Err()
		}
		return c.offline(key, err)
	}
	c.cacheMu.Lock()
	if len(c.cache) >= maxCacheEntries {
		for k := range c.cache { // drop any one; the map has no order
			delete(c.cache, k)
			break
		}
	}
	c.cache[key] = cacheEntry{block: block, headTime: headTime, validTo: v, at: c.now()}
	c.cacheMu.Unlock()
	d := c.decide(v, headTime)
	d.Block = block
	return d, nil
}

// offline answers Check when the chain failed to: from a young enough cache
// entry, else a denial with ErrUnreachable.
func (c *Client) offline(key cacheKey, cause error) (Decision, error) {
	c.cacheMu.Lock()
	e, ok := c.cache[key]
	c.cacheMu.Unlock()
	age := c.now().Sub(e.at)
	if ok && age < c.ttl {
		d := c.decide(e.validTo, e.headTime)
		d.FromCache, d.Block = true, e.block
		d.Reason = fmt.Sprintf("%s (ledger unreachable: answered from block %d, read %s ago)", d.Reason, e.block, age.Round(time.Second))
		return d, nil
	}
	reason := "ledger unreachable and no cached answer: denied"
	if ok {
		reason = fmt.Sprintf("ledger unreachable and the cached answer expired (%s old, ttl %s): denied", age.Round(time.Second), c.ttl)
	}
	if !errors.Is(cause, ErrUnreachable) {
		cause = fmt.Errorf("%w: %w", ErrUnreachable, cause)
	}
	return Decision{Reason: reason}, fmt.Errorf("ledger: check %q for %s: %w", key.scope, key.plugin.Hex(), cause)
}

// decide judges validTo against the later of the local clock and the head
// block's time: a chain that mines on demand may have an old head, and a
// test chain may run ahead of the wall clock.
func (c *Client) decide(validTo *big.Int, headTime time.Time) Decision {
	now := c.now()
	if headTime.After(now) {
		now = headTime
	}
	exp := unixTime(validTo)
	switch {
	case exp.IsZero():
		return Decision{Reason: "no grant"}
	case !exp.After(now):
		return Decision{Expires: exp, Reason: "grant ended " + exp.UTC().Format(time.RFC3339) + " (expired or revoked)"}
	case Never(exp):
		return Decision{Allowed: true, Expires: exp, Reason: "granted, no expiry"}
	default:
		return Decision{Allowed: true, Expires: exp, Reason: "granted until " + exp.UTC().Format(time.RFC3339)}
	}
}

// DropCache forgets every cached Check answer.
func (c *Client) DropCache() {
	c.cacheMu.Lock()
	clear(c.cache)
	c.cacheMu.Unlock()
}
