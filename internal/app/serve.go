package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/ledgerclient"
)

// What `nook serve` needs of the application layer beyond the rest: an
// engine that answers several clients at once, and the ledger's app
// grants (docs/serve.md).

// DefaultParallel is how many chats a served model decodes at once.
const DefaultParallel = 4

// ParallelLoader is NewLoader with the in-process engine that decodes up
// to slots chats at once in one context (engine/llama.Parallel, continuous
// batching): what `nook serve` loads models with. The pool does not
// serialise its engines.
func ParallelLoader(cfg *config.Config, slots int) Loader {
	if slots <= 0 {
		slots = DefaultParallel
	}
	return func(ctx context.Context, s Spec) (engine.Engine, error) {
		if s.Remote != nil {
			return remote.New(*s.Remote)
		}
		slog.Debug("loading model", "path", s.Path, "slots", slots)
		return llama.OpenParallel(s.Path, slots, llamaOptions(cfg, s))
	}
}

// GrantApp lets app (the address `nook apps add` made for it) use scope
// for d: an ERC-1056 delegate of type nook/app/<scope>.
func (l *Ledger) GrantApp(ctx context.Context, app common.Address, scope string, d time.Duration) (ledgerclient.Grant, error) {
	k, err := l.identityKey()
	if err != nil {
		return ledgerclient.Grant{}, err
	}
	g, err := l.Client.GrantApp(ctx, k, ledgerclient.Address(k), app, scope, d)
	if errors.Is(err, ledgerclient.ErrNotOwner) {
		return g, hinted(err, "this identity key no longer owns the identity (see `nook id show`)")
	}
	return g, l.Explain(err)
}

// RevokeApp ends app's grant of scope now.
func (l *Ledger) RevokeApp(ctx context.Context, app common.Address, scope string) error {
	k, err := l.identityKey()
	if err != nil {
		return err
	}
	return l.Explain(l.Client.RevokeApp(ctx, k, ledgerclient.Address(k), app, scope))
}

// CheckApp says whether the identity granted app the scope (cached per
// block: a revocation takes effect on the next check).
func (l *Ledger) CheckApp(ctx context.Context, app common.Address, scope string) (ledgerclient.Decision, error) {
	id, err := l.Identity()
	if err != nil {
		return ledgerclient.Decision{}, err
	}
	d, err := l.Client.CheckApp(ctx, id, app, scope)
	return d, l.Explain(err)
}

// AppGrants are the identity's app grants (active or ended) and the time
// they are judged at.
func (l *Ledger) AppGrants(ctx context.Context) ([]ledgerclient.Grant, time.Time, error) {
	st, now, err := l.State(ctx)
	if err != nil {
		return nil, now, err
	}
	return st.AppGrants(), now, nil
}

// IdentityKey is the identity's key from the unlocked vault: `nook apps`
// signs its requests to a running server's control socket with it.
func (a *App) IdentityKey() (*ecdsa.PrivateKey, error) {
	v, rel, err := a.Vault()
	if err != nil {
		return nil, err
	}
	defer rel()
	k, err := ledgerclient.LoadIdentity(vaultKeys{v})
	if errors.Is(err, ledgerclient.ErrNoIdentity) {
		return nil, hinted(err, "run `nook id create`")
	}
	return k, err
}
