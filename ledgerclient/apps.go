package ledgerclient

import (
	"context"
	"crypto/ecdsa"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// AppType is the delegate type of an app's grant of scope: an app is a
// program outside nook (an editor, a chat front end, a coding agent) that
// reaches the user's models and vault through `nook serve` with a key of its
// own. Its delegate is the address nook made for it at `nook apps add`.
//
// Apps do not share PlugType: a plugin's "vault:read:<tag>" means nook may
// send it documents of tag, an app's "vault:read:tag/<t>" means it may
// search them; with separate types a grant made for one role can never be
// read as the other, even for an address that plays both.
func AppType(scope string) [32]byte { return crypto.Keccak256Hash([]byte("nook/app/" + scope)) }

// GrantApp gives app the scope on identity for d (or Forever), signed by
// owner; like Grant, the first grant of a scope publishes its name.
func (c *Client) GrantApp(ctx context.Context, owner *ecdsa.PrivateKey, identity, app common.Address, scope string, d time.Duration) (Grant, error) {
	return c.grant(ctx, owner, identity, app, scope, d, AppType)
}

// RevokeApp ends app's grant of scope on identity now: the next CheckApp,
// read at a later block, denies it.
func (c *Client) RevokeApp(ctx context.Context, owner *ecdsa.PrivateKey, identity, app common.Address, scope string) error {
	return c.revoke(ctx, owner, identity, app, scope, AppType)
}

// CheckApp says whether app holds a valid grant of scope on identity, with
// Check's cache (per head block) and unreachable-chain policy.
func (c *Client) CheckApp(ctx context.Context, identity, app common.Address, scope string) (Decision, error) {
	return c.check(ctx, identity, app, scope, AppType)
}

// AppGrants are the identity's app grants, active or ended, with scope
// names filled in. Grant.Plugin holds the app's address.
func (s *State) AppGrants() []Grant {
	names := s.scopes(AppType)
	var gs []Grant
	for _, d := range s.Delegates {
		if name, ok := names[d.Type]; ok {
			gs = append(gs, Grant{Plugin: d.Delegate, Scope: name, Type: d.Type, Expires: d.ValidTo})
		}
	}
	return gs
}
