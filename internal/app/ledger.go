package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
)

// Chain is a connection to the identity chain.
type Chain struct {
	Client *ledgerclient.Client
	// Where is "embedded (DIR)" or the RPC URL, for messages.
	Where string
	// Embedded: the chain runs in this process.
	Embedded bool
	// Close ends the connection (stops the embedded chain).
	Close func() error
	// RPC is the embedded chain's JSON-RPC client (nil otherwise): the
	// sync service offers it to paired devices.
	RPC *rpc.Client
}

// ChainOpener connects to the chain with the vault's keys (the embedded
// chain keeps its funded account's key there).
type ChainOpener func(ctx context.Context, keys ledgerclient.KeyStore) (*Chain, error)

// LedgerWhere is where the ledger runs per the config, without opening it:
// "embedded (DIR)" or the RPC URL.
func (a *App) LedgerWhere() string {
	if rpc := a.cfg.Ledger.RPC; rpc != "" {
		return rpc
	}
	return "embedded (" + a.cfg.ChainDir() + ")"
}

// defaultChain reaches ledger.rpc, or starts the embedded chain.
func defaultChain(cfg *config.Config) ChainOpener {
	return func(ctx context.Context, keys ledgerclient.KeyStore) (*Chain, error) {
		if rpcURL := cfg.Ledger.RPC; rpcURL != "" {
			ec, err := ethclient.DialContext(ctx, rpcURL)
			if err != nil {
				return nil, hint.New(fmt.Errorf("ledger: dial %s: %w", rpcURL, err), "check ledger.rpc in the config (or NOOK_LEDGER_RPC)")
			}
			fail := func(err error) (*Chain, error) { ec.Close(); return nil, err }
			var opts []ledgerclient.Option
			if r := cfg.Ledger.Registry; r != "" {
				if !common.IsHexAddress(r) {
					return fail(hint.New(fmt.Errorf("ledger: registry %q is not an address", r), "fix ledger.registry in the config"))
				}
				opts = append(opts, ledgerclient.WithRegistry(common.HexToAddress(r)))
			}
			c, err := ledgerclient.New(ctx, ec, opts...)
			if err != nil {
				return fail(chainHint(err, rpcURL))
			}
			if cfg.Ledger.Registry == "" {
				return fail(hint.New(fmt.Errorf("ledger: %s: %w", rpcURL, ledgerclient.ErrNoRegistry),
					"set ledger.registry to the registry's address (deploy Registry.bin from ledgerclient/contracts), or unset ledger.rpc to use the embedded chain"))
			}
			return &Chain{Client: c, Where: rpcURL, Close: func() error { ec.Close(); return nil }}, nil
		}
		dir := cfg.ChainDir()
		// The chain's key may have been written by another process.
		if r, ok := keys.(interface{ Refresh() error }); ok {
			_ = r.Refresh()
		}
		dc, err := ledgerclient.OpenDevChain(dir, keys)
		if errors.Is(err, ledgerclient.ErrChainInUse) {
			// Another nook holds it: use it through its socket.
			if ch, aerr := attachChain(ctx, dir, keys); aerr == nil {
				return ch, nil
			}
		}
		if err != nil {
			return nil, chainHint(err, dir)
		}
		c, err := dc.Client(ctx)
		if err != nil {
			dc.Close()
			return nil, chainHint(err, dir)
		}
		ch := &Chain{Client: c, Where: "embedded (" + dir + ")", Embedded: true, Close: dc.Close}
		if ec, ok := dc.Backend().(*ethclient.Client); ok {
			ch.RPC = ec.Client()
		}
		return ch, nil
	}
}

// attachChain reaches the embedded chain another nook process holds.
func attachChain(ctx context.Context, dir string, keys ledgerclient.KeyStore) (*Chain, error) {
	ac, err := ledgerclient.AttachDevChain(ctx, dir)
	if err != nil {
		return nil, err
	}
	c, err := ac.Client(ctx, keys)
	if err != nil {
		ac.Close()
		return nil, err
	}
	return &Chain{Client: c, Where: "embedded (" + dir + ", through the nook that holds it)", Close: ac.Close}, nil
}

// chainHint adds what to do to the chain's errors callers can fix.
func chainHint(err error, where string) error {
	switch {
	case errors.Is(err, ledgerclient.ErrUnreachable):
		return hint.New(err, fmt.Sprintf("is the node at %s running? set ledger.rpc (or NOOK_LEDGER_RPC) to one that is, or unset it to use the embedded chain", where))
	case errors.Is(err, ledgerclient.ErrChainInUse):
		return hint.New(err, "another nook is using the embedded chain: close it and try again")
	}
	return err
}

// vaultKeys adapts the vault to ledgerclient.KeyStore: a missing secret
// becomes ledgerclient.ErrNoSecret.
type vaultKeys struct{ v *vault.Vault }

func (k vaultKeys) Secret(name string) ([]byte, error) {
	b, err := k.v.Secret(name)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ledgerclient.ErrNoSecret, err)
	}
	return b, err
}

func (k vaultKeys) PutSecret(name string, data []byte) error { return k.v.PutSecret(name, data) }

// Refresh reads what other processes wrote to the vault.
func (k vaultKeys) Refresh() error { return k.v.Refresh() }

// Ledger is the identity chain seen with the vault's keys.
type Ledger struct {
	*Chain
	v      *vault.Vault
	keys   vaultKeys
	device common.Address
	hasDev bool
}

// Ledger opens the ledger over the unlocked vault (starting the embedded
// chain unless ledger.rpc is set), or shares the one open. Call release
// when done: the chain stops when its last user is done, so that another
// nook process can use it. A failure is kept until retry.
func (a *App) Ledger(ctx context.Context, retry bool) (*Ledger, func(), error) {
	return a.ledger.get(ctx, retry)
}

func (a *App) openLedger(ctx context.Context, retry bool) (*Ledger, func(*Ledger) error, error) {
	v, vrel, err := a.Vault()
	if err != nil {
		return nil, nil, err
	}
	keys := vaultKeys{v}
	ch, err := a.o.chain(ctx, keys)
	if err != nil {
		vrel()
		return nil, nil, err
	}
	if err := trustChain(ctx, ch, keys); err != nil {
		ch.Close()
		vrel()
		return nil, nil, err
	}
	l := &Ledger{Chain: ch, v: v, keys: keys}
	if k, err := crypto.ToECDSA(v.DeviceKey()); err == nil {
		l.device, l.hasDev = ledgerclient.Address(k), true
	}
	if a.cfg.Ledger.Witness {
		if _, err := l.witness(ctx, true); err != nil {
			a.o.warn(err) // a rollback is told; the ledger still answers
		}
	}
	return l, func(l *Ledger) error {
		err := l.Close()
		vrel()
		return err
	}, nil
}

// Explain adds the chain's hints to err (unreachable, in use).
func (l *Ledger) Explain(err error) error { return chainHint(err, l.Where) }

// Device is this device's address on the ledger, when the vault has a key.
func (l *Ledger) Device() (common.Address, bool) { return l.device, l.hasDev }

// identityKey is the identity's key from the vault.
func (l *Ledger) identityKey() (*ecdsa.PrivateKey, error) {
	k, err := ledgerclient.LoadIdentity(l.keys)
	if errors.Is(err, ledgerclient.ErrNoIdentity) {
		return nil, hint.New(err, "run `nook id create`")
	}
	return k, err
}

// Identity is the identity's address; without one the error says to run
// `nook id create`.
func (l *Ledger) Identity() (common.Address, error) {
	k, err := l.identityKey()
	if err != nil {
		return common.Address{}, err
	}
	return ledgerclient.Address(k), nil
}

// DID names an identity on this chain.
func (l *Ledger) DID(id common.Address) string { return l.Client.DID(id) }

// CreateIdentity makes the identity key (kept in the vault) unless there
// is one, and registers this device under it. It fails with
// ledgerclient.ErrIdentityExists when both were already done.
func (l *Ledger) CreateIdentity(ctx context.Context) (common.Address, error) {
	k, err := ledgerclient.LoadIdentity(l.keys)
	created := false
	if errors.Is(err, ledgerclient.ErrNoIdentity) {
		k, err = ledgerclient.CreateIdentity(l.keys)
		created = true
	}
	if err != nil {
		return common.Address{}, err
	}
	id := ledgerclient.Address(k)
	if !l.hasDev {
		return id, errors.New("ledger: the vault has no device key")
	}
	registered, err := l.Client.ValidDelegate(ctx, id, ledgerclient.DeviceType, l.device)
	if err != nil {
		return id, l.Explain(err)
	}
	if !created && registered {
		return id, hint.New(fmt.Errorf("ledger: %s: %w", l.DID(id), ledgerclient.ErrIdentityExists), "see it with `nook id show`")
	}
	if !registered {
		x, err := ledgerclient.X25519FromAgeRecipient(l.v.Recipient())
		if err != nil {
			return id, err
		}
		if err := l.Client.AddDevice(ctx, k, id, l.device, x, ledgerclient.Forever); err != nil {
			return id, l.Explain(err)
		}
	}
	return id, nil
}

// Owner is the account that controls the identity now.
func (l *Ledger) Owner(ctx context.Context) (identity, owner common.Address, err error) {
	if identity, err = l.Identity(); err != nil {
		return
	}
	owner, err = l.Client.Owner(ctx, identity)
	return identity, owner, l.Explain(err)
}

// State rebuilds the identity's devices and grants from the chain's
// events; now is the later of the local clock and the head block's time
// (what expiry is compared with).
func (l *Ledger) State(ctx context.Context) (st *ledgerclient.State, now time.Time, err error) {
	id, err := l.Identity()
	if err != nil {
		return nil, now, err
	}
	if st, err = l.Client.State(ctx, id); err != nil {
		return nil, now, l.Explain(err)
	}
	now = time.Now()
	if st.Time.After(now) {
		now = st.Time
	}
	return st, now, nil
}

// Grant lets plugin (a publisher's address) use scope for d.
func (l *Ledger) Grant(ctx context.Context, plugin common.Address, scope string, d time.Duration) (ledgerclient.Grant, error) {
	if err := ledgerclient.ValidScope(scope); err != nil {
		return ledgerclient.Grant{}, err
	}
	k, err := l.identityKey()
	if err != nil {
		return ledgerclient.Grant{}, err
	}
	g, err := l.Client.Grant(ctx, k, ledgerclient.Address(k), plugin, scope, d)
	if errors.Is(err, ledgerclient.ErrNotOwner) {
		return g, hint.New(err, "this identity key no longer owns the identity (see `nook id show`)")
	}
	return g, l.Explain(err)
}

// Revoke ends plugin's grant of scope now.
func (l *Ledger) Revoke(ctx context.Context, plugin common.Address, scope string) error {
	k, err := l.identityKey()
	if err != nil {
		return err
	}
	return l.Explain(l.Client.Revoke(ctx, k, ledgerclient.Address(k), plugin, scope))
}

// Check says whether the identity granted plugin the scope.
func (l *Ledger) Check(ctx context.Context, plugin common.Address, scope string) (ledgerclient.Decision, error) {
	id, err := l.Identity()
	if err != nil {
		return ledgerclient.Decision{}, err
	}
	d, err := l.Client.Check(ctx, id, plugin, scope)
	return d, l.Explain(err)
}

// Status is the chain's id, head block and registry.
func (l *Ledger) Status(ctx context.Context) (ledgerclient.Status, error) {
	s, err := l.Client.Status(ctx)
	return s, l.Explain(err)
}

// Expiry says when t is, relative to now: "never expires", "ended …",
// "expires … (in 29d)".
func Expiry(t, now time.Time) string {
	switch {
	case ledgerclient.Never(t):
		return "never expires"
	case !t.After(now):
		return "ended " + t.UTC().Format("2006-01-02 15:04 MST")
	default:
		return "expires " + t.UTC().Format("2006-01-02 15:04 MST") + " (in " + left(t.Sub(now)) + ")"
	}
}

func left(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

// ledgerName is "embedded" or the RPC host, for the status bar.
func ledgerName(embedded bool, rpc string) string {
	if embedded {
		return "embedded"
	}
	if u, err := url.Parse(rpc); err == nil && u.Host != "" {
		return u.Host
	}
	return rpc
}
