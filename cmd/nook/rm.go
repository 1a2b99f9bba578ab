package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/vault"
)

// nook rm: remove documents from the vault and erase them from disk.

func init() {
	register(func(c *cli) *cobra.Command {
		var yes, asJSON bool
		cmd := &cobra.Command{
			Use:   "rm PATH...",
			Short: "remove documents (a file, or every document under a folder) from the vault and erase them from disk; the files stay",
			Long: "Removes the documents of each PATH (a file, or a folder: every document under it) from the vault and erases\n" +
				"their encrypted copies from disk. The files themselves are not touched. When a folder holds several documents,\n" +
				"nook asks first on a terminal; without one, pass --yes.",
			Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				match, err := v.MatchDocuments(args)
				if errors.Is(err, vault.ErrNotFound) {
					return hint.New(err, "`nook ls` lists the documents in the vault; give a file or folder as it shows them")
				}
				if err != nil {
					return err
				}
				if len(match) > 1 && !yes {
					fmt.Fprintf(c.stderr, "%s match:\n", plural(len(match), "document", "documents"))
					for _, k := range match {
						fmt.Fprintf(c.stderr, "  %s\n", termsafe.Line(k))
					}
					ok, asked := askYesNo(c, fmt.Sprintf("remove and erase %s? [y/N] ", plural(len(match), "document", "documents")))
					if !asked {
						return hint.New(fmt.Errorf("rm: %d documents match and there is no terminal to confirm", len(match)),
							"pass --yes to remove them all, or name one file")
					}
					if !ok {
						fmt.Fprintln(c.stderr, "nook: kept them all")
						return nil
					}
				}
				gone, erased, err := v.RemoveDocuments(match)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(c.stdout).Encode(struct {
						Removed []string     `json:"removed"`
						Erased  vault.Erased `json:"erased"`
					}{gone, erased})
				}
				for _, k := range gone {
					fmt.Fprintf(c.stdout, "removed %s\n", termsafe.Line(k))
				}
				fmt.Fprintf(c.stdout, "erased %s (%s) from disk\n", plural(erased.Objects, "object", "objects"), byteSize(erased.Bytes))
				return nil
			},
		}
		cmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove every document that matches without asking")
		cmd.Flags().BoolVar(&asJSON, "json", false, "print what was removed and erased as JSON")
		return cmd
	})
}
