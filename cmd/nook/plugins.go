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
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/plugins"
)

// Plugin commands: nook plug add|rm|show|tools|call|ingest|export|keygen|sign,
// beside grant|revoke|ls (ledger.go). Logic lives in package plugins and in
// internal/app (the host, signing, keys).

// plugCommands are added under `nook plug` by ledger.go.
var plugCommands = []func(*cli) *cobra.Command{
	plugAdd, plugRm, plugShow, plugTools, plugCall, plugIngest, plugExport, plugKeygen, plugSign,
}

// withHost unlocks the vault (with the embedding model when the command
// ingests or searches), opens the plugin host over it and runs f.
func withHost(ctx context.Context, c *cli, embed bool, f func(*plugins.Host) error) error {
	_, vrel, err := unlock(ctx, c, embed)
	if err != nil {
		return err
	}
	defer vrel()
	h, hrel, err := c.app.Plugins(ctx)
	if err != nil {
		return err
	}
	defer hrel()
	return f(h)
}

func plugAdd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "add PATH|URL",
		Short: "install a plugin from its folder (or plugin.toml) or a URL of its plugin.toml; its signature is verified first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := c.app.PluginStore().Install(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added %s %s (publisher %s)\n", m.ID, m.Version, m.Publisher)
			fmt.Fprintf(c.stderr, "nook: it asks for: %s; grant what you allow:\n", strings.Join(m.Scopes, ", "))
			for _, s := range m.Scopes {
				fmt.Fprintf(c.stderr, "  nook plug grant %s %s --for 30d\n", m.ID, s)
			}
			return nil
		},
	}
}

func plugRm(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "uninstall a plugin (its grants stay on the ledger: revoke them with `nook plug revoke`)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, _ := c.app.PluginStore().Get(args[0])
			if err := c.app.PluginStore().Remove(args[0]); err != nil {
				if errors.Is(err, plugins.ErrNotFound) {
					return hint.New(err, "see the installed plugins with `nook plug show`")
				}
				return err
			}
			fmt.Fprintf(c.stdout, "removed %s\n", args[0])
			if m != nil {
				fmt.Fprintf(c.stderr, "nook: its grants stay until they expire; end them with `nook plug revoke %s SCOPE`\n", m.Publisher)
			}
			return nil
		},
	}
}

func plugShow(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "show [ID]",
		Short: "list installed plugins, or show one with its scopes and their grants",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				ms, problems := c.app.PluginStore().List()
				for _, p := range problems {
					fmt.Fprintf(c.stderr, "nook: warning: %s\n", termsafe.Line(p.Error()))
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tVERSION\tPUBLISHER\tSCOPES")
				for _, m := range ms {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.ID, m.Version, m.Publisher, strings.Join(m.Scopes, " "))
				}
				return w.Flush()
			}
			m, err := c.app.PluginStore().Get(args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "id\t%s\nversion\t%s\ndescription\t%s\npublisher\t%s\n", m.ID, m.Version, m.Description, m.Publisher)
			if m.Run.URL != "" {
				fmt.Fprintf(w, "runs\t%s\n", m.Run.URL)
			} else {
				fmt.Fprintf(w, "runs\t%s\n", strings.Join(append([]string{m.Run.Command}, m.Run.Args...), " "))
			}
			fmt.Fprintf(w, "sandbox\t%s\n", plugins.Protection(m))
			w.Flush()
			l, release, err := openLedger(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer release()
			w = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SCOPE\tGRANT")
			for _, s := range m.Scopes {
				d, err := l.Check(cmd.Context(), m.PublisherAddress(), s)
				if err != nil {
					return err
				}
				state := "none (" + d.Reason + ")"
				if d.Allowed {
					state = app.Expiry(d.Expires, time.Now())
				}
				fmt.Fprintf(w, "%s\t%s\n", s, state)
			}
			return w.Flush()
		},
	}
}

func plugTools(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "tools",
		Short: "list the tools of the plugins granted the scope tool (starts them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withHost(cmd.Context(), c, false, func(h *plugins.Host) error {
				tools, problems := h.ToolList(cmd.Context())
				for _, p := range problems {
					fmt.Fprintf(c.stderr, "nook: %s\n", plugins.Explain(p))
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "TOOL\tCONSENT\tDESCRIPTION")
				for _, t := range tools {
					consent := "no"
					if t.Consent {
						consent = "yes"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", t.Name, consent, t.Description)
				}
				return w.Flush()
			})
		},
	}
}

func plugCall(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "call TOOL [JSON]",
		Short: `call a plugin tool (<id>__<tool>) with JSON arguments, e.g. nook plug call units__convert '{"value":3,"from":"km","to":"mi"}'`,
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in map[string]any
			if len(args) == 2 {
				if err := json.Unmarshal([]byte(args[1]), &in); err != nil {
					return hint.New(fmt.Errorf("plugins: arguments %q are not a JSON object: %w", args[1], err), `quote them: '{"name": "value"}'`)
				}
			}
			return withHost(cmd.Context(), c, false, func(h *plugins.Host) error {
				out, err := h.Call(cmd.Context(), args[0], in)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, out)
				return nil
			})
		},
	}
}

func plugIngest(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "ingest ID",
		Short: "bring a data plug's resources into the vault under its tag (needs vault:write:<tag>)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withHost(cmd.Context(), c, true, func(h *plugins.Host) error {
				rep, err := h.Ingest(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				for _, s := range rep.Skipped {
					fmt.Fprintf(c.stderr, "nook: skipped %s\n", s)
				}
				fmt.Fprintf(c.stdout, "%d resources: %d added or changed, %d unchanged, %d skipped (tag %s)\n",
					rep.Resources, rep.Added, rep.Unchanged, len(rep.Skipped), rep.Tag)
				return nil
			})
		},
	}
}

func plugExport(c *cli) *cobra.Command {
	var k int
	ec := &cobra.Command{
		Use:   "export ID TAG [QUERY]",
		Short: "send the vault's documents tagged TAG (best matches for QUERY) to a data plug (needs vault:read:<TAG>)",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := ""
			if len(args) == 3 {
				query = args[2]
			}
			return withHost(cmd.Context(), c, true, func(h *plugins.Host) error {
				out, err := h.Export(cmd.Context(), args[0], args[1], query, k)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, out)
				return nil
			})
		},
	}
	ec.Flags().IntVarP(&k, "k", "k", 10, "documents to send")
	return ec
}

func plugKeygen(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen FILE",
		Short: "make a publisher key (secp256k1, hex) for signing plugins; prints its address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := app.NewPublisherKey(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, addr.Hex())
			return nil
		},
	}
}

func plugSign(c *cli) *cobra.Command {
	var keyFile string
	sc := &cobra.Command{
		Use:   "sign PATH --key FILE",
		Short: "sign a plugin.toml (or a plugin folder) with your publisher key: records the program's SHA-256 (or the https server's key) and sets publisher and signature",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := app.SignPlugin(cmd.Context(), args[0], keyFile)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "signed %s as %s\n", m.ID, m.Publisher)
			if pin := m.Run.SHA256 + m.Run.TLSKey; pin != "" {
				fmt.Fprintf(c.stderr, "nook: the signature covers sha256 %s\n", pin)
			}
			return nil
		},
	}
	sc.Flags().StringVar(&keyFile, "key", "", "the publisher key file (from `nook plug keygen`)")
	return sc
}
