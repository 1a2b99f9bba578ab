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

	"github.com/nook-ai/nook/engine"
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
			cont    bool
		)
		ask := &cobra.Command{
			Use:   "ask [--json] QUESTION",
			Short: "answer from your vault, citing sources as [1], [2]",
			Example: `  nook ask "where is the spare key?"
  git diff | nook ask "what does this change?"   # the question, then stdin
  nook ask -c "and the back door?"                 # continue the last session`,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				piped, err := readPiped(c)
				if err != nil {
					return err
				}
				question := joinPrompt(joinArgs(args), piped)
				if strings.TrimSpace(question) == "" {
					return hint.New(errors.New("ask: no question"), `nook ask "QUESTION", or pipe text in`)
				}
				if err := c.app.RequireVault(); err != nil {
					return err
				}
				// The chat model loads while the vault unlocks.
				if err := c.app.UseModel(ctx, ""); err != nil {
					return err
				}
				v, release, err := unlock(ctx, c, true)
				if err != nil {
					return err
				}
				defer release()
				in := app.TurnInput{
					Text: question, Sources: k, NoTools: noTools,
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
				// Each question is saved as a session; -c continues the last.
				sess := &vault.Session{Title: sessionTitle(question)}
				if cont {
					last, err := lastSession(v)
					if err != nil {
						return err
					}
					if last != nil {
						sess = last
						for _, m := range last.Messages {
							in.History = append(in.History, engine.Message{Role: m.Role, Content: m.Content})
						}
						in.Session = last.ID
					}
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
				sess.Messages = append(sess.Messages, vault.Message{Role: engine.RoleUser, Content: question}, vault.Message{Role: engine.RoleAssistant, Content: ans.Answer.Answer})
				if err := v.SaveSession(sess); err != nil {
					c.warn(fmt.Errorf("ask: the answer was not saved as a session: %w", err))
				}
				for _, n := range ans.Notices {
					fmt.Fprintf(c.stderr, "nook: %s\n", termsafe.Line(n))
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(ans)
				}
				fmt.Fprintln(c.stdout)
				if ans.Cut != "" {
					fmt.Fprintf(c.stdout, "[%s]\n", ans.Cut)
				}
				cited := 0
				for _, s := range ans.Sources {
					if s.Cited {
						cited++
						fmt.Fprintf(c.stdout, "[%d] %s\n", s.N, vault.Location(termsafe.Line(s.Path), s.Page, s.StartLine, s.EndLine))
					}
				}
				if cited == 0 && len(ans.Sources) > 0 {
					// The model cited nothing: say what it was given.
					fmt.Fprintln(c.stdout, "sources given (none cited):")
					for _, s := range ans.Sources {
						fmt.Fprintf(c.stdout, "[%d] %s\n", s.N, vault.Location(termsafe.Line(s.Path), s.Page, s.StartLine, s.EndLine))
					}
				}
				return nil
			},
		}
		ask.Flags().BoolVarP(&cont, "continue", "c", false, "continue the last session (its messages are the history; the turn is added to it)")
		ask.Flags().BoolVar(&asJSON, "json", false, `print {"answer":..., "sources":[...]}`)
		ask.Flags().IntVarP(&k, "k", "k", 0, "at most this many sources (default: as many as fit the model's context)")
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
		var list, yes bool
		fc := &cobra.Command{
			Use:   "forget ID|TEXT",
			Short: "remove remembered facts: by id, or those holding TEXT as words (asks first on a terminal; several need --yes without one); --list shows them",
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
				q := joinArgs(args)
				match, byID, err := app.FactsMatching(v, q)
				if err != nil {
					return err
				}
				if !byID && !yes {
					fmt.Fprintf(c.stderr, "%d fact(s) hold %q:\n", len(match), q)
					for _, f := range match {
						fmt.Fprintf(c.stderr, "  %s  %s\n", f.ID, f.Text)
					}
					ok, asked := askYesNo(c, fmt.Sprintf("forget and erase %s? [y/N] ", plural(len(match), "fact", "facts")))
					if !asked && len(match) > 1 {
						return hint.New(fmt.Errorf("forget: %d fact(s) match %q and there is no terminal to confirm", len(match), q),
							"pass --yes to forget them, or name one by its id")
					}
					if asked && !ok {
						fmt.Fprintln(c.stderr, "nook: kept them all")
						return nil
					}
				}
				gone, erased, err := app.ForgetFacts(v, match)
				for _, f := range gone {
					fmt.Fprintf(c.stdout, "forgot %s: %s\n", f.ID, termsafe.Line(f.Text))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "nook: erased %d objects (%s) from disk\n", erased.Objects, byteSize(erased.Bytes))
				return nil
			},
		}
		fc.Flags().BoolVar(&list, "list", false, "list remembered facts")
		fc.Flags().BoolVarP(&yes, "yes", "y", false, "forget every fact the text matches without asking")
		return fc
	})
}

// askYesNo asks question on the terminal; asked is false when there is
// none (then ok is false too).
func askYesNo(c *cli, question string) (ok, asked bool) {
	if _, real := c.stdin.(*os.File); !real {
		return false, false // run in-process (tests): no terminal of its own
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, false
	}
	defer tty.Close()
	fmt.Fprint(tty, question)
	var answer string
	fmt.Fscanln(tty, &answer)
	a := strings.TrimSpace(answer)
	return strings.EqualFold(a, "y") || strings.EqualFold(a, "yes"), true
}

// confirmOnTTY asks on the terminal whether a tool call that needs consent
// may run; without a terminal it declines.
func confirmOnTTY(c *cli, tc assistant.ToolCall) (bool, error) {
	args, _ := json.Marshal(tc.Arguments)
	ok, asked := askYesNo(c, fmt.Sprintf("allow %s %s? [y/N] ", termsafe.Line(tc.Name), termsafe.Line(string(args))))
	if !asked {
		fmt.Fprintf(c.stderr, "nook: tool %s needs consent and there is no terminal to ask: declined\n", termsafe.Line(tc.Name))
	}
	return ok, nil
}

// lastSession is the most recently updated session (nil: none yet).
func lastSession(v *vault.Vault) (*vault.Session, error) {
	ss, err := v.ListSessions()
	if err != nil || len(ss) == 0 {
		return nil, err
	}
	return v.LoadSession(ss[0].ID)
}

// sessionTitle is the question's first line, at most 60 characters.
func sessionTitle(q string) string {
	q, _, _ = strings.Cut(strings.TrimSpace(q), "\n")
	if r := []rune(q); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return q
}
