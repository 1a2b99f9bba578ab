package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// nook doctor: what nook sees on this machine (app.Checks), and what to fix.

func init() {
	register(func(c *cli) *cobra.Command {
		return &cobra.Command{
			Use:   "doctor",
			Short: "check the set-up: folders, compute backends, models, vault",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
				problems := 0
				for _, ch := range c.app.Checks() {
					v := ch.Value
					if ch.Problem {
						problems++
						v += " — " + ch.Fix
					}
					fmt.Fprintf(w, "%s\t%s\n", ch.Name, v)
				}
				if err := w.Flush(); err != nil {
					return err
				}
				if problems > 0 {
					return fmt.Errorf("doctor: %d problem(s) above", problems)
				}
				return nil
			},
		}
	})
}
