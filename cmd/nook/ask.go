package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// Assistant commands: nook ask, nook remember, nook forget.

func init() {
	register(func(a *app) *cobra.Command {
		var (
			asJSON  bool
			noTools bool
			k       int
			folder  string
			tag     string
		)
		c := &cobra.Command{
			Use:   "ask [--json] QUESTION",
			Short: "answer from your vault, citing sources as [1], [2]",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				if err := requireVault(a); err != nil {
					return err
				}
				emb, err := openEmbedder(ctx, a)
				if err != nil {
					return err
				}
				defer emb.Close()
				opts := []assistant.Option{assistant.WithSources(k), assistant.WithSearch(vault.SearchOptions{Folder: folder, Tag: tag})}
				var v *vault.Vault
				if ms, _ := plugStore(a).List(); len(ms) > 0 && !noTools {
					// Installed plugins offer their tools, each call gated by a grant.
					host, l, err := openPlugins(ctx, a, emb)
					if err != nil {
						return err
					}
					defer l.Close()
					defer host.Close()
					v = l.v
					opts = append(opts, assistant.WithTools(host, assistant.ToolOptions{
						Confirm: func(ctx context.Context, c assistant.ToolCall) (bool, error) { return confirmOnTTY(a, c) },
						OnCall: func(c assistant.ToolCall) {
							if c.Done {
								status := "ok"
								if c.Err != nil {
									status = c.Err.Error()
								}
								fmt.Fprintf(a.stderr, "nook: tool %s: %s\n", c.Name, status)
							}
						},
					}))
				} else {
					if v, err = openVault(a, emb); err != nil {
						return err
					}
					defer v.Close()
				}
				eng, err := openEngine(ctx, a, a.cfg.Model)
				if err != nil {
					return err
				}
				defer eng.Close()
				as := assistant.New(eng, v, opts...)
				var onText func(string)
				if !asJSON {
					onText = func(s string) { fmt.Fprint(a.stdout, s) }
				}
				ans, err := as.Ask(ctx, assistant.Input{Text: joinArgs(args)}, onText)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(ans)
				}
				fmt.Fprintln(a.stdout)
				cited := 0
				for _, s := range ans.Sources {
					if s.Cited {
						cited++
						fmt.Fprintf(a.stdout, "[%d] %s:%d-%d\n", s.N, s.Path, s.StartLine, s.EndLine)
					}
				}
				if cited == 0 && len(ans.Sources) > 0 {
					// The model cited nothing: say what it was given.
					fmt.Fprintln(a.stdout, "sources given (none cited):")
					for _, s := range ans.Sources {
						fmt.Fprintf(a.stdout, "[%d] %s:%d-%d\n", s.N, s.Path, s.StartLine, s.EndLine)
					}
				}
				return nil
			},
		}
		c.Flags().BoolVar(&asJSON, "json", false, `print {"answer":..., "sources":[...]}`)
		c.Flags().IntVarP(&k, "k", "k", 5, "sources to retrieve")
		c.Flags().BoolVar(&noTools, "no-tools", false, "do not offer installed plugins' tools to the model")
		c.Flags().StringVar(&folder, "folder", "", "only sources under this folder")
		c.Flags().StringVar(&tag, "tag", "", "only documents with this tag")
		return c
	})
	register(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "remember TEXT",
			Short: "keep a fact in the vault; it goes into every system prompt",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openVault(a, nil)
				if err != nil {
					return err
				}
				defer v.Close()
				f, err := v.Remember(joinArgs(args))
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "remembered %s: %s\n", f.ID, f.Text)
				return nil
			},
		}
	})
	register(func(a *app) *cobra.Command {
		var list bool
		c := &cobra.Command{
			Use:   "forget ID|TEXT",
			Short: "remove remembered facts (by id, or all containing TEXT); --list shows them",
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openVault(a, nil)
				if err != nil {
					return err
				}
				defer v.Close()
				if list || len(args) == 0 {
					facts, err := v.Facts()
					if err != nil {
						return err
					}
					for _, f := range facts {
						fmt.Fprintf(a.stdout, "%s  %s\n", f.ID, f.Text)
					}
					return nil
				}
				gone, erased, err := v.Forget(joinArgs(args))
				if errors.Is(err, vault.ErrNotFound) {
					return hint.New(err, "`nook forget --list` shows the facts and their ids")
				}
				if err != nil {
					return err
				}
				for _, f := range gone {
					fmt.Fprintf(a.stdout, "forgot %s: %s\n", f.ID, f.Text)
				}
				fmt.Fprintf(a.stderr, "nook: erased %d objects (%s) from disk\n", erased.Objects, byteSize(erased.Bytes))
				return nil
			},
		}
		c.Flags().BoolVar(&list, "list", false, "list remembered facts")
		return c
	})
}

// confirmOnTTY asks on the terminal whether a tool call that needs consent
// may run; without a terminal it declines.
func confirmOnTTY(a *app, c assistant.ToolCall) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(a.stderr, "nook: tool %s needs consent and there is no terminal to ask: declined\n", c.Name)
		return false, nil
	}
	defer tty.Close()
	args, _ := json.Marshal(c.Arguments)
	fmt.Fprintf(tty, "allow %s %s? [y/N] ", c.Name, args)
	var answer string
	fmt.Fscanln(tty, &answer)
	return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes"), nil
}
