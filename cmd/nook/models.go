package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/models"
)

// Model commands: nook pull, nook models [ls|show|rm], nook import.

func init() {
	register(func(c *cli) *cobra.Command {
		return &cobra.Command{
			Use:   "pull NAME",
			Short: "download a model (llama3.2, llama3.2:1b, hf.co/ORG/REPO:QUANT)",
			Long: "Download a model from the Ollama registry (NOOK_REGISTRY for a mirror) or, for\n" +
				"hf.co/ORG/REPO[:QUANT], a GGUF file from Hugging Face (NOOK_HF_REGISTRY).\n" +
				"Interrupted pulls resume; every blob is sha256-verified before it is kept.",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				obs, end := pullProgress(c)
				m, err := c.app.Pull(cmd.Context(), args[0], obs)
				end()
				if err != nil {
					return err
				}
				where := ""
				if m.Store != "nook" {
					where = " (in the Ollama store " + m.Root + ", used in place)"
				}
				fmt.Fprintf(c.stdout, "%s %s%s\n", m.Name.Short(), models.HumanBytes(m.Size), where)
				return nil
			},
		}
	})

	register(importCommand) // `nook import`, also `nook models import`

	register(func(c *cli) *cobra.Command {
		var asJSON bool
		ls := func(cmd *cobra.Command, args []string) error {
			s, err := c.app.Store()
			if err != nil {
				return err
			}
			ms, err := s.List()
			if err != nil {
				return err
			}
			if asJSON {
				type row struct {
					Name  string `json:"name"`
					Size  int64  `json:"size"`
					Store string `json:"store"`
					Path  string `json:"path"`
				}
				rows := []row{}
				for _, m := range ms {
					rows = append(rows, row{m.Name.Short(), m.Size, m.Store, m.Path})
				}
				return json.NewEncoder(c.stdout).Encode(rows)
			}
			if len(ms) == 0 {
				fmt.Fprintln(c.stderr, "no models installed; try `nook pull "+models.Default(models.RoleChat, models.TotalMemory()).Name+"`")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSIZE\tQUANT\tPARAMS\tCONTEXT\tFAMILY\tSTORE")
			for _, m := range ms {
				quant, params, ctx, family := "?", "?", "?", "?"
				if info, err := models.Inspect(m.Path); err == nil {
					quant, params, family = info.Quant, info.ParamsString(), info.Family
					if info.ContextLength > 0 {
						ctx = fmt.Sprint(info.ContextLength)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name.Short(), models.HumanBytes(m.Size), quant, params, ctx, family, m.Store)
			}
			return tw.Flush()
		}
		mc := &cobra.Command{
			Use:     "models",
			Aliases: []string{"model"},
			Short:   "list, show and remove installed models",
			Args:    cobra.NoArgs,
			RunE:    ls,
		}
		mc.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		mc.AddCommand(importCommand(c))
		lsc := &cobra.Command{
			Use:     "ls",
			Aliases: []string{"list"},
			Short:   "list installed models (nook's store and the Ollama store)",
			Args:    cobra.NoArgs,
			RunE:    ls,
		}
		lsc.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		mc.AddCommand(lsc)
		mc.AddCommand(&cobra.Command{
			Use:   "show NAME",
			Short: "show a model's GGUF metadata, template and license",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := c.app.Store()
				if err != nil {
					return err
				}
				d, err := s.Show(args[0])
				if err != nil {
					return err
				}
				printDetails(c.stdout, d)
				return nil
			},
		})
		mc.AddCommand(&cobra.Command{
			Use:     "rm NAME...",
			Aliases: []string{"remove"},
			Short:   "remove models from nook's store",
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				s, err := c.app.Store()
				if err != nil {
					return err
				}
				for _, n := range args {
					if err := s.Remove(n); err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "removed %s\n", n)
				}
				return nil
			},
		})
		mc.AddCommand(&cobra.Command{
			Use:   "catalog",
			Short: "list the recommended models by role and machine memory",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				mem := models.TotalMemory()
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ROLE\tNAME\tSIZE\tPARAMS\tMIN RAM\tDEFAULT\tABOUT")
				for _, e := range models.Catalog() {
					def := ""
					if models.Default(e.Role, mem).Name == e.Name {
						def = "*"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d GiB\t%s\t%s\n", e.Role, e.Name, models.HumanBytes(e.Size), e.Params, e.MinMemory>>30, def, e.About)
				}
				return tw.Flush()
			},
		})
		return mc
	})
}

func printDetails(w io.Writer, d *models.Details) {
	i := d.Info
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "name\t%s\n", d.Name.Short())
	fmt.Fprintf(tw, "store\t%s (%s)\n", d.Store, d.Root)
	fmt.Fprintf(tw, "file\t%s\n", d.Path)
	fmt.Fprintf(tw, "size\t%s\n", models.HumanBytes(d.Size))
	fmt.Fprintf(tw, "family\t%s\n", i.Family)
	fmt.Fprintf(tw, "parameters\t%s\n", i.ParamsString())
	fmt.Fprintf(tw, "quantization\t%s\n", i.Quant)
	fmt.Fprintf(tw, "context length\t%d\n", i.ContextLength)
	fmt.Fprintf(tw, "embedding length\t%d\n", i.EmbeddingLen)
	fmt.Fprintf(tw, "blocks\t%d\n", i.Blocks)
	fmt.Fprintf(tw, "tensors\t%d\n", i.Tensors)
	tw.Flush()
	section := func(title, body string) {
		if body = strings.TrimSpace(body); body != "" {
			fmt.Fprintf(w, "\n%s\n", title)
			for _, l := range strings.Split(body, "\n") {
				fmt.Fprintf(w, "  %s\n", termsafe.Line(l)) // a GGUF's own words
			}
		}
	}
	section("template", d.Template)
	section("system", d.System)
	section("parameters", d.Params)
	section("license", d.License)
	keys := make([]string, 0, len(i.KV))
	for k := range i.KV {
		if !strings.HasPrefix(k, "tokenizer.chat_template") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "\nmetadata\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		v := fmt.Sprint(i.KV[k])
		if len(v) > 100 {
			v = v[:100] + "…"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", termsafe.Line(k), termsafe.Line(strings.ReplaceAll(v, "\n", `\n`)))
	}
	tw.Flush()
}

// importCommand is `import FILE.gguf [NAME]`, under the root and under
// models. The name can also come as --name (as `ollama create NAME` users
// type it after the file, both are accepted).
func importCommand(c *cli) *cobra.Command {
	var name string
	ic := &cobra.Command{
		Use:   "import FILE.gguf [NAME]",
		Short: "copy a GGUF file into the model store under a name",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				if name != "" && name != args[1] {
					return hint.New(fmt.Errorf("import: two names, %q and --name %q", args[1], name), "give the name once: `nook models import FILE.gguf NAME`")
				}
				name = args[1]
			}
			s, err := c.app.Store()
			if err != nil {
				return err
			}
			m, err := s.Import(args[0], name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s %s\n", m.Name.Short(), models.HumanBytes(m.Size))
			return nil
		},
	}
	ic.Flags().StringVar(&name, "name", "", "model name, as the NAME argument (default: the file name without .gguf)")
	return ic
}

// modelNames are the installed models, then the catalog's, for shell
// completion.
func (c *cli) modelNames() []string {
	var out []string
	seen := map[string]bool{}
	if c.open() == nil { // completion runs without the root's set-up
		if s, err := c.app.Store(); err == nil {
			ms, _ := s.List()
			for _, m := range ms {
				n := m.Name.Short()
				seen[n] = true
				out = append(out, n+"\tinstalled, "+models.HumanBytes(m.Size))
			}
		}
	}
	for _, e := range models.Catalog() {
		if !seen[e.Name] {
			out = append(out, e.Name+"\tdownload "+models.HumanBytes(e.Size))
		}
	}
	return out
}
