package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	vsync "github.com/nook-ai/nook/vault/sync"
)

// Sync commands: nook sync [--daemon] | status | peers | add | now | pair |
// join | conflicts | resolve. The logic is vault/sync's, opened through
// app.Sync; this file parses flags and prints.

// openSync unlocks the vault and opens the sync service for one command.
func openSync(ctx context.Context, c *cli, embed bool) (*app.Sync, func(), error) {
	_, vrel, err := unlock(ctx, c, embed)
	if err != nil {
		return nil, nil, err
	}
	s, srel, err := c.app.Sync(ctx, false)
	if err != nil {
		vrel()
		return nil, nil, err
	}
	return s, func() { srel(); vrel() }, nil
}

func printJSON(c *cli, v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSyncReport(c *cli, rep vsync.Report) {
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DEVICE\tENTRIES\tOBJECTS\tBYTES\tSTATE\t")
	for _, p := range rep.Peers {
		state := "in sync"
		switch {
		case p.Err != "":
			state = "failed: " + p.Err
		case !p.InSync:
			state = fmt.Sprintf("differs (%d objects missing)", p.Missing)
		}
		if p.RolledBack {
			state += " (this vault's folder was restored from an older copy)"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t\n", p.Device, p.Entries, p.Objects, byteSize(p.Bytes), state)
	}
	w.Flush()
}

func init() {
	register(func(c *cli) *cobra.Command {
		var daemon bool
		sc := &cobra.Command{
			Use:   "sync",
			Short: "peer-to-peer vault sync between your devices",
			Long: "Copies the vault between the devices of your identity, peer to peer, ciphertext only.\n" +
				"A vault that was never paired opens no socket. See docs/sync.md.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if !daemon {
					return cmd.Help()
				}
				ctx := cmd.Context()
				s, release, err := openSync(ctx, c, true)
				if err != nil {
					return err
				}
				defer release()
				if err := s.Start(ctx); err != nil {
					if errors.Is(err, vsync.ErrNotPaired) {
						return hint.New(err, "pair this device first: `nook sync pair` here, `nook sync join CODE` on the new one")
					}
					return err
				}
				for _, a := range s.Addrs() {
					fmt.Fprintf(c.stdout, "listening %s\n", a)
				}
				fmt.Fprintln(c.stdout, "syncing in the background; stop with Ctrl-C or SIGTERM")
				<-ctx.Done()
				fmt.Fprintln(c.stderr, "nook: sync: stopping")
				return nil
			},
		}
		sc.Flags().BoolVar(&daemon, "daemon", false, "run the sync service in the foreground until SIGTERM")

		var statusJSON bool
		status := &cobra.Command{
			Use:   "status",
			Short: "whether sync is on, its peers, the last sync",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				s, release, err := openSync(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				st := s.Status()
				if statusJSON {
					return printJSON(c, st)
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				on := "off (never paired: no socket is opened)"
				if st.Enabled {
					on = "on"
				}
				fmt.Fprintf(w, "sync\t%s\n", on)
				fmt.Fprintf(w, "this device\t%s\n", st.Device)
				fmt.Fprintf(w, "peer id\t%s\n", st.PeerID)
				if st.Chain.Identity != "" {
					where := "this device's embedded chain"
					switch {
					case st.Chain.RPC != "":
						where = st.Chain.RPC
					case st.Chain.Host != "":
						where = "the embedded chain of " + st.Chain.Host + " (over libp2p)"
					}
					fmt.Fprintf(w, "ledger\t%s\n", where)
				}
				fmt.Fprintf(w, "peers\t%d remembered\n", len(st.Peers))
				if !st.LastSync.IsZero() {
					fmt.Fprintf(w, "last sync\t%s\n", st.LastSync.Local().Format(time.DateTime))
				}
				if st.LastError != "" {
					fmt.Fprintf(w, "last error\t%s\n", st.LastError)
				}
				fmt.Fprintf(w, "missing objects\t%d\n", st.Missing)
				fmt.Fprintf(w, "conflicts\t%d\n", st.Conflicts)
				fmt.Fprintf(w, "secrets\t%v\n", st.Secrets)
				return w.Flush()
			},
		}
		status.Flags().BoolVar(&statusJSON, "json", false, "print JSON")
		sc.AddCommand(status)

		var peersJSON bool
		peers := &cobra.Command{
			Use:   "peers",
			Short: "the devices this one syncs with",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				s, release, err := openSync(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				ps := s.Status().Peers
				if peersJSON {
					return printJSON(c, ps)
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "DEVICE\tLAST SYNC\tSTATE\tADDRESSES\t")
				for _, p := range ps {
					last, state := "never", "unknown"
					if !p.LastSync.IsZero() {
						last = p.LastSync.Local().Format(time.DateTime)
						state = "differs"
						if p.InSync {
							state = "in sync"
						}
					}
					if p.LastErr != "" {
						state = "failed: " + p.LastErr
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", p.Device, last, state, strings.Join(p.Addrs, " "))
				}
				return w.Flush()
			},
		}
		peers.Flags().BoolVar(&peersJSON, "json", false, "print JSON")
		sc.AddCommand(peers)

		sc.AddCommand(&cobra.Command{
			Use:   "add MULTIADDR",
			Short: "remember a device's address (ending in /p2p/<peer ID>)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, release, err := openSync(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				dev, err := s.AddPeer(args[0])
				if err != nil {
					return hint.New(err, "give a multiaddr like /ip4/192.168.1.20/tcp/4470/p2p/16Uiu2HAm… (`nook sync status` on the other device shows its peer id)")
				}
				fmt.Fprintf(c.stdout, "added %s (synced only while the ledger lists it as a device of this identity)\n", dev)
				return nil
			},
		})

		var nowJSON bool
		now := &cobra.Command{
			Use:   "now",
			Short: "sync with every reachable device now",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				s, release, err := openSync(ctx, c, true)
				if err != nil {
					return err
				}
				defer release()
				if err := s.StartManual(ctx); err != nil {
					if errors.Is(err, vsync.ErrNotPaired) {
						return hint.New(err, "pair this device first: `nook sync pair` here, `nook sync join CODE` on the new one")
					}
					return err
				}
				if err := s.RefreshDevices(ctx); err != nil {
					fmt.Fprintf(c.stderr, "nook: sync: device list: %v (using the one kept)\n", err)
				}
				rep, err := s.SyncNow(ctx)
				if nowJSON {
					if jerr := printJSON(c, rep); jerr != nil {
						return jerr
					}
				} else {
					printSyncReport(c, rep)
				}
				return err
			},
		}
		now.Flags().BoolVar(&nowJSON, "json", false, "print JSON")
		sc.AddCommand(now)

		var ttl time.Duration
		pair := &cobra.Command{
			Use:   "pair",
			Short: "let a new device join: prints a one-time code and addresses",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				s, release, err := openSync(ctx, c, false)
				if err != nil {
					return err
				}
				defer release()
				p, err := s.Pair(ctx, ttl)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "code %s (valid until %s, works once)\n", p.Code, p.Expires.Local().Format(time.TimeOnly))
				fmt.Fprintln(c.stdout, "on the new device run one of:")
				for _, a := range p.Addrs {
					fmt.Fprintf(c.stdout, "  nook sync join %s %s\n", p.Code, a)
				}
				dev, err := p.Wait(ctx, s.Node)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "paired %s\n", dev)
				fmt.Fprintln(c.stderr, "nook: keep this device syncing (`nook sync --daemon`, or the app open) so the new one can read the ledger and the vault")
				return nil
			},
		}
		pair.Flags().DurationVar(&ttl, "ttl", vsync.PairTTL, "how long the code is valid")
		sc.AddCommand(pair)

		sc.AddCommand(&cobra.Command{
			Use:   "join CODE [MULTIADDR]",
			Short: "make this (new) device one of your devices, with the code `nook sync pair` printed",
			Args:  cobra.RangeArgs(1, 2),
			RunE: func(cmd *cobra.Command, args []string) error {
				pass, err := readPassphrase(c, "passphrase for this device's vault: ", true)
				if err != nil {
					return err
				}
				addr := ""
				if len(args) == 2 {
					addr = args[1]
				}
				j, err := c.app.JoinVault(cmd.Context(), pass, args[0], addr)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "joined: this device is %s, paired with %s\n", j.Device, j.Host)
				fmt.Fprintln(c.stderr, "nook: run `nook sync now` (or `nook sync --daemon`) to copy the vault")
				return nil
			},
		})

		var conflictsJSON bool
		conflicts := &cobra.Command{
			Use:   "conflicts",
			Short: "keys changed on two devices at once (the winner first)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				cs := v.Conflicts()
				if conflictsJSON {
					return printJSON(c, cs)
				}
				if len(cs) == 0 {
					fmt.Fprintln(c.stdout, "no conflicts")
					return nil
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NS\tKEY\tVERSION\tDEVICE\tTIME\t")
				for _, k := range cs {
					for _, ver := range k.Versions {
						mark := ""
						if ver.Winner {
							mark = "(shown now)"
						}
						if ver.Deleted {
							mark += " (deleted)"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.NS, k.Key, ver.ID, ver.Device, ver.Time.Local().Format(time.DateTime), mark)
					}
				}
				if err := w.Flush(); err != nil {
					return err
				}
				fmt.Fprintln(c.stderr, "nook: keep one version with `nook sync resolve NS KEY VERSION`")
				return nil
			},
		}
		conflicts.Flags().BoolVar(&conflictsJSON, "json", false, "print JSON")
		sc.AddCommand(conflicts)

		sc.AddCommand(&cobra.Command{
			Use:   "resolve NS KEY VERSION",
			Short: "keep one version of a conflicting key (see `nook sync conflicts`)",
			Args:  cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				if _, err := v.ResolveConflict(args[0], args[1], args[2]); err != nil {
					return hint.New(err, "see the versions with `nook sync conflicts`")
				}
				fmt.Fprintf(c.stdout, "kept %s of %s %s\n", args[2], args[0], args[1])
				return nil
			},
		})
		return sc
	})
}
