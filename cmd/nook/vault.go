package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// Vault commands: nook init, nook vault status, nook vault export-key.

// readPassphrase returns NOOK_PASSPHRASE or asks on the terminal without
// echo; confirm asks twice.
func readPassphrase(a *app, prompt string, confirm bool) ([]byte, error) {
	if p := a.getenv("NOOK_PASSPHRASE"); p != "" {
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

// openVault unlocks the vault for one command. embed, when set, is the
// embedder for ingestion and search.
func openVault(a *app, embed vault.Embedder) (*vault.Vault, error) {
	dir := a.cfg.VaultDir()
	if err := requireVault(a); err != nil {
		return nil, err
	}
	pass, err := readPassphrase(a, "vault passphrase: ", false)
	if err != nil {
		return nil, err
	}
	opts := []vault.Option{vault.WithEmbedModel(a.cfg.EmbedModel)}
	if embed != nil {
		opts = append(opts, vault.WithEmbedder(embed))
	}
	v, err := vault.Open(dir, pass, opts...)
	if errors.Is(err, vault.ErrWrongPassphrase) && a.getenv("NOOK_PASSPHRASE") != "" {
		return nil, hint.New(err, "NOOK_PASSPHRASE does not unlock this vault: correct it, or unset it to be asked")
	}
	if err != nil {
		return nil, err
	}
	for _, p := range v.Problems() {
		fmt.Fprintf(a.stderr, "nook: warning: %v\n", p)
	}
	return v, nil
}

// requireVault fails fast, before a model is loaded, when there is no vault.
func requireVault(a *app) error {
	dir := a.cfg.VaultDir()
	if _, err := os.Stat(filepath.Join(dir, "VAULT")); err != nil {
		return hint.New(fmt.Errorf("vault: open %s: %w", dir, vault.ErrNotInitialized), "run `nook init` first")
	}
	return nil
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
	register(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "init",
			Short: "create the encrypted vault (asks for a passphrase twice, or NOOK_PASSPHRASE)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				pass, err := readPassphrase(a, "new vault passphrase: ", true)
				if err != nil {
					return err
				}
				v, err := vault.Init(a.cfg.VaultDir(), pass)
				if err != nil {
					return err
				}
				defer v.Close()
				fmt.Fprintf(a.stdout, "created vault %s in %s (device %s)\n", v.ID(), v.Dir(), v.Device())
				return nil
			},
		}
	})
	register(func(a *app) *cobra.Command {
		c := &cobra.Command{Use: "vault", Short: "inspect the encrypted vault"}
		var asJSON bool
		status := &cobra.Command{
			Use:   "status",
			Short: "show counts, sizes and damaged files",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openVault(a, nil)
				if err != nil {
					return err
				}
				defer v.Close()
				s, err := v.Status()
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(s)
				}
				printStatus(a.stdout, s)
				return nil
			},
		}
		status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		exportKey := &cobra.Command{
			Use:   "export-key",
			Short: "print the vault's age identity: `age -d -i KEY FILE` then decrypts any vault file",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openVault(a, nil)
				if err != nil {
					return err
				}
				defer v.Close()
				fmt.Fprintln(a.stderr, "nook: this key reads everything in the vault; keep it safe")
				return v.ExportKey(a.stdout)
			},
		}
		c.AddCommand(status, exportKey)
		return c
	})
}

func printStatus(w io.Writer, s vault.Status) {
	fmt.Fprintf(w, "vault      %s\nfolder     %s\ndevice     %s\nrecipient  %s\n", s.ID, s.Dir, s.Device, s.Recipient)
	fmt.Fprintf(w, "log        %d entries\ndocuments  %d (%d chunks)\nobjects    %d (%s)\n", s.LogSeq, s.Documents, s.Chunks, s.Objects, byteSize(s.Bytes))
	fmt.Fprintf(w, "sessions   %d\nmemory     %d facts\nsecrets    %d\n", s.Sessions, s.Memories, s.Secrets)
	if len(s.Problems) > 0 {
		fmt.Fprintf(w, "problems:\n  %s\n", strings.Join(s.Problems, "\n  "))
	}
}
