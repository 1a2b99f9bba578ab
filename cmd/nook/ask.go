package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/vault"
)

// Assistant commands: nook ask, nook remember, nook forget.

func init() {
	register(func(c *cli) *cobra.Command {
		var (
			asJSON  bool
			noTools bool
			k       int
			folder  string
			tag     string
		)
		ask := &cobra.Command{
			Use:   "ask [--json] QUESTION",
			Short: "answer from your vault, citing sources as [1], [2]",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				if err := c.app.RequireVault(); err != nil {
					return err
				}
				// The chat model loads while the vault unlocks.
				if err := c.app.UseModel(ctx, ""); err != nil {
					return err
				}
				_, release, err := unlock(ctx, c, true)
				if err != nil {
					return err
				}
				defer release()
				in := app.TurnInput{
					Text: joinArgs(args), Sources: k, NoTools: noTools,
					Search:  vault.SearchOptions{Folder: folder, Tag: tag},
					Confirm: func(ctx context.Context, tc assistant.ToolCall) (bool, error) { return confirmOnTTY(c, tc) },
					OnCall: func(tc assistant.ToolCall) {
						if tc.Done {
							status := "ok"
							if tc.Err != nil {
								status = tc.Err.Error()
							}
							fmt.Fprintf(c.stderr, "nook: tool %s: %s\n", termsafe.Line(tc.Name), termsafe.Line(status))
						}
					},
				}
				var onText func(string)
				out := termsafe.NewWriter(c.stdout) // the model's words: shown, never obeyed
				if !asJSON {
					onText = func(s string) { io.WriteString(out, s) }
				}
				ans, err := c.app.Ask(ctx, in, onText)
				out.Close()
				if err != nil {
					return err
				}
				for _, n := range ans.Notices {
					fmt.Fprintf(c.stderr, "nook: %s\n", termsafe.Line(n))
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(ans)
				}
				fmt.Fprintln(c.stdout)
				cited := 0
				for _, s := range ans.Sources {
					if s.Cited {
						cited++
						fmt.Fprintf(c.stdout, "[%d] %s:%d-%d\n", s.N, termsafe.Line(s.Path), s.StartLine, s.EndLine)
					}
				}
				if cited == 0 && len(ans.Sources) > 0 {
					// The model cited nothing: say what it was given.
					fmt.Fprintln(c.stdout, "sources given (none cited):")
					for _, s := range ans.Sources {
						fmt.Fprintf(c.stdout, "[%d] %s:%d-%d\n", s.N, termsafe.Line(s.Path), s.StartLine, s.EndLine)
					}
				}
				return nil
			},
		}
		ask.Flags().BoolVar(&asJSON, "json", false, `print {"answer":..., "sources":[...]}`)
		ask.Flags().IntVarP(&k, "k", "k", 5, "sources to retrieve")
		ask.Flags().BoolVar(&noTools, "no-tools", false, "do not offer installed plugins' tools to the model")
		ask.Flags().StringVar(&folder, "folder", "", "only sources under this folder")
		ask.Flags().StringVar(&tag, "tag", "", "only documents with this tag")
		return ask
	})
	register(func(c *cli) *cobra.Command {
		return &cobra.Command{
			Use:   "remember TEXT",
			Short: "keep a fact in the vault; it goes into every system prompt",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				f, err := v.Remember(joinArgs(args))
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "remembered %s: %s\n", f.ID, termsafe.Line(f.Text))
				return nil
			},
		}
	})
	register(func(c *cli) *cobra.Command {
		var list bool
		fc := &cobra.Command{
			Use:   "forget ID|TEXT",
			Short: "remove remembered facts (by id, or all containing TEXT); --list shows them",
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				if list || len(args) == 0 {
					facts, err := v.ListFacts()
					if err != nil {
						return err
					}
					for _, f := range facts {
						if f.Damaged != "" {
							fmt.Fprintf(c.stdout, "%s  (unreadable: %s)\n", f.ID, f.Damaged)
							continue
						}
						fmt.Fprintf(c.stdout, "%s  %s\n", f.ID, termsafe.Line(f.Text))
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
					fmt.Fprintf(c.stdout, "forgot %s: %s\n", f.ID, termsafe.Line(f.Text))
				}
				fmt.Fprintf(c.stderr, "nook: erased %d objects (%s) from disk\n", erased.Objects, byteSize(erased.Bytes))
				return nil
			},
		}
		fc.Flags().BoolVar(&list, "list", false, "list remembered facts")
		return fc
	})
}

// confirmOnTTY asks on the terminal whether a tool call that needs consent
// may run; without a terminal it declines.
func confirmOnTTY(c *cli, tc assistant.ToolCall) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(c.stderr, "nook: tool %s needs consent and there is no terminal to ask: declined\n", tc.Name)
		return false, nil
	}
	defer tty.Close()
	args, _ := json.Marshal(tc.Arguments)
	fmt.Fprintf(tty, "allow %s %s? [y/N] ", termsafe.Line(tc.Name), termsafe.Line(string(args)))
	var answer string
	fmt.Fscanln(tty, &answer)
	return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes"), nil
}
