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
	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/vault"
)

// Vault commands: nook init, nook vault status, nook vault export-key; the
// passphrase prompt and the unlock every vault command starts with.

// readPassphrase returns NOOK_PASSPHRASE or asks on the terminal without
// echo; confirm asks twice.
func readPassphrase(c *cli, prompt string, confirm bool) ([]byte, error) {
	if p := c.getenv("NOOK_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, hint.New(fmt.Errorf("vault: no terminal to ask for the passphrase: %w", vault.ErrLocked), "set NOOK_PASSPHRASE for scripts")
	}
	defer tty.Close()
	ask := func(p string) ([]byte, error) {
		fmt.Fprint(tty, p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return b, err
	}
	p1, err := ask(prompt)
	if err != nil {
		return nil, fmt.Errorf("vault: read passphrase: %w", err)
	}
	if confirm {
		p2, err := ask("repeat passphrase: ")
		if err != nil {
			return nil, fmt.Errorf("vault: read passphrase: %w", err)
		}
		if string(p1) != string(p2) {
			return nil, hint.New(errors.New("vault: the passphrases differ"), "run `nook init` again")
		}
	}
	return p1, nil
}

// unlock opens the vault for one command and returns it with the function
// that releases it. embed loads the embedding model (while scrypt runs) for
// commands that ingest or search; they say so when search is lexical.
func unlock(ctx context.Context, c *cli, embed bool) (*vault.Vault, func(), error) {
	if err := c.app.RequireVault(); err != nil {
		return nil, nil, err
	}
	pass, err := readPassphrase(c, "vault passphrase: ", false)
	if err != nil {
		return nil, nil, err
	}
	var opts []app.UnlockOption
	if !embed {
		opts = append(opts, app.WithoutEmbedder())
	}
	err = c.app.Unlock(ctx, pass, opts...)
	if errors.Is(err, vault.ErrWrongPassphrase) && c.getenv("NOOK_PASSPHRASE") != "" {
		return nil, nil, hint.New(err, "NOOK_PASSPHRASE does not unlock this vault: correct it, or unset it to be asked")
	}
	if err != nil {
		return nil, nil, err
	}
	if why := c.app.SearchMode(); embed && why != nil {
		fmt.Fprintf(c.stderr, "nook: search is lexical only: %v (%s)\n", why, hint.Of(why))
	}
	return c.app.Vault()
}

// byteSize prints a size for people: 512 B, 12.3 kB, 4.5 MB.
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

func init() {
	register(func(c *cli) *cobra.Command {
		return &cobra.Command{
			Use:   "init",
			Short: "create the encrypted vault (asks for a passphrase twice, or NOOK_PASSPHRASE)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				pass, err := readPassphrase(c, "new vault passphrase: ", true)
				if err != nil {
					return err
				}
				v, release, err := c.app.InitVault(pass)
				if err != nil {
					return err
				}
				defer release()
				fmt.Fprintf(c.stdout, "created vault %s in %s (device %s)\n", v.ID(), v.Dir(), v.Device())
				fmt.Fprintln(c.stdout, "keep a recovery copy of its key away from this machine: `nook vault export-key > nook-key.txt`, then store that file offline (whoever holds it reads the vault)")
				return nil
			},
		}
	})
	register(func(c *cli) *cobra.Command {
		vc := &cobra.Command{Use: "vault", Short: "inspect the encrypted vault"}
		var asJSON bool
		status := &cobra.Command{
			Use:   "status",
			Short: "show counts, sizes and damaged files",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				s, err := v.Status()
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(c.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(s)
				}
				printStatus(c.stdout, s)
				return nil
			},
		}
		status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		exportKey := &cobra.Command{
			Use:   "export-key",
			Short: "print the vault's age identity: `age -d -i KEY FILE` then decrypts any vault file",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, false)
				if err != nil {
					return err
				}
				defer release()
				fmt.Fprintln(c.stderr, "nook: this key reads everything in the vault; keep it safe")
				return v.ExportKey(c.stdout)
			},
		}
		vc.AddCommand(status, exportKey, checkCmd(c), repairCmd(c))
		return vc
	})
}

func printStatus(w io.Writer, s vault.Status) {
	fmt.Fprintf(w, "vault      %s\nfolder     %s\ndevice     %s\nrecipient  %s\n", s.ID, termsafe.Line(s.Dir), s.Device, s.Recipient)
	fmt.Fprintf(w, "log        %d entries\ndocuments  %d (%d chunks)\nobjects    %d (%s)\n", s.LogSeq, s.Documents, s.Chunks, s.Objects, byteSize(s.Bytes))
	fmt.Fprintf(w, "sessions   %d\nmemory     %d facts\nsecrets    %d\n", s.Sessions, s.Memories, s.Secrets)
	if s.Holes > 0 {
		fmt.Fprintf(w, "holes      %d log entries not held here (`nook vault check` says more)\n", s.Holes)
	}
	if len(s.Problems) > 0 {
		for i, p := range s.Problems {
			s.Problems[i] = termsafe.Line(p)
		}
		fmt.Fprintf(w, "problems:\n  %s\n", strings.Join(s.Problems, "\n  "))
	}
}
