package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/plugins"
)

// PluginStore is the folder of installed plugins.
func (a *App) PluginStore() plugins.Store { return plugins.Store{Dir: a.cfg.PluginsDir()} }

// PluginsInstalled reports whether any plugin is installed.
func (a *App) PluginsInstalled() bool {
	ms, _ := a.PluginStore().List()
	return len(ms) > 0
}

// Plugins returns the plugin host over the unlocked vault and its ledger,
// opening it on first use (plugins themselves start on their first call).
// Call release when done; the host stays open for the next caller until
// Close or a new vault. A failure (no identity yet, the chain in use) is
// kept and returned again without retrying: RetryPlugins retries.
func (a *App) Plugins(ctx context.Context) (*plugins.Host, func(), error) {
	return a.plugins.get(ctx, false)
}

// RetryPlugins is Plugins, retrying (with the ledger) after a failure: the
// user fixed the cause, e.g. ran `nook id create` in another shell.
func (a *App) RetryPlugins(ctx context.Context) (*plugins.Host, func(), error) {
	return a.plugins.get(ctx, true)
}

func (a *App) openPlugins(ctx context.Context, retry bool) (*plugins.Host, func(*plugins.Host) error, error) {
	l, lrel, err := a.ledger.get(ctx, retry)
	if err != nil {
		return nil, nil, err
	}
	id, err := l.Identity()
	if err != nil {
		lrel() // frees the embedded chain for `nook id create`
		return nil, nil, err
	}
	ms, problems := a.PluginStore().List()
	for _, p := range problems {
		a.o.warn(p)
	}
	settings, err := plugins.LoadSettings(filepath.Join(a.cfg.PluginsDir(), plugins.SettingsFile))
	if err != nil {
		lrel()
		return nil, nil, hint.New(err, "fix or remove the file")
	}
	events := a.o.pluginEvents
	if events == nil {
		events = func(plugins.Event) {}
	}
	h := plugins.NewHost(id, l.Client, ms,
		plugins.WithLogDir(filepath.Join(a.cfg.LogsDir(), "plugins")),
		plugins.WithSettings(settings),
		plugins.WithPrivate(a.cfg.Home, filepath.Dir(a.cfg.Path)),
		plugins.WithVault(l.v),
		plugins.WithEvents(events))
	return h, func(h *plugins.Host) error {
		err := h.Close()
		lrel()
		return err
	}, nil
}

// PluginState is an installed plugin with the grant of each scope.
type PluginState struct {
	Manifest *plugins.Manifest
	// Scopes: one per scope the plugin asks for, in its order.
	Scopes []ScopeState
	// Unknown says why the grants are not known (no vault, no identity,
	// the chain); nil when they are.
	Unknown error
}

// ScopeState is one scope's grant.
type ScopeState struct {
	Scope   string
	Granted bool
	Expires time.Time
	// Reason a scope is not granted (from the ledger).
	Reason string
	// Err: the check failed.
	Err error
}

// PluginStates lists the installed plugins with their grants, through the
// plugin host's ledger (retrying a kept failure: the user asked). Problems
// are plugins whose manifest does not load.
func (a *App) PluginStates(ctx context.Context) (out []PluginState, problems []error) {
	ms, problems := a.PluginStore().List()
	if len(ms) == 0 {
		return nil, problems
	}
	var l *Ledger
	_, hrel, why := a.RetryPlugins(ctx)
	if why == nil {
		defer hrel()
		var lrel func()
		// The host holds the ledger open: this shares it.
		if l, lrel, why = a.ledger.get(ctx, false); why == nil {
			defer lrel()
		}
	}
	for _, m := range ms {
		st := PluginState{Manifest: m, Unknown: why}
		for _, s := range m.Scopes {
			ss := ScopeState{Scope: s}
			if l != nil {
				d, err := l.Check(ctx, m.PublisherAddress(), s)
				ss.Granted, ss.Expires, ss.Reason, ss.Err = d.Allowed, d.Expires, d.Reason, err
			}
			st.Scopes = append(st.Scopes, ss)
		}
		out = append(out, st)
	}
	return out, problems
}

// ParsePlugin reads a plugin as the id of an installed plugin (its
// publisher's address), a publisher's address (0x…) or its did:ethr name.
func (a *App) ParsePlugin(s string) (common.Address, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "did:") {
		if m, err := a.PluginStore().Get(s); err == nil {
			return m.PublisherAddress(), nil
		}
	}
	if strings.HasPrefix(s, "did:") {
		_, addr, err := ledgerclient.ParseDID(s)
		return addr, err
	}
	if !common.IsHexAddress(s) {
		return common.Address{}, hint.New(fmt.Errorf("ledger: plugin %q is not an address", s), "name the plugin by its id (see `nook plug show`), its publisher's address (0x...) or did:ethr")
	}
	return common.HexToAddress(s), nil
}

// NewPublisherKey writes a new publisher key (secp256k1, hex, geth's --key
// format, owner-readable) to path, which must not exist, and returns its
// address.
func NewPublisherKey(path string) (common.Address, error) {
	if _, err := os.Stat(path); err == nil {
		return common.Address{}, hint.New(fmt.Errorf("plugins: %s exists", path), "choose another file; a key is never overwritten")
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return common.Address{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return common.Address{}, fmt.Errorf("plugins: keygen: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(crypto.FromECDSA(k)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return common.Address{}, fmt.Errorf("plugins: keygen: %w", err)
	}
	return ledgerclient.Address(k), nil
}

// SignPlugin sets the publisher and signature of the plugin.toml at path
// (or in the folder path) with the publisher key in keyFile.
func SignPlugin(ctx context.Context, path, keyFile string) (*plugins.Manifest, error) {
	if keyFile == "" {
		return nil, hint.New(errors.New("plugins: sign needs --key"), "make a key with `nook plug keygen FILE`")
	}
	k, err := crypto.LoadECDSA(keyFile)
	if err != nil {
		return nil, hint.New(fmt.Errorf("plugins: key %s: %w", keyFile, err), "make one with `nook plug keygen FILE`")
	}
	return plugins.SignFile(ctx, path, k)
}

// PluginsOf are the ids of the installed plugins published by addr: a
// grant to addr covers every one of them (grants belong to the publisher's
// key, not to one plugin).
func (a *App) PluginsOf(addr common.Address) []string {
	ms, _ := a.PluginStore().List()
	var ids []string
	for _, m := range ms {
		if m.PublisherAddress() == addr {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Covers says in words what a grant to addr reaches, as "covers units,
// ics: every installed plugin of this publisher, and any it signs later".
func (a *App) Covers(addr common.Address) string {
	ids := a.PluginsOf(addr)
	switch len(ids) {
	case 0:
		return "no installed plugin of this publisher yet; any it signs later"
	case 1:
		return "covers " + ids[0] + ", and any other plugin this publisher signs"
	}
	return "covers " + strings.Join(ids, ", ") + ": every installed plugin of this publisher, and any it signs later"
}
