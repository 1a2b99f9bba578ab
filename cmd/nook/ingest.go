package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
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
func progressBar(c *cli) func(vault.Progress) {
	if !isTTY(c.stderr) {
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
		name := termsafe.Line(filepath.Base(p.Path))
		if len(name) > 30 {
			name = name[:29] + "…"
		}
		fmt.Fprintf(c.stderr, "\r[%s] %d/%d files %-30s", bar, p.FilesDone, p.FilesTotal, name)
		if p.FilesDone == p.FilesTotal {
			fmt.Fprintln(c.stderr)
		}
	}
}

// watchable is nil when path is a folder, or else a one-line error with a
// hint.
func watchable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hint.New(fmt.Errorf("watch %s: no such folder", path), "check the path (`nook ls` lists what the vault holds), or create the folder first")
	case err != nil:
		return fmt.Errorf("watch %s: %w", path, err)
	case !fi.IsDir():
		return hint.New(fmt.Errorf("watch %s: not a folder", path), "watch the folder that holds it, or `nook add` the file")
	}
	return nil
}

func printReport(c *cli, r vault.AddReport) {
	fmt.Fprintf(c.stdout, "added %d, updated %d, unchanged %d, removed %d, skipped %d (%d chunks, %s)\n",
		r.Added, r.Updated, r.Unchanged, r.Removed, r.Skipped, r.Chunks, byteSize(r.Bytes))
	if r.Tagged > 0 {
		fmt.Fprintf(c.stdout, "tagged %s already in the vault (kept as they were, not embedded again)\n", plural(r.Tagged, "document", "documents"))
	}
	if c.verbose {
		fmt.Fprintf(c.stderr, "nook: embedding %s, encryption %s (summed over files)\n", r.EmbedTime.Round(time.Millisecond), r.EncryptTime.Round(time.Millisecond))
	}
	if len(r.SkippedBy) > 0 {
		reasons := make([]string, 0, len(r.SkippedBy))
		for why, n := range r.SkippedBy {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, why))
		}
		slices.Sort(reasons)
		fmt.Fprintf(c.stderr, "nook: skipped: %s\n", strings.Join(reasons, ", "))
	}
	for _, e := range r.Errors {
		fmt.Fprintf(c.stderr, "nook: warning: %s\n", termsafe.Line(e.Error()))
		if h := hint.Of(e); h != "" {
			fmt.Fprintf(c.stderr, "nook: hint: %s\n", termsafe.Line(h))
		}
	}
}

func init() {
	register(func(c *cli) *cobra.Command {
		var f ingestFlags
		cmd := &cobra.Command{
			Use:   "add PATH...",
			Short: "ingest files and folders into the vault (Markdown, text, org, HTML, PDF, code)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, true)
				if err != nil {
					return err
				}
				defer release()
				o := f.options()
				o.Progress = progressBar(c)
				rep, err := v.Add(cmd.Context(), args, o)
				if errors.Is(err, fs.ErrNotExist) {
					return hint.New(err, "check the path; to drop the documents of a folder you deleted, add the folder's path again")
				}
				if err != nil {
					return err
				}
				printReport(c, rep)
				return nil
			},
		}
		f.bind(cmd)
		return cmd
	})
	register(func(c *cli) *cobra.Command {
		var f ingestFlags
		cmd := &cobra.Command{
			Use:   "watch PATH",
			Short: "keep a folder in sync with the vault until interrupted",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := watchable(args[0]); err != nil {
					return err
				}
				v, release, err := unlock(cmd.Context(), c, true)
				if err != nil {
					return err
				}
				defer release()
				fmt.Fprintf(c.stderr, "nook: watching %s (Ctrl+C to stop)\n", args[0])
				err = v.Watch(cmd.Context(), args[0], f.options(), 0, func(r vault.AddReport, err error) {
					if err != nil {
						fmt.Fprintf(c.stderr, "nook: warning: %s\n", termsafe.Line(err.Error()))
						return
					}
					if r.Added+r.Updated+r.Removed+r.Tagged > 0 {
						printReport(c, r)
					}
				})
				if errors.Is(err, fs.ErrNotExist) {
					return hint.New(err, "its documents were dropped from the vault; create the folder again and rerun `nook watch`")
				}
				return err
			},
		}
		f.bind(cmd)
		return cmd
	})
	register(func(c *cli) *cobra.Command {
		var (
			asJSON bool
			k      int
			budget int
			folder string
			tag    string
		)
		cmd := &cobra.Command{
			Use:   "search [--json] [-k N] [--budget TOKENS] QUERY",
			Short: "search the vault (BM25 + vectors, fused)",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, true)
				if err != nil {
					return err
				}
				defer release()
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
					return json.NewEncoder(c.stdout).Encode(hits)
				}
				for i, h := range hits {
					fmt.Fprintf(c.stdout, "[%d] %s  (%.4f)\n", i+1, vault.Location(termsafe.Line(h.Source), h.Page, h.StartLine, h.EndLine), h.Score)
					fmt.Fprintf(c.stdout, "    %s\n", termsafe.Line(snippet(h.Text, 160)))
				}
				return nil
			},
		}
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		cmd.Flags().IntVarP(&k, "k", "k", 5, "number of results (with --budget: at most this many)")
		cmd.Flags().IntVar(&budget, "budget", 0, "return passages holding at most this many tokens in all, widened with their context")
		cmd.Flags().StringVar(&folder, "folder", "", "only sources under this folder")
		cmd.Flags().StringVar(&tag, "tag", "", "only documents with this tag")
		return cmd
	})
}

func init() {
	register(func(c *cli) *cobra.Command {
		var all bool
		cmd := &cobra.Command{
			Use:   "reindex",
			Short: "rebuild the index: units for old documents, vectors from the embedding model (after `nook pull` or a model change)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				v, release, err := unlock(cmd.Context(), c, true)
				if err != nil {
					return err
				}
				defer release()
				rep, err := v.Reindex(cmd.Context(), vault.ReindexOptions{All: all, Progress: progressBar(c)})
				for _, e := range rep.Errors {
					fmt.Fprintf(c.stderr, "nook: warning: %s\n", termsafe.Line(e.Error()))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "reindexed %d documents (%d units), %d already current\n", rep.Reindexed, rep.Units, rep.Current)
				return nil
			},
		}
		cmd.Flags().BoolVar(&all, "all", false, "rebuild every document, not only those that need it")
		return cmd
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
