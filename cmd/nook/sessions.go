package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// nook sessions: the saved conversations (ls, show, rm, rename, export),
// and nook ls: the vault's documents.

func init() {
	register(func(c *cli) *cobra.Command {
		var asJSON bool
		ls := func(cmd *cobra.Command, args []string) error {
			v, release, err := unlock(cmd.Context(), c, false)
			if err != nil {
				return err
			}
			defer release()
			ss, err := v.ListSessions()
			if err != nil {
				return err
			}
			if asJSON {
				if ss == nil {
					ss = []vault.SessionInfo{}
				}
				return json.NewEncoder(c.stdout).Encode(ss)
			}
			if len(ss) == 0 {
				fmt.Fprintln(c.stderr, "no saved sessions yet: `nook` or `nook ask` saves them")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUPDATED\tMESSAGES\tTITLE")
			for _, s := range ss {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.ID, s.Updated.Local().Format("2006-01-02 15:04"), s.Messages, s.Title)
			}
			return tw.Flush()
		}
		sc := &cobra.Command{
			Use:               "sessions",
			Aliases:           []string{"session"},
			Short:             "list, show, rename, export and remove saved sessions",
			Args:              cobra.NoArgs,
			RunE:              ls,
			ValidArgsFunction: cobra.NoFileCompletions,
		}
		sc.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		lsc := &cobra.Command{Use: "ls", Aliases: []string{"list"}, Short: "list saved sessions, newest first", Args: cobra.NoArgs, RunE: ls}
		lsc.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		sc.AddCommand(lsc)

		complete := func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return c.sessionIDs(cmd), cobra.ShellCompDirectiveNoFileComp
		}
		var format string
		show := func(cmd *cobra.Command, args []string) error {
			v, release, err := unlock(cmd.Context(), c, false)
			if err != nil {
				return err
			}
			defer release()
			s, err := findSession(v, args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return json.NewEncoder(c.stdout).Encode(s)
			case "md", "markdown", "":
				writeSessionMarkdown(c.stdout, s)
				return nil
			}
			return hint.New(fmt.Errorf("sessions: unknown format %q", format), "use --format md or --format json")
		}
		showc := &cobra.Command{Use: "show ID", Short: "print a session as Markdown (--format json for JSON)", Args: cobra.ExactArgs(1), RunE: show, ValidArgsFunction: complete}
		showc.Flags().StringVar(&format, "format", "md", "md or json")
		exportc := &cobra.Command{Use: "export ID --format md|json", Short: "write a session to stdout as Markdown or JSON", Args: cobra.ExactArgs(1), RunE: show, ValidArgsFunction: complete}
		exportc.Flags().StringVar(&format, "format", "md", "md or json")
		sc.AddCommand(showc, exportc)

		sc.AddCommand(&cobra.Command{
			Use: "rm ID...", Aliases: []string{"remove"}, Short: "delete sessions and erase them from disk",
			Args: cobra.MinimumNArgs(1), ValidArgsFunction: complete,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				for _, id := range args {
					s, err := findSession(v, id)
					if err != nil {
						return err
					}
					erased, err := v.DeleteSession(s.ID)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "removed %s %q (%d messages); erased %d objects (%s) from disk\n",
						s.ID, s.Title, len(s.Messages), erased.Objects, byteSize(erased.Bytes))
				}
				return nil
			},
		})
		sc.AddCommand(&cobra.Command{
			Use: "rename ID TITLE", Short: "give a session a new title",
			Args: cobra.MinimumNArgs(2), ValidArgsFunction: complete,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				s, err := findSession(v, args[0])
				if err != nil {
					return err
				}
				old := s.Title
				s.Title = joinArgs(args[1:])
				if err := v.SaveSession(s); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "renamed %s: %q → %q\n", s.ID, old, s.Title)
				return nil
			},
		})
		return sc
	})

	register(func(c *cli) *cobra.Command {
		var (
			asJSON bool
			tag    string
		)
		lc := &cobra.Command{
			Use:   "ls [--json] [--tag TAG]",
			Short: "list the documents in the vault",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				docs, err := v.ListSources(tag)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(docs)
				}
				if len(docs) == 0 {
					fmt.Fprintln(c.stderr, "no documents yet: `nook add PATH` adds files or folders")
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "DOCUMENT\tLINES\tCHUNKS\tTAGS")
				for _, d := range docs {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", d.Source, d.Lines, d.Chunks, strings.Join(d.Tags, ","))
				}
				return tw.Flush()
			},
		}
		lc.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		lc.Flags().StringVar(&tag, "tag", "", "only documents with this tag")
		return lc
	})
}

// findSession is the session whose id is, or starts with, id.
func findSession(v *vault.Vault, id string) (*vault.Session, error) {
	ss, err := v.ListSessions()
	if err != nil {
		return nil, err
	}
	var found []vault.SessionInfo
	for _, s := range ss {
		if s.ID == id {
			found = []vault.SessionInfo{s}
			break
		}
		if strings.HasPrefix(s.ID, id) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0:
		return nil, hint.New(fmt.Errorf("sessions: no session %q: %w", id, vault.ErrNotFound), "`nook sessions` lists them")
	case len(found) > 1:
		return nil, hint.New(errors.New("sessions: "+fmt.Sprint(len(found))+" sessions start with "+id), "give more of the id")
	}
	return v.LoadSession(found[0].ID)
}

// writeSessionMarkdown prints s as a Markdown document.
func writeSessionMarkdown(w io.Writer, s *vault.Session) {
	fmt.Fprintf(w, "# %s\n\n", orUntitled(s.Title))
	fmt.Fprintf(w, "_session %s, %s_\n", s.ID, s.Updated.Local().Format("2006-01-02 15:04"))
	for _, m := range s.Messages {
		who := m.Role
		switch m.Role {
		case "user":
			who = "You"
		case "assistant":
			who = "nook"
		}
		fmt.Fprintf(w, "\n## %s\n\n%s\n", who, strings.TrimSpace(m.Content))
	}
}

func orUntitled(s string) string {
	if s == "" {
		return "(untitled)"
	}
	return s
}

// sessionIDs lists session ids for shell completion when the vault opens
// without asking (NOOK_PASSPHRASE set); nothing otherwise.
func (c *cli) sessionIDs(cmd *cobra.Command) []string {
	if c.getenv("NOOK_PASSPHRASE") == "" || c.open() != nil || c.app.RequireVault() != nil {
		return nil
	}
	v, release, err := unlock(cmd.Context(), c, false)
	if err != nil {
		return nil
	}
	defer release()
	ss, _ := v.ListSessions()
	var out []string
	for _, s := range ss {
		out = append(out, s.ID+"\t"+s.Title)
	}
	return out
}
