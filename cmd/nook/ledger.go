package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/ledgerclient"
)

// Ledger commands: nook id create|show|devices, nook plug grant|revoke|ls,
// nook ledger status. The logic is app.Ledger's; this file parses flags
// and prints.

// openLedger unlocks the vault and opens the ledger over it for one
// command; release ends both.
func openLedger(ctx context.Context, c *cli) (*app.Ledger, func(), error) {
	_, vrel, err := unlock(ctx, c, false)
	if err != nil {
		return nil, nil, err
	}
	l, lrel, err := c.app.Ledger(ctx, false)
	if err != nil {
		vrel()
		return nil, nil, err
	}
	return l, func() { lrel(); vrel() }, nil
}

func init() {
	register(func(c *cli) *cobra.Command {
		id := &cobra.Command{Use: "id", Short: "your identity (did:ethr) and devices on the ledger"}
		id.AddCommand(&cobra.Command{
			Use:   "create",
			Short: "make an identity key (kept in the vault) and register this device",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				idAddr, err := l.CreateIdentity(cmd.Context())
				if err != nil {
					return err
				}
				dev, _ := l.Device()
				fmt.Fprintln(c.stdout, l.DID(idAddr))
				fmt.Fprintf(c.stderr, "nook: device %s registered\n", dev.Hex())
				return nil
			},
		})
		id.AddCommand(&cobra.Command{
			Use:   "show",
			Short: "print the identity's did:ethr name and owner",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				idAddr, owner, err := l.Owner(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "did\t%s\n", l.DID(idAddr))
				fmt.Fprintf(w, "address\t%s\n", idAddr.Hex())
				fmt.Fprintf(w, "owner\t%s\n", owner.Hex())
				if dev, ok := l.Device(); ok {
					fmt.Fprintf(w, "this device\t%s\n", dev.Hex())
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
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				st, now, err := l.State(cmd.Context())
				if err != nil {
					return err
				}
				this, _ := l.Device()
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "DEVICE\tEXPIRES\t")
				for _, d := range st.Devices() {
					if !all && !d.Active(now) {
						continue
					}
					mark := ""
					if d.Address == this {
						mark = "(this device)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", d.Address.Hex(), app.Expiry(d.Expires, now), mark)
				}
				return w.Flush()
			},
		}
		devices.Flags().BoolVar(&all, "all", false, "include removed devices")
		devices.AddCommand(&cobra.Command{
			Use:   "rm DEVICE",
			Short: "remove a device: revoke it on the ledger and rotate the vault key to the others",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if !common.IsHexAddress(args[0]) {
					return hint.New(fmt.Errorf("id: %q is not a device address", args[0]), "copy it from `nook id devices`")
				}
				_, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				rem, err := c.app.RemoveDevice(cmd.Context(), common.HexToAddress(args[0]).Hex())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "removed %s; new key epoch %d wrapped to %s\n", rem.Device, rem.Epoch, strings.Join(rem.WrappedFor, ", "))
				for _, d := range rem.Unreachable {
					fmt.Fprintf(c.stderr, "nook: %s publishes no key: it cannot read what is written from now on\n", d)
				}
				fmt.Fprintln(c.stderr, "nook: what the removed device already copied stays readable to it; only what is written from now on is sealed from it")
				return nil
			},
		})
		id.AddCommand(devices)
		return id
	})

	register(func(c *cli) *cobra.Command {
		plug := &cobra.Command{Use: "plug", Short: "plugins and their grants on the ledger"}
		var forFlag string
		grant := &cobra.Command{
			Use:   "grant PLUGIN SCOPE [--for 30d]",
			Short: "let PLUGIN (an installed plugin's id, its publisher's address or did:ethr) use SCOPE until the grant expires",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				plugin, err := c.app.ParsePlugin(args[0])
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
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				g, err := l.Grant(cmd.Context(), plugin, args[1], d)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "granted %s to %s (%s), %s\n", g.Scope, g.Plugin.Hex(), c.app.Covers(g.Plugin), app.Expiry(g.Expires, time.Now()))
				if ids := c.app.PluginsOf(g.Plugin); len(ids) > 1 {
					fmt.Fprintf(c.stderr, "nook: note: grants belong to the publisher's key, so %s all get %s\n", strings.Join(ids, ", "), g.Scope)
				}
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
				plugin, err := c.app.ParsePlugin(args[0])
				if err != nil {
					return err
				}
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				if err := l.Revoke(cmd.Context(), plugin, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "revoked %s from %s (%s)\n", args[1], plugin.Hex(), c.app.Covers(plugin))
				return nil
			},
		})
		var all bool
		ls := &cobra.Command{
			Use:   "ls",
			Short: "list grants with their expiry (rebuilt from the ledger's events)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				l, release, err := openLedger(cmd.Context(), c)
				if err != nil {
					return err
				}
				defer release()
				st, now, err := l.State(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "PUBLISHER\tSCOPE\tEXPIRES\tCOVERS")
				for _, g := range st.Grants() {
					if !all && !g.Active(now) {
						continue
					}
					scope := g.Scope
					if scope == "" {
						scope = "(unnamed " + common.Hash(g.Type).Hex()[:10] + ")"
					}
					covers := strings.Join(c.app.PluginsOf(g.Plugin), ", ")
					if covers == "" {
						covers = "(no installed plugin)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", g.Plugin.Hex(), scope, app.Expiry(g.Expires, now), covers)
				}
				return w.Flush()
			},
		}
		ls.Flags().BoolVar(&all, "all", false, "include expired and revoked grants")
		plug.AddCommand(ls)
		for _, f := range plugCommands { // plugins.go
			plug.AddCommand(f(c))
		}
		return plug
	})

	register(func(c *cli) *cobra.Command {
		lc := &cobra.Command{Use: "ledger", Short: "the identity chain"}
		lc.AddCommand(&cobra.Command{
			Use:   "status",
			Short: "chain id, block, registry, identity, and whether the chain answers",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				_, vrel, err := unlock(ctx, c, false)
				if err != nil {
					return err
				}
				defer vrel()
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				defer w.Flush()
				fmt.Fprintf(w, "chain\t%s\n", c.app.LedgerWhere())
				l, lrel, err := c.app.Ledger(ctx, false)
				if err != nil {
					fmt.Fprintf(w, "answers\tno\n")
					return err
				}
				defer lrel()
				s, serr := l.Status(ctx)
				fmt.Fprintf(w, "chain id\t%s\n", s.ChainID)
				if serr != nil {
					fmt.Fprintf(w, "answers\tno\n")
					return serr
				}
				fmt.Fprintf(w, "answers\tyes\n")
				fmt.Fprintf(w, "block\t%d (%s)\n", s.Block, s.BlockTime.UTC().Format(time.RFC3339))
				deployed := "deployed"
				if !s.Deployed {
					deployed = "no code there"
				}
				fmt.Fprintf(w, "registry\t%s (%s)\n", s.Registry.Hex(), deployed)
				if idAddr, err := l.Identity(); err == nil {
					fmt.Fprintf(w, "identity\t%s\n", l.DID(idAddr))
				} else {
					fmt.Fprintf(w, "identity\tnone (run `nook id create`)\n")
				}
				if p := l.Client.Pinned(); p != nil {
					fmt.Fprintf(w, "trusted\tsince %s (genesis %s)\n", p.Since.UTC().Format("2006-01-02"), p.Genesis)
				}
				return nil
			},
		})
		lc.AddCommand(trustCmd(c))
		return lc
	})
}

// trustCmd confirms a new chain: only on a terminal, never from a pipe or
// the environment (a plugin can edit the config file; it cannot answer
// here).
func trustCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "trust",
		Short: "trust the chain ledger.rpc now points at (asks on the terminal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, vrel, err := unlock(ctx, c, false)
			if err != nil {
				return err
			}
			defer vrel()
			p, unchanged, err := c.app.TrustLedger(ctx, func(was *ledgerclient.Pin, got ledgerclient.Pin) (bool, error) {
				return confirmChain(c, was, got)
			})
			if err != nil {
				return err
			}
			if unchanged {
				fmt.Fprintf(c.stdout, "already trusted: %s (chain id %s, genesis %s)\n", termsafe.Line(p.Where), p.ChainID, p.Genesis)
				return nil
			}
			fmt.Fprintf(c.stdout, "trusted: %s (chain id %s, genesis %s, registry %s)\n", termsafe.Line(p.Where), p.ChainID, p.Genesis, p.Registry)
			return nil
		},
	}
}

// confirmChain shows the pinned and the new chain on the terminal and asks
// for "yes".
func confirmChain(c *cli, was *ledgerclient.Pin, got ledgerclient.Pin) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, hint.New(errors.New("ledger: a new chain is confirmed on a terminal only, and there is none"), "run `nook ledger trust` in a terminal")
	}
	defer tty.Close()
	if was != nil {
		fmt.Fprintf(tty, "this vault trusts the chain it met at %s on %s:\n  chain id %s, genesis %s, registry %s\n",
			termsafe.Line(was.Where), was.Since.UTC().Format("2006-01-02"), was.ChainID, was.Genesis, was.Registry)
	}
	fmt.Fprintf(tty, "the chain at %s is:\n  chain id %s, genesis %s, registry %s\n", termsafe.Line(got.Where), got.ChainID, got.Genesis, got.Registry)
	fmt.Fprint(tty, "its answers will decide what your plugins may do. trust it? type yes: ")
	var answer string
	fmt.Fscanln(tty, &answer)
	return strings.TrimSpace(answer) == "yes", nil
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
