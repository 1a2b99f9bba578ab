package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/serve"
	"github.com/nook-ai/nook/serve/appbackend"
)

// nook apps add|grant|revoke|ls|rotate|rm: the programs that may use
// `nook serve` and `nook mcp`, their keys (package serve's Registry, in
// the vault) and their grants (app grants on the ledger). While a server
// runs it holds the embedded chain, so grants go through its control
// socket, signed with the identity's key.

func init() { register(appsCmd) }

// withApps unlocks the vault and runs f with the app registry.
func withApps(ctx context.Context, c *cli, f func(*serve.Registry) error) error {
	_, vrel, err := unlock(ctx, c, false)
	if err != nil {
		return err
	}
	defer vrel()
	return f(serve.NewRegistry(appbackend.Secrets(c.app)))
}

// appLedger is the running server's ledger through its control socket, or
// else the ledger opened here. The vault must be unlocked.
func appLedger(ctx context.Context, c *cli) (serve.AppLedger, func(), error) {
	path := serve.ControlPath(c.cfg.RunDir())
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		k, err := c.app.IdentityKey()
		if err != nil {
			return nil, nil, err
		}
		return controlLedger{cc: serve.ControlClient{Path: path, Key: k}, id: ledgerclient.Address(k)}, func() {}, nil
	}
	l, rel, err := c.app.Ledger(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	return l, rel, nil
}

// controlLedger is serve.AppLedger over a running server's control socket.
type controlLedger struct {
	cc serve.ControlClient
	id common.Address
}

func (l controlLedger) Identity() (common.Address, error) { return l.id, nil }

func (l controlLedger) GrantApp(ctx context.Context, a common.Address, scope string, d time.Duration) (ledgerclient.Grant, error) {
	secs := int64(d / time.Second)
	if d == ledgerclient.Forever {
		secs = -1
	}
	rep, err := l.cc.Do(ctx, serve.ControlRequest{Op: "grant", App: a, Scope: scope, For: secs})
	if err != nil {
		return ledgerclient.Grant{}, err
	}
	if rep.Grant == nil {
		return ledgerclient.Grant{}, errors.New("serve: control: the server answered without the grant")
	}
	return *rep.Grant, nil
}

func (l controlLedger) RevokeApp(ctx context.Context, a common.Address, scope string) error {
	_, err := l.cc.Do(ctx, serve.ControlRequest{Op: "revoke", App: a, Scope: scope})
	return err
}

func (l controlLedger) AppGrants(ctx context.Context) ([]ledgerclient.Grant, time.Time, error) {
	rep, err := l.cc.Do(ctx, serve.ControlRequest{Op: "grants"})
	if err != nil {
		return nil, time.Time{}, err
	}
	return rep.Grants, rep.Now, nil
}

// withAppLedger runs f with the registry and the ledger.
func withAppLedger(ctx context.Context, c *cli, f func(*serve.Registry, serve.AppLedger) error) error {
	return withApps(ctx, c, func(r *serve.Registry) error {
		l, rel, err := appLedger(ctx, c)
		if err != nil {
			return err
		}
		defer rel()
		return f(r, l)
	})
}

func appsCmd(c *cli) *cobra.Command {
	apps := &cobra.Command{Use: "apps", Short: "the programs that may use nook serve and nook mcp: keys and grants"}
	apps.AddCommand(&cobra.Command{
		Use:   "add NAME",
		Short: "make a key for an app (printed once; the vault keeps its SHA-256) and a ledger address to grant scopes to",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApps(cmd.Context(), c, func(r *serve.Registry) error {
				a, key, err := r.Add(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, key)
				fmt.Fprintf(c.stderr, "nook: app %s added (ledger address %s); its key is above, shown this once\n", a.Name, a.Address.Hex())
				fmt.Fprintf(c.stderr, "nook: it may do nothing yet; grant what you allow, e.g.\n  nook apps grant %s chat --for 30d\n  nook apps grant %s vault:read --for 7d\n", a.Name, a.Name)
				return nil
			})
		},
	})
	var forFlag string
	grant := &cobra.Command{
		Use:   "grant NAME SCOPE [--for 30d]",
		Short: "let an app use SCOPE (chat, embed, vault:read, vault:read:tag/TAG, memory:write) until the grant expires",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseValidity(forFlag)
			if err != nil {
				return err
			}
			if err := serve.ValidScope(args[1]); err != nil {
				return err
			}
			return withAppLedger(cmd.Context(), c, func(r *serve.Registry, l serve.AppLedger) error {
				a, err := r.Get(args[0])
				if err != nil {
					return err
				}
				g, err := l.GrantApp(cmd.Context(), a.Address, args[1], d)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "granted %s to app %s, %s\n", g.Scope, a.Name, app.Expiry(g.Expires, time.Now()))
				return nil
			})
		},
	}
	grant.Flags().StringVar(&forFlag, "for", "30d", "how long: 30d, 12h, 90m, or never")
	apps.AddCommand(grant)
	apps.AddCommand(&cobra.Command{
		Use:   "revoke NAME SCOPE",
		Short: "end an app's grant of SCOPE now (refused from its next request)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAppLedger(cmd.Context(), c, func(r *serve.Registry, l serve.AppLedger) error {
				a, err := r.Get(args[0])
				if err != nil {
					return err
				}
				if err := l.RevokeApp(cmd.Context(), a.Address, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "revoked %s from app %s\n", args[1], a.Name)
				return nil
			})
		},
	})
	var all bool
	ls := &cobra.Command{
		Use:   "ls",
		Short: "list the apps and their grants with their expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAppLedger(cmd.Context(), c, func(r *serve.Registry, l serve.AppLedger) error {
				as, err := r.List()
				if err != nil {
					return err
				}
				gs, now, err := l.AppGrants(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "APP\tSCOPE\tEXPIRES\tCREATED")
				for _, a := range as {
					n := 0
					for _, g := range gs {
						if g.Plugin != a.Address || (!all && !g.Active(now)) {
							continue
						}
						n++
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.Name, g.Scope, app.Expiry(g.Expires, now), a.Created.Local().Format(time.DateOnly))
					}
					if n == 0 {
						fmt.Fprintf(w, "%s\t(none)\t\t%s\n", a.Name, a.Created.Local().Format(time.DateOnly))
					}
				}
				return w.Flush()
			})
		},
	}
	ls.Flags().BoolVar(&all, "all", false, "include expired and revoked grants")
	apps.AddCommand(ls)
	apps.AddCommand(&cobra.Command{
		Use:   "rotate NAME",
		Short: "give an app a new key (printed once); the old one stops working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApps(cmd.Context(), c, func(r *serve.Registry) error {
				a, key, err := r.Rotate(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, key)
				fmt.Fprintf(c.stderr, "nook: app %s has a new key (above, shown this once); its grants stay\n", a.Name)
				return nil
			})
		},
	})
	apps.AddCommand(&cobra.Command{
		Use:   "rm NAME",
		Short: "revoke an app's grants and delete its record (its key stops working)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withAppLedger(cmd.Context(), c, func(r *serve.Registry, l serve.AppLedger) error {
				a, err := r.Get(args[0])
				if err != nil {
					return err
				}
				gs, now, err := l.AppGrants(cmd.Context())
				if err != nil {
					return err
				}
				var revoked []string
				for _, g := range gs {
					if g.Plugin == a.Address && g.Active(now) {
						if err := l.RevokeApp(cmd.Context(), a.Address, g.Scope); err != nil {
							return err
						}
						revoked = append(revoked, g.Scope)
					}
				}
				if err := r.Remove(a.Name); err != nil {
					return err
				}
				msg := "removed app " + a.Name
				if len(revoked) > 0 {
					msg += " (revoked " + strings.Join(revoked, ", ") + ")"
				}
				fmt.Fprintln(c.stdout, msg)
				return nil
			})
		},
	})
	return apps
}
