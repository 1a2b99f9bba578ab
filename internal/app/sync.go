package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
	vsync "github.com/nook-ai/nook/vault/sync"
)

// Sync is the sync service: one vault/sync node over the app's vault,
// with the device list read from the ledger this device reaches (ledger.rpc
// or the embedded chain it holds) or, on a device that joined another
// one's embedded chain, from that device's chain over libp2p. It opens no
// socket until Start (and Start opens none for a vault never paired).
type Sync struct {
	*vsync.Node
	a      *App
	v      *vault.Vault
	mu     sync.Mutex // guards ledger and lrel while they are set
	ledger *Ledger    // nil until this device reads its own chain
	lrel   func()
	logf   *os.File
}

// Sync returns the sync service, opening it over the unlocked vault on
// first need. Call release when done; the service stays open (its
// background loop runs once started) until the app closes or the vault
// changes.
func (a *App) Sync(ctx context.Context, retry bool) (*Sync, func(), error) {
	return a.sync.get(ctx, retry)
}

// SyncRunning returns the sync service only if it is open now (it never
// opens it): a removal tells a running node to refuse the device at once.
func (a *App) SyncRunning() (*Sync, func()) {
	if open, _ := a.sync.state(); !open {
		return nil, nil
	}
	s, rel, err := a.sync.get(a.ctx, false)
	if err != nil {
		return nil, nil
	}
	return s, rel
}

func (a *App) openSync(ctx context.Context, retry bool) (*Sync, func(*Sync) error, error) {
	v, vrel, err := a.Vault()
	if err != nil {
		return nil, nil, err
	}
	paired, _, err := vsync.Paired(v)
	if err != nil {
		vrel()
		return nil, nil, err
	}
	sc := a.cfg.Sync
	cfg := vsync.Config{Listen: sc.Listen, Peers: sc.Peers, Secrets: sc.Secrets, MDNS: paired}
	if sc.MDNS != nil {
		cfg.MDNS = *sc.MDNS
	}
	if sc.MaxStale != "" {
		d, err := time.ParseDuration(sc.MaxStale)
		if err != nil || d <= 0 {
			vrel()
			return nil, nil, hint.New(fmt.Errorf("config: sync.max_stale %q is not a duration", sc.MaxStale), `write it like "1h" or "30m"`)
		}
		cfg.MaxStale = d
	}
	s := &Sync{a: a, v: v}
	if err := os.MkdirAll(a.cfg.LogsDir(), 0o700); err == nil {
		if f, err := os.OpenFile(filepath.Join(a.cfg.LogsDir(), "sync.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			s.logf = f
			cfg.Logger = slog.New(slog.NewTextHandler(f, nil))
		}
	}
	fail := func(err error) (*Sync, func(*Sync) error, error) {
		if s.lrel != nil {
			s.lrel()
		}
		if s.logf != nil {
			s.logf.Close()
		}
		vrel()
		return nil, nil, err
	}
	n, err := vsync.New(v, cfg)
	if err != nil {
		return fail(err)
	}
	s.Node = n
	return s, func(s *Sync) error {
		err := s.Node.Close()
		if s.lrel != nil {
			s.lrel()
		}
		if s.logf != nil {
			s.logf.Close()
		}
		vrel()
		return err
	}, nil
}

// Start starts the node (see vsync.Node.Start) after opening the ledger
// when this device reads it itself (ledger.rpc, or the embedded chain it
// holds and offers to its devices). Commands that only look (status,
// peers, add) never open the chain.
func (s *Sync) Start(ctx context.Context) error {
	if err := s.ensureLedger(ctx); err != nil {
		return err
	}
	return s.Node.Start(ctx)
}

// StartManual is Start without the background loop (see
// vsync.Node.StartManual).
func (s *Sync) StartManual(ctx context.Context) error {
	if err := s.ensureLedger(ctx); err != nil {
		return err
	}
	return s.Node.StartManual(ctx)
}

func (s *Sync) ensureLedger(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ledger != nil || s.Node.Host() != nil {
		return nil
	}
	paired, chain, err := vsync.Paired(s.v)
	if err != nil || !paired || chain.Host != "" {
		return err
	}
	src, serve, err := s.openLedger(ctx, false, chain.Identity)
	if err != nil {
		return err
	}
	return s.Node.SetLedger(src, serve)
}

// openLedger holds the app's ledger for the life of the service and
// returns the device list it gives (of identity, or of the vault's own
// identity when empty) and the embedded chain's RPC client, if any.
func (s *Sync) openLedger(ctx context.Context, retry bool, identity string) (vsync.DeviceSource, *rpc.Client, error) {
	l, rel, err := s.a.Ledger(ctx, retry)
	if err != nil {
		return nil, nil, err
	}
	id := identity
	if id == "" {
		addr, err := l.Identity()
		if err != nil {
			rel()
			return nil, nil, err
		}
		id = addr.Hex()
	}
	s.ledger, s.lrel = l, rel
	return vsync.LedgerDevices{Client: l.Client, Identity: common.HexToAddress(id)}, l.RPC, nil
}

// Pair opens a pairing window (see vsync.Node.Pair) on the device that
// holds the identity: it makes the identity (and registers this device)
// first when the vault has none. ttl 0 is the default (10 minutes).
func (s *Sync) Pair(ctx context.Context, ttl time.Duration) (*vsync.Pairing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ledger == nil {
		paired, chain, err := vsync.Paired(s.v)
		if err != nil {
			return nil, err
		}
		if paired && chain.Host != "" {
			return nil, hint.New(errors.New("sync: pair: this device reads another device's chain"),
				"pair new devices from the device that holds the identity (the first one), or set ledger.rpc on both")
		}
		src, serve, err := s.openLedger(ctx, false, "")
		if err != nil && !errors.Is(err, ledgerclient.ErrNoIdentity) {
			return nil, err
		}
		if err != nil {
			// A vault without an identity yet: make it now.
			l, rel, lerr := s.a.Ledger(ctx, false)
			if lerr != nil {
				return nil, lerr
			}
			if _, cerr := l.CreateIdentity(ctx); cerr != nil && !errors.Is(cerr, ledgerclient.ErrIdentityExists) {
				rel()
				return nil, cerr
			}
			rel()
			if src, serve, err = s.openLedger(ctx, false, ""); err != nil {
				return nil, err
			}
		}
		if err := s.Node.SetLedger(src, serve); err != nil {
			return nil, err
		}
	}
	l := s.ledger
	if _, err := l.CreateIdentity(ctx); err != nil && !errors.Is(err, ledgerclient.ErrIdentityExists) {
		return nil, err
	}
	key, err := l.identityKey()
	if err != nil {
		return nil, err
	}
	id := ledgerclient.Address(key)
	chain := vsync.Chain{Identity: id.Hex(), ChainID: l.Client.ChainID().Uint64(), Registry: l.Client.Registry().Hex(), RPC: s.a.cfg.Ledger.RPC}
	if err := s.Node.RefreshDevices(ctx); err != nil {
		return nil, err
	}
	return s.Node.Pair(ctx, vsync.PairConfig{
		Register: func(ctx context.Context, dev, rec string) error {
			return l.Explain(vsync.RegisterDevice(ctx, l.Client, key, id, dev, rec))
		},
		Chain: chain,
		TTL:   ttl,
	})
}

// RemoveDevice removes device from the identity: revoked on the ledger,
// refused at once by this device's running sync service, and the vault
// key rotated to the devices that remain.
func (a *App) RemoveDevice(ctx context.Context, device string) (vsync.Removal, error) {
	l, rel, err := a.Ledger(ctx, false)
	if err != nil {
		return vsync.Removal{}, err
	}
	defer rel()
	key, err := l.identityKey()
	if err != nil {
		return vsync.Removal{}, err
	}
	var n *vsync.Node
	if s, srel := a.SyncRunning(); s != nil {
		defer srel()
		n = s.Node
	}
	rem, err := vsync.RemoveDevice(ctx, l.v, l.Client, key, ledgerclient.Address(key), device, n)
	return rem, l.Explain(err)
}

// JoinVault makes the config's vault folder a new device of the vault
// whose pairing window code opens (see vsync.Join); addr is the multiaddr
// `nook sync pair` printed ("" finds the device by mDNS). The new vault is
// closed again: Unlock opens it.
func (a *App) JoinVault(ctx context.Context, passphrase []byte, code, addr string) (*vsync.Joined, error) {
	if _, err := vault.Open(a.cfg.VaultDir(), nil); !errors.Is(err, vault.ErrNotInitialized) {
		return nil, hint.New(fmt.Errorf("sync: join: there is already a vault in %s", a.cfg.VaultDir()),
			"join from a new NOOK_HOME (a device joins once, with an empty vault folder)")
	}
	j, err := vsync.Join(ctx, vsync.JoinConfig{Dir: a.cfg.VaultDir(), Passphrase: passphrase, Code: code, Addr: addr})
	if err != nil {
		return nil, err
	}
	if err := j.Vault.Close(); err != nil {
		return j, err
	}
	j.Vault = nil
	return j, nil
}

// syncState is Status's short sync state: it never opens the service.
func (a *App) syncState() (string, error) {
	open, err := a.sync.state()
	if !open {
		return "off", nil
	}
	s, rel := a.SyncRunning()
	if s == nil {
		return "off", err
	}
	defer rel()
	st := s.Status()
	switch {
	case !st.Running:
		return "off", nil
	case st.Syncing:
		return "syncing", nil
	case st.LastError != "":
		return "error", errors.New(st.LastError)
	case !st.LastSync.IsZero():
		state := "synced " + st.LastSync.Local().Format("15:04")
		if !st.InSync {
			state = "differs, last sync " + st.LastSync.Local().Format("15:04")
		}
		if st.Conflicts > 0 {
			state += fmt.Sprintf(", %d conflicts", st.Conflicts)
		}
		return fmt.Sprintf("%d peers, %s", st.Connected, state), nil
	}
	return fmt.Sprintf("%d peers", st.Connected), nil
}

// StartSync starts the sync service in the background (its host and
// loop) when the vault was paired or sync addresses are configured; it
// does nothing otherwise (a never-paired vault opens no socket). The
// terminal app calls it after unlocking.
func (a *App) StartSync(ctx context.Context) error {
	s, rel, err := a.Sync(ctx, false)
	if err != nil {
		return err
	}
	defer rel()
	if !s.Enabled() {
		return nil
	}
	return s.Start(ctx)
}

// SyncNow syncs with every reachable device (starting the service first)
// and says what happened in one line.
func (a *App) SyncNow(ctx context.Context) (string, error) {
	s, rel, err := a.Sync(ctx, false)
	if err != nil {
		return "", err
	}
	defer rel()
	if !s.Enabled() {
		return "", hint.New(vsync.ErrNotPaired, "pair a device: `nook sync pair` on this one, `nook sync join CODE` on the other")
	}
	if err := s.Start(ctx); err != nil {
		return "", err
	}
	if err := s.RefreshDevices(ctx); err != nil && s.Status().DeviceList.IsZero() {
		return "", err
	}
	rep, err := s.SyncNow(ctx)
	entries, objects, inSync := 0, 0, 0
	for _, p := range rep.Peers {
		entries += p.Entries
		objects += p.Objects
		if p.InSync {
			inSync++
		}
	}
	line := fmt.Sprintf("sync: %d of %d devices in sync; received %d entries, %d objects", inSync, len(rep.Peers), entries, objects)
	if n := len(s.Vault().Conflicts()); n > 0 {
		line += fmt.Sprintf("; %d conflicts (`nook sync conflicts`)", n)
	}
	return line, err
}

// Vault is the vault the sync service runs over.
func (s *Sync) Vault() *vault.Vault { return s.v }
