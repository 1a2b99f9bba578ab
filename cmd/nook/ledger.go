package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
)

// Ledger commands: nook id create|show|devices, nook plug grant|revoke|ls,
// nook ledger status. Logic lives in ledgerclient; this file wires the vault
// (keys) and the chain (embedded, or ledger.rpc).

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

// ledger is one command's view of the ledger: the vault, the chain, a client.
type ledger struct {
	v         *vault.Vault
	ownsVault bool
	keys      vaultKeys
	dc        *ledgerclient.DevChain // nil with ledger.rpc
	ec        *ethclient.Client      // nil on the embedded chain
	c         *ledgerclient.Client
	where     string // "embedded (DIR)" or the RPC URL
	device    *deviceKey
}

type deviceKey struct{ addr common.Address }

func (l *ledger) Close() {
	if l.ec != nil {
		l.ec.Close()
	}
	if l.dc != nil {
		l.dc.Close()
	}
	if l.v != nil && l.ownsVault {
		l.v.Close()
	}
}

// unlockVault opens the vault for the ledger's keys.
func unlockVault(a *app) (*vault.Vault, error) { return openVault(a, nil) }

// openLedger unlocks the vault and connects to the chain. The chain error
// (if any) is returned with l still usable for what needs only the vault.
func openLedger(ctx context.Context, a *app) (*ledger, error) { return openLedgerWith(ctx, a, nil) }

// openLedgerWith is openLedger with an embedder on the vault (plugins.go).
func openLedgerWith(ctx context.Context, a *app, emb vault.Embedder) (*ledger, error) {
	v, err := openVault(a, emb)
	if err != nil {
		return nil, err
	}
	return ledgerOn(ctx, a, v, true)
}

// ledgerOn connects to the chain with the keys of an unlocked vault; owned
// says whether l.Close closes the vault too (the terminal app keeps its own).
func ledgerOn(ctx context.Context, a *app, v *vault.Vault, owned bool) (l *ledger, err error) {
	l = &ledger{v: v, ownsVault: owned, keys: vaultKeys{v}}
	if k, err := crypto.ToECDSA(v.DeviceKey()); err == nil {
		l.device = &deviceKey{addr: ledgerclient.Address(k)}
	}
	if rpcURL := a.cfg.Ledger.RPC; rpcURL != "" {
		l.where = rpcURL
		ec, err := ethclient.DialContext(ctx, rpcURL)
		if err != nil {
			return l, hint.New(fmt.Errorf("ledger: dial %s: %w", rpcURL, err), "check ledger.rpc in the config (or NOOK_LEDGER_RPC)")
		}
		l.ec = ec
		var opts []ledgerclient.Option
		if r := a.cfg.Ledger.Registry; r != "" {
			if !common.IsHexAddress(r) {
				return l, hint.New(fmt.Errorf("ledger: registry %q is not an address", r), "fix ledger.registry in the config")
			}
			opts = append(opts, ledgerclient.WithRegistry(common.HexToAddress(r)))
		}
		l.c, err = ledgerclient.New(ctx, ec, opts...)
		if err != nil {
			return l, chainHint(err, rpcURL)
		}
		if a.cfg.Ledger.Registry == "" {
			return l, hint.New(fmt.Errorf("ledger: %s: %w", rpcURL, ledgerclient.ErrNoRegistry),
				"set ledger.registry to the registry's address (deploy Registry.bin from ledgerclient/contracts), or unset ledger.rpc to use the embedded chain")
		}
		return l, nil
	}
	dir := a.cfg.ChainDir()
	l.where = "embedded (" + dir + ")"
	l.dc, err = ledgerclient.OpenDevChain(dir, l.keys)
	if err != nil {
		return l, chainHint(err, dir)
	}
	l.c, err = l.dc.Client(ctx)
	if err != nil {
		return l, chainHint(err, dir)
	}
	return l, nil
}

func chainHint(err error, where string) error {
	switch {
	case errors.Is(err, ledgerclient.ErrUnreachable):
		return hint.New(err, fmt.Sprintf("is the node at %s running? set ledger.rpc (or NOOK_LEDGER_RPC) to one that is, or unset it to use the embedded chain", where))
	case errors.Is(err, ledgerclient.ErrChainInUse):
		return hint.New(err, "another nook is using the embedded chain: close it and try again")
	}
	return err
}

// mustLedger is openLedger for commands that need the chain.
func mustLedger(ctx context.Context, a *app) (*ledger, error) {
	l, err := openLedger(ctx, a)
	if err != nil {
		if l != nil {
			l.Close()
		}
		return nil, err
	}
	return l, nil
}

func identityKey(l *ledger) (common.Address, error) {
	k, err := ledgerclient.LoadIdentity(l.keys)
	if errors.Is(err, ledgerclient.ErrNoIdentity) {
		return common.Address{}, hint.New(err, "run `nook id create`")
	}
	if err != nil {
		return common.Address{}, err
	}
	return ledgerclient.Address(k), nil
}

func init() {
	register(func(a *app) *cobra.Command {
		id := &cobra.Command{Use: "id", Short: "your identity (did:ethr) and devices on the ledger"}
		id.AddCommand(&cobra.Command{
			Use:   "create",
			Short: "make an identity key (kept in the vault) and register this device",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				l, err := mustLedger(ctx, a)
				if err != nil {
					return err
				}
				defer l.Close()
				k, err := ledgerclient.LoadIdentity(l.keys)
				created := false
				if errors.Is(err, ledgerclient.ErrNoIdentity) {
					k, err = ledgerclient.CreateIdentity(l.keys)
					created = true
				}
				if err != nil {
					return err
				}
				idAddr := ledgerclient.Address(k)
				if l.device == nil {
					return errors.New("ledger: the vault has no device key")
				}
				registered, err := l.c.ValidDelegate(ctx, idAddr, ledgerclient.DeviceType, l.device.addr)
				if err != nil {
					return chainHint(err, l.where)
				}
				if !created && registered {
					return hint.New(fmt.Errorf("ledger: %s: %w", l.c.DID(idAddr), ledgerclient.ErrIdentityExists), "see it with `nook id show`")
				}
				if !registered {
					x, err := ledgerclient.X25519FromAgeRecipient(l.v.Recipient())
					if err != nil {
						return err
					}
					if err := l.c.AddDevice(ctx, k, idAddr, l.device.addr, x, ledgerclient.Forever); err != nil {
						return chainHint(err, l.where)
					}
				}
				fmt.Fprintln(a.stdout, l.c.DID(idAddr))
				fmt.Fprintf(a.stderr, "nook: device %s registered\n", l.device.addr.Hex())
				return nil
			},
		})
		id.AddCommand(&cobra.Command{
			Use:   "show",
			Short: "print the identity's did:ethr name and owner",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, err := mustLedger(cmd.Context(), a)
				if err != nil {
					return err
				}
				defer l.Close()
				idAddr, err := identityKey(l)
				if err != nil {
					return err
				}
				owner, err := l.c.Owner(cmd.Context(), idAddr)
				if err != nil {
					return chainHint(err, l.where)
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "did\t%s\n", l.c.DID(idAddr))
				fmt.Fprintf(w, "address\t%s\n", idAddr.Hex())
				fmt.Fprintf(w, "owner\t%s\n", owner.Hex())
				if l.device != nil {
					fmt.Fprintf(w, "this device\t%s\n", l.device.addr.Hex())
				}
				return w.Flush()
			},
		})
		var all bool
		devices := &cobra.Command{
			Use:   "devices",
			Short: "list the identity's devices (from the ledger's events)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, st, now, err := identityState(cmd.Context(), a)
				if err != nil {
					return err
				}
				defer l.Close()
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "DEVICE\tEXPIRES\t")
				for _, d := range st.Devices() {
					if !all && !d.Active(now) {
						continue
					}
					mark := ""
					if l.device != nil && d.Address == l.device.addr {
						mark = "(this device)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", d.Address.Hex(), expiry(d.Expires, now), mark)
				}
				return w.Flush()
			},
		}
		devices.Flags().BoolVar(&all, "all", false, "include removed devices")
		id.AddCommand(devices)
		return id
	})

	register(func(a *app) *cobra.Command {
		plug := &cobra.Command{Use: "plug", Short: "plugin grants on the ledger"}
		var forFlag string
		grant := &cobra.Command{
			Use:   "grant PLUGIN SCOPE [--for 30d]",
			Short: "let PLUGIN (an installed plugin's id, its publisher's address or did:ethr) use SCOPE until the grant expires",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				plugin, err := parsePlugin(a, args[0])
				if err != nil {
					return err
				}
				d, err := parseValidity(forFlag)
				if err != nil {
					return err
				}
				if err := ledgerclient.ValidScope(args[1]); err != nil {
					return err
				}
				l, err := mustLedger(cmd.Context(), a)
				if err != nil {
					return err
				}
				defer l.Close()
				k, err := ledgerclient.LoadIdentity(l.keys)
				if err != nil {
					return hint.New(err, "run `nook id create`")
				}
				g, err := l.c.Grant(cmd.Context(), k, ledgerclient.Address(k), plugin, args[1], d)
				if err != nil {
					if errors.Is(err, ledgerclient.ErrNotOwner) {
						return hint.New(err, "this identity key no longer owns the identity (see `nook id show`)")
					}
					return chainHint(err, l.where)
				}
				fmt.Fprintf(a.stdout, "granted %s to %s, %s\n", g.Scope, g.Plugin.Hex(), expiry(g.Expires, time.Now()))
				return nil
			},
		}
		grant.Flags().StringVar(&forFlag, "for", "30d", "how long: 30d, 12h, 90m, or never")
		plug.AddCommand(grant)
		plug.AddCommand(&cobra.Command{
			Use:   "revoke PLUGIN SCOPE",
			Short: "end PLUGIN's grant of SCOPE now",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				plugin, err := parsePlugin(a, args[0])
				if err != nil {
					return err
				}
				l, err := mustLedger(cmd.Context(), a)
				if err != nil {
					return err
				}
				defer l.Close()
				k, err := ledgerclient.LoadIdentity(l.keys)
				if err != nil {
					return hint.New(err, "run `nook id create`")
				}
				if err := l.c.Revoke(cmd.Context(), k, ledgerclient.Address(k), plugin, args[1]); err != nil {
					return chainHint(err, l.where)
				}
				fmt.Fprintf(a.stdout, "revoked %s from %s\n", args[1], plugin.Hex())
				return nil
			},
		})
		var all bool
		ls := &cobra.Command{
			Use:   "ls",
			Short: "list grants with their expiry (rebuilt from the ledger's events)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, st, now, err := identityState(cmd.Context(), a)
				if err != nil {
					return err
				}
				defer l.Close()
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "PLUGIN\tSCOPE\tEXPIRES")
				for _, g := range st.Grants() {
					if !all && !g.Active(now) {
						continue
					}
					scope := g.Scope
					if scope == "" {
						scope = "(unnamed " + common.Hash(g.Type).Hex()[:10] + ")"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", g.Plugin.Hex(), scope, expiry(g.Expires, now))
				}
				return w.Flush()
			},
		}
		ls.Flags().BoolVar(&all, "all", false, "include expired and revoked grants")
		plug.AddCommand(ls)
		for _, f := range plugCommands { // plugins.go
			plug.AddCommand(f(a))
		}
		return plug
	})

	register(func(a *app) *cobra.Command {
		lc := &cobra.Command{Use: "ledger", Short: "the identity chain"}
		lc.AddCommand(&cobra.Command{
			Use:   "status",
			Short: "chain id, block, registry, identity, and whether the chain answers",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				l, err := openLedger(ctx, a)
				if l == nil {
					return err
				}
				defer l.Close()
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				defer w.Flush()
				fmt.Fprintf(w, "chain\t%s\n", l.where)
				if err != nil {
					fmt.Fprintf(w, "answers\tno\n")
					w.Flush()
					return err
				}
				s, serr := l.c.Status(ctx)
				fmt.Fprintf(w, "chain id\t%s\n", s.ChainID)
				if serr != nil {
					fmt.Fprintf(w, "answers\tno\n")
					w.Flush()
					return chainHint(serr, l.where)
				}
				fmt.Fprintf(w, "answers\tyes\n")
				fmt.Fprintf(w, "block\t%d (%s)\n", s.Block, s.BlockTime.UTC().Format(time.RFC3339))
				deployed := "deployed"
				if !s.Deployed {
					deployed = "no code there"
				}
				fmt.Fprintf(w, "registry\t%s (%s)\n", s.Registry.Hex(), deployed)
				if k, err := ledgerclient.LoadIdentity(l.keys); err == nil {
					fmt.Fprintf(w, "identity\t%s\n", l.c.DID(ledgerclient.Address(k)))
				} else {
					fmt.Fprintf(w, "identity\tnone (run `nook id create`)\n")
				}
				return nil
			},
		})
		return lc
	})
}

// parsePlugin reads a plugin publisher's address or did:ethr name, or the
// id of an installed plugin (its publisher's address).
func parsePlugin(a *app, s string) (common.Address, error) {
	if addr, ok := installedPublisher(a, s); ok {
		return addr, nil
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

// parseValidity reads --for: Go durations plus a d (days) suffix, or never.
func parseValidity(s string) (time.Duration, error) {
	if s == "never" {
		return ledgerclient.Forever, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n < 100*365 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= time.Second {
		return d, nil
	}
	return 0, hint.New(fmt.Errorf("ledger: --for %q is not a duration", s), "use e.g. 30d, 12h, 90m or never")
}

// expiry says when t is, relative to now.
func expiry(t, now time.Time) string {
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

// identityState opens the ledger and rebuilds the identity's state from its
// events; now is the later of the local clock and the head block's time
// (what grant expiry is compared with). The caller closes l.
func identityState(ctx context.Context, a *app) (l *ledger, st *ledgerclient.State, now time.Time, err error) {
	if l, err = mustLedger(ctx, a); err != nil {
		return nil, nil, now, err
	}
	idAddr, err := identityKey(l)
	if err != nil {
		l.Close()
		return nil, nil, now, err
	}
	if st, err = l.c.State(ctx, idAddr); err != nil {
		l.Close()
		return nil, nil, now, chainHint(err, l.where)
	}
	now = time.Now()
	if st.Time.After(now) {
		now = st.Time
	}
	return l, st, now, nil
}
