package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/vault"
)

// Plugin commands: nook plug add|rm|show|tools|call|ingest|export|keygen|sign,
// beside grant|revoke|ls (ledger.go). Logic lives in package plugins.

// plugCommands are added under `nook plug` by ledger.go.
var plugCommands = []func(*app) *cobra.Command{
	plugAdd, plugRm, plugShow, plugTools, plugCall, plugIngest, plugExport, plugKeygen, plugSign,
}

func plugStore(a *app) plugins.Store { return plugins.Store{Dir: a.cfg.PluginsDir()} }

// installedPublisher resolves an installed plugin's id to its publisher.
func installedPublisher(a *app, id string) (common.Address, bool) {
	if a.cfg == nil || strings.HasPrefix(id, "0x") || strings.HasPrefix(id, "did:") {
		return common.Address{}, false
	}
	m, err := plugStore(a).Get(id)
	if err != nil {
		return common.Address{}, false
	}
	return m.PublisherAddress(), true
}

// openPlugins opens the ledger (and the vault, with emb for data plugs)
// and a plugin host for the identity, over the installed plugins. Problems
// with single plugins are warnings. Close the host, then the ledger.
func openPlugins(ctx context.Context, a *app, emb vault.Embedder) (*plugins.Host, *ledger, error) {
	v, err := openVault(a, emb)
	if err != nil {
		return nil, nil, err
	}
	return pluginsOn(ctx, a, v, true)
}

// pluginsOn is openPlugins over an unlocked vault; owned as in ledgerOn.
func pluginsOn(ctx context.Context, a *app, v *vault.Vault, owned bool) (*plugins.Host, *ledger, error) {
	l, err := ledgerOn(ctx, a, v, owned)
	if err != nil {
		if l != nil {
			l.Close()
		}
		return nil, nil, err
	}
	id, err := identityKey(l)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	ms, problems := plugStore(a).List()
	for _, p := range problems {
		fmt.Fprintf(a.stderr, "nook: warning: %v\n", p)
	}
	settings, err := plugins.LoadSettings(filepath.Join(a.cfg.PluginsDir(), plugins.SettingsFile))
	if err != nil {
		l.Close()
		return nil, nil, hint.New(err, "fix or remove the file")
	}
	h := plugins.NewHost(id, l.c, ms,
		plugins.WithLogDir(filepath.Join(a.cfg.LogsDir(), "plugins")),
		plugins.WithSettings(settings),
		plugins.WithPrivate(a.cfg.Home, filepath.Dir(a.cfg.Path)),
		plugins.WithVault(l.v),
		plugins.WithEvents(func(e plugins.Event) {
			if e.Kind == "crash" || e.Kind == "timeout" || a.verbose {
				fmt.Fprintf(a.stderr, "nook: plugin %s: %s %s\n", e.Plugin, e.Kind, e.Detail)
			}
		}))
	return h, l, nil
}

// withHost opens the plugin host (with the embedding model when the
// command ingests or searches), runs f, and closes the host and its ledger.
func withHost(ctx context.Context, a *app, embed bool, f func(*plugins.Host) error) error {
	var emb vault.Embedder
	if embed {
		e, err := openEmbedder(ctx, a)
		if err != nil {
			return err
		}
		emb = e // closed with the app's engines
	}
	h, l, err := openPlugins(ctx, a, emb)
	if err != nil {
		return err
	}
	defer l.Close()
	defer h.Close()
	return f(h)
}

func plugAdd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "add PATH|URL",
		Short: "install a plugin from its folder (or plugin.toml) or a URL of its plugin.toml; its signature is verified first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := plugStore(a).Install(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "added %s %s (publisher %s)\n", m.ID, m.Version, m.Publisher)
			fmt.Fprintf(a.stderr, "nook: it asks for: %s; grant what you allow:\n", strings.Join(m.Scopes, ", "))
			for _, s := range m.Scopes {
				fmt.Fprintf(a.stderr, "  nook plug grant %s %s --for 30d\n", m.ID, s)
			}
			return nil
		},
	}
}

func plugRm(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "uninstall a plugin (its grants stay on the ledger: revoke them with `nook plug revoke`)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, _ := plugStore(a).Get(args[0])
			if err := plugStore(a).Remove(args[0]); err != nil {
				if errors.Is(err, plugins.ErrNotFound) {
					return hint.New(err, "see the installed plugins with `nook plug show`")
				}
				return err
			}
			fmt.Fprintf(a.stdout, "removed %s\n", args[0])
			if m != nil {
				fmt.Fprintf(a.stderr, "nook: its grants stay until they expire; end them with `nook plug revoke %s SCOPE`\n", m.Publisher)
			}
			return nil
		},
	}
}

func plugShow(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show [ID]",
		Short: "list installed plugins, or show one with its scopes and their grants",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				ms, problems := plugStore(a).List()
				for _, p := range problems {
					fmt.Fprintf(a.stderr, "nook: warning: %v\n", p)
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tVERSION\tPUBLISHER\tSCOPES")
				for _, m := range ms {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.ID, m.Version, m.Publisher, strings.Join(m.Scopes, " "))
				}
				return w.Flush()
			}
			m, err := plugStore(a).Get(args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "id\t%s\nversion\t%s\ndescription\t%s\npublisher\t%s\n", m.ID, m.Version, m.Description, m.Publisher)
			if m.Run.URL != "" {
				fmt.Fprintf(w, "runs\t%s\n", m.Run.URL)
			} else {
				fmt.Fprintf(w, "runs\t%s\n", strings.Join(append([]string{m.Run.Command}, m.Run.Args...), " "))
			}
			fmt.Fprintf(w, "sandbox\t%s\n", plugins.Protection(m))
			w.Flush()
			l, err := mustLedger(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer l.Close()
			id, err := identityKey(l)
			if err != nil {
				return err
			}
			w = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SCOPE\tGRANT")
			for _, s := range m.Scopes {
				d, err := l.c.Check(cmd.Context(), id, m.PublisherAddress(), s)
				if err != nil {
					return chainHint(err, l.where)
				}
				state := "none (" + d.Reason + ")"
				if d.Allowed {
					state = expiry(d.Expires, time.Now())
				}
				fmt.Fprintf(w, "%s\t%s\n", s, state)
			}
			return w.Flush()
		},
	}
}

func plugTools(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "tools",
		Short: "list the tools of the plugins granted the scope tool (starts them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withHost(cmd.Context(), a, false, func(h *plugins.Host) error {
				tools, problems := h.ToolList(cmd.Context())
				for _, p := range problems {
					fmt.Fprintf(a.stderr, "nook: %s\n", plugins.Explain(p))
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
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

func plugCall(a *app) *cobra.Command {
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
			return withHost(cmd.Context(), a, false, func(h *plugins.Host) error {
				out, err := h.Call(cmd.Context(), args[0], in)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, out)
				return nil
			})
		},
	}
}

func plugIngest(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "ingest ID",
		Short: "bring a data plug's resources into the vault under its tag (needs vault:write:<tag>)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withHost(cmd.Context(), a, true, func(h *plugins.Host) error {
				rep, err := h.Ingest(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				for _, s := range rep.Skipped {
					fmt.Fprintf(a.stderr, "nook: skipped %s\n", s)
				}
				fmt.Fprintf(a.stdout, "%d resources: %d added or changed, %d unchanged, %d skipped (tag %s)\n",
					rep.Resources, rep.Added, rep.Unchanged, len(rep.Skipped), rep.Tag)
				return nil
			})
		},
	}
}

func plugExport(a *app) *cobra.Command {
	var k int
	c := &cobra.Command{
		Use:   "export ID TAG [QUERY]",
		Short: "send the vault's documents tagged TAG (best matches for QUERY) to a data plug (needs vault:read:<TAG>)",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := ""
			if len(args) == 3 {
				query = args[2]
			}
			return withHost(cmd.Context(), a, true, func(h *plugins.Host) error {
				out, err := h.Export(cmd.Context(), args[0], args[1], query, k)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, out)
				return nil
			})
		},
	}
	c.Flags().IntVarP(&k, "k", "k", 10, "documents to send")
	return c
}

// A publisher key file holds the secp256k1 private key as hex (geth's
// --key format), readable by its owner only.
func readKeyFile(path string) (*ecdsaKey, error) {
	k, err := crypto.LoadECDSA(path)
	if err != nil {
		return nil, hint.New(fmt.Errorf("plugins: key %s: %w", path, err), "make one with `nook plug keygen FILE`")
	}
	return &ecdsaKey{k}, nil
}

func plugKeygen(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen FILE",
		Short: "make a publisher key (secp256k1, hex) for signing plugins; prints its address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err == nil {
				return hint.New(fmt.Errorf("plugins: %s exists", args[0]), "choose another file; a key is never overwritten")
			}
			k, err := crypto.GenerateKey()
			if err != nil {
				return err
			}
			if err := os.WriteFile(args[0], []byte(hex.EncodeToString(crypto.FromECDSA(k))), 0o600); err != nil {
				return fmt.Errorf("plugins: keygen: %w", err)
			}
			fmt.Fprintln(a.stdout, ledgerclient.Address(k).Hex())
			return nil
		},
	}
}

func plugSign(a *app) *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "sign PATH --key FILE",
		Short: "sign a plugin.toml (or a plugin folder) with your publisher key: records the program's SHA-256 (or the https server's key) and sets publisher and signature",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return hint.New(errors.New("plugins: sign needs --key"), "make a key with `nook plug keygen FILE`")
			}
			k, err := readKeyFile(keyFile)
			if err != nil {
				return err
			}
			m, err := plugins.SignFile(cmd.Context(), args[0], k.k)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "signed %s as %s\n", m.ID, m.Publisher)
			if pin := m.Run.SHA256 + m.Run.TLSKey; pin != "" {
				fmt.Fprintf(a.stderr, "nook: the signature covers sha256 %s\n", pin)
			}
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the publisher key file (from `nook plug keygen`)")
	return c
}

type ecdsaKey struct{ k *ecdsa.PrivateKey }
