package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

// Ingest commands: nook add, nook watch, nook search, nook reindex.

type ingestFlags struct {
	excludes []string
	maxSize  int64
	tags     []string
}

func (f *ingestFlags) bind(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.excludes, "exclude", nil, ".gitignore-style pattern to skip (repeatable)")
	c.Flags().Int64Var(&f.maxSize, "max-size", vault.DefaultMaxFileSize, "skip files larger than this many bytes")
	c.Flags().StringArrayVar(&f.tags, "tag", nil, "tag the added documents (repeatable)")
}

func (f *ingestFlags) options() vault.AddOptions {
	return vault.AddOptions{Excludes: f.excludes, MaxFileSize: f.maxSize, Tags: f.tags}
}

// isTTY reports whether w is a terminal.
func isTTY(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws on stderr when it is a terminal and says nothing otherwise.
func progressBar(a *app) func(vault.Progress) {
	if !isTTY(a.stderr) {
		return nil
	}
	last := time.Time{}
	return func(p vault.Progress) {
		if time.Since(last) < 100*time.Millisecond && p.FilesDone != p.FilesTotal {
			return
		}
		last = time.Now()
		const width = 30
		frac := 1.0
		if p.BytesTotal > 0 {
			frac = float64(p.BytesDone) / float64(p.BytesTotal)
		}
		n := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < n {
				bar[i] = '='
			}
		}
		name := filepath.Base(p.Path)
		if len(name) > 30 {
			name = name[:29] + "…"
		}
		fmt.Fprintf(a.stderr, "\r[%s] %d/%d files %-30s", bar, p.FilesDone, p.FilesTotal, name)
		if p.FilesDone == p.FilesTotal {
			fmt.Fprintln(a.stderr)
		}
	}
}

func printReport(a *app, r vault.AddReport) {
	fmt.Fprintf(a.stdout, "added %d, updated %d, unchanged %d, removed %d, skipped %d (%d chunks, %s)\n",
		r.Added, r.Updated, r.Unchanged, r.Removed, r.Skipped, r.Chunks, byteSize(r.Bytes))
	if a.verbose {
		fmt.Fprintf(a.stderr, "nook: embedding %s, encryption %s (summed over files)\n", r.EmbedTime.Round(time.Millisecond), r.EncryptTime.Round(time.Millisecond))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(a.stderr, "nook: warning: %v\n", e)
	}
}

func init() {
	register(func(a *app) *cobra.Command {
		var f ingestFlags
		c := &cobra.Command{
			Use:   "add PATH...",
			Short: "ingest files and folders into the vault (Markdown, text, org, HTML, PDF, code)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openIndexedVault(cmd.Context(), a, true)
				if err != nil {
					return err
				}
				defer v.Close()
				o := f.options()
				o.Progress = progressBar(a)
				rep, err := v.Add(cmd.Context(), args, o)
				if errors.Is(err, fs.ErrNotExist) {
					return hint.New(err, "check the path; to drop the documents of a folder you deleted, add the folder's path again")
				}
				if err != nil {
					return err
				}
				printReport(a, rep)
				return nil
			},
		}
		f.bind(c)
		return c
	})
	register(func(a *app) *cobra.Command {
		var f ingestFlags
		c := &cobra.Command{
			Use:   "watch PATH",
			Short: "keep a folder in sync with the vault until interrupted",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openIndexedVault(cmd.Context(), a, true)
				if err != nil {
					return err
				}
				defer v.Close()
				fmt.Fprintf(a.stderr, "nook: watching %s (Ctrl+C to stop)\n", args[0])
				return v.Watch(cmd.Context(), args[0], f.options(), 0, func(r vault.AddReport, err error) {
					if err != nil {
						fmt.Fprintf(a.stderr, "nook: warning: %v\n", err)
						return
					}
					if r.Added+r.Updated+r.Removed > 0 {
						printReport(a, r)
					}
				})
			},
		}
		f.bind(c)
		return c
	})
	register(func(a *app) *cobra.Command {
		var (
			asJSON bool
			k      int
			budget int
			folder string
			tag    string
		)
		c := &cobra.Command{
			Use:   "search [--json] [-k N] [--budget TOKENS] QUERY",
			Short: "search the vault (BM25 + vectors, fused)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openIndexedVault(cmd.Context(), a, false)
				if err != nil {
					return err
				}
				defer v.Close()
				if budget > 0 && !cmd.Flags().Changed("k") {
					k = 0 // as many passages as fit
				}
				hits, err := v.Search(cmd.Context(), joinArgs(args), vault.SearchOptions{K: k, Budget: budget, Folder: folder, Tag: tag})
				if err != nil {
					return err
				}
				if asJSON {
					if hits == nil {
						hits = []vault.Hit{}
					}
					return json.NewEncoder(a.stdout).Encode(hits)
				}
				for i, h := range hits {
					fmt.Fprintf(a.stdout, "[%d] %s:%d-%d  (%.4f)\n", i+1, h.Source, h.StartLine, h.EndLine, h.Score)
					fmt.Fprintf(a.stdout, "    %s\n", snippet(h.Text, 160))
				}
				return nil
			},
		}
		c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		c.Flags().IntVarP(&k, "k", "k", 5, "number of results (with --budget: at most this many)")
		c.Flags().IntVar(&budget, "budget", 0, "return passages holding at most this many tokens in all, widened with their context")
		c.Flags().StringVar(&folder, "folder", "", "only sources under this folder")
		c.Flags().StringVar(&tag, "tag", "", "only documents with this tag")
		return c
	})
}

func init() {
	register(func(a *app) *cobra.Command {
		var all bool
		c := &cobra.Command{
			Use:   "reindex",
			Short: "rebuild the index: units for old documents, vectors from the embedding model (after `nook pull` or a model change)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := openIndexedVault(cmd.Context(), a, true)
				if err != nil {
					return err
				}
				defer v.Close()
				rep, err := v.Reindex(cmd.Context(), vault.ReindexOptions{All: all, Progress: progressBar(a)})
				for _, e := range rep.Errors {
					fmt.Fprintf(a.stderr, "nook: warning: %v\n", e)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "reindexed %d documents (%d units), %d already current\n", rep.Reindexed, rep.Units, rep.Current)
				return nil
			},
		}
		c.Flags().BoolVar(&all, "all", false, "rebuild every document, not only those that need it")
		return c
	})
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}

func snippet(s string, n int) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' {
			r[i] = ' '
		}
	}
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}

// openIndexedVault checks that a vault exists, loads the embedding model
// if one is installed (the app closes it when the command ends; nothing is
// downloaded) and unlocks the vault with it. Without one the vault indexes
// and searches lexically; indexing says so when notice is set.
func openIndexedVault(ctx context.Context, a *app, notice bool) (*vault.Vault, error) {
	if err := requireVault(a); err != nil {
		return nil, err
	}
	emb, missing, err := installedEmbedder(ctx, a)
	if err != nil {
		return nil, err
	}
	if emb == nil {
		if notice {
			fmt.Fprintf(a.stderr, "nook: no embedding model installed: indexing for keyword search only (`nook pull %s`, then `nook reindex`, adds vectors)\n", missing)
		}
		return openVault(a, nil)
	}
	return openVault(a, emb)
}

// installedEmbedder is openEmbedder without the download: the configured
// embedding model, else the chat model, else the catalog's default, if it
// is installed; otherwise nil and the name to pull.
func installedEmbedder(ctx context.Context, a *app) (vault.Embedder, string, error) {
	name := firstNonEmpty(a.cfg.EmbedModel, a.cfg.Model)
	if name == "" && a.cfg.Remote.Kind == "" {
		name = models.Default(models.RoleEmbedding, models.TotalMemory()).Name
		store, err := models.Open(a.cfg)
		if err != nil {
			return nil, "", err
		}
		if _, err := store.Resolve(name); errors.Is(err, models.ErrNotFound) {
			return nil, name, nil
		}
	}
	emb, err := openEmbedder(ctx, a)
	if errors.Is(err, models.ErrNotFound) {
		return nil, name, nil
	}
	if err != nil {
		return nil, "", err
	}
	return emb, "", nil
}
