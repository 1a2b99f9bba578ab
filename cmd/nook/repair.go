package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/vault"
)

// nook vault check and nook vault repair.

// errDamaged makes `nook vault check` exit 1 when something is damaged.
var errDamaged = hint.New(fmt.Errorf("vault: damaged files found"), "`nook vault repair` moves them to quarantine and rebuilds what can be rebuilt")

func checkCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "verify every file of the vault, changing nothing (exit 1 when something is damaged)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.app.RequireVault(); err != nil {
				return err
			}
			pass, err := readPassphrase(c, "vault passphrase: ", false)
			if err != nil {
				return err
			}
			rep, err := c.app.CheckVault(cmd.Context(), pass)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printCheck(c.stdout, rep.CheckReport)
				printWitness(c.stdout, rep)
			}
			if rep.RolledBack != "" {
				return hint.New(errors.New(rep.RolledBack), "if you restored this folder from a backup, what was written after that backup is in your other devices' copies only: sync with them (`nook sync now`); if you did not, someone replaced this folder")
			}
			if !rep.OK() {
				return errDamaged
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func repairCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "move damaged files to quarantine, rebuild the rest, and let writes go on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := readPassphrase(c, "vault passphrase: ", false)
			if err != nil {
				return err
			}
			rep, err := c.app.RepairVault(cmd.Context(), pass)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			if rep.Header {
				fmt.Fprintln(c.stdout, "wrote VAULT again from this device's key file")
			}
			printRepair(c.stdout, rep.RepairReport)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// plural is "N one" or "N many".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func printCheck(w io.Writer, r vault.CheckReport) {
	fmt.Fprintf(w, "checked %s\n", termsafe.Line(r.Dir))
	fmt.Fprintf(w, "  sound: %s, %s, %s, %s; index snapshot %s\n",
		plural(r.Entries, "log entry", "log entries"), plural(r.Objects, "object", "objects"),
		plural(r.KeyFiles, "key file copy", "key file copies"), plural(r.Wraps, "key wrap", "key wraps"), r.Snapshot)
	if len(r.Damaged) > 0 {
		fmt.Fprintf(w, "  damaged: %d\n", len(r.Damaged))
		for _, d := range r.Damaged {
			fmt.Fprintf(w, "    %s %s: %s\n      %s\n", d.Kind, termsafe.Line(d.Path), termsafe.Line(d.Problem), termsafe.Line(d.Effect))
		}
	}
	for _, h := range r.Holes {
		what := fmt.Sprintf("entry %d", h.From)
		if h.To != h.From {
			what = fmt.Sprintf("entries %d to %d", h.From, h.To)
		}
		fmt.Fprintf(w, "  not held here: %s of device %s (their changes are missing; a device that holds them restores them with `nook sync now`)\n", what, h.Device)
	}
	if r.NotHereYet > 0 {
		fmt.Fprintf(w, "  %s not on this device yet (`nook sync now` brings them; secrets only with sync.secrets = true)\n", plural(r.NotHereYet, "object", "objects"))
	}
	if r.Unused > 0 {
		fmt.Fprintf(w, "  %s no entry points at (left by interrupted writes; repair erases them)\n", plural(r.Unused, "object", "objects"))
	}
	if r.Temp > 0 {
		fmt.Fprintf(w, "  %s left by interrupted writes (removed when the vault is next opened)\n", plural(r.Temp, "temp file", "temp files"))
	}
	if r.OK() {
		fmt.Fprintln(w, "  nothing is damaged")
	}
}

func printWitness(w io.Writer, r app.CheckReport) {
	switch {
	case r.RolledBack != "":
		fmt.Fprintf(w, "  ROLLED BACK: %s\n", termsafe.Line(r.RolledBack))
	case r.Witness == nil:
	case r.Witness.Anchored.Seq == 0 && !r.Witness.Renewed:
		fmt.Fprintln(w, "  ledger witness: nothing anchored yet (`nook id create` first)")
	default:
		fmt.Fprintf(w, "  ledger witness: this device's log (entry %d) is at or past the head the ledger saw (entry %d)", r.Witness.Head.Seq, r.Witness.Anchored.Seq)
		if r.Witness.Renewed {
			fmt.Fprintf(w, "; anchored entry %d now", r.Witness.Head.Seq)
		}
		fmt.Fprintln(w)
	}
}

func printRepair(w io.Writer, r vault.RepairReport) {
	if len(r.Moved) > 0 {
		fmt.Fprintf(w, "moved %s to %s:\n", plural(len(r.Moved), "damaged file", "damaged files"), termsafe.Line(r.Quarantine))
		for _, m := range r.Moved {
			fmt.Fprintf(w, "  %s\n", termsafe.Line(m))
		}
	}
	for _, l := range r.Lost {
		fmt.Fprintf(w, "recorded as lost: %s\n", termsafe.Line(l))
	}
	for _, p := range r.Restored {
		fmt.Fprintf(w, "wrote again from the sound copy: %s\n", termsafe.Line(p))
	}
	if r.Segment > 0 {
		fmt.Fprintf(w, "this device's log goes on with a new segment at entry %d\n", r.Segment)
	}
	if r.Erased.Objects > 0 {
		fmt.Fprintf(w, "erased %s no entry pointed at (%s)\n", plural(r.Erased.Objects, "object", "objects"), byteSize(r.Erased.Bytes))
	}
	fmt.Fprintln(w, "rebuilt the state and the index from what verifies")
	if !r.After.OK() {
		fmt.Fprintln(w, "still damaged:")
		for _, d := range r.After.Damaged {
			fmt.Fprintf(w, "  %s %s: %s\n", d.Kind, termsafe.Line(d.Path), termsafe.Line(d.Problem))
		}
		return
	}
	fmt.Fprintln(w, "nothing is damaged now")
}
