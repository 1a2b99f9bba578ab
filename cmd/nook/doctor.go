package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
)

// nook doctor: what nook sees on this machine, and what to fix.

func init() {
	register(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "doctor",
			Short: "check the set-up: folders, compute backends, models, vault",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return doctor(a)
			},
		}
	})
}

func doctor(a *app) error {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	problems := 0
	line := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	bad := func(k, v, fix string) {
		problems++
		line(k, v+" — "+fix)
	}

	line("nook", buildVersion())
	line("home", a.cfg.Home)
	if _, err := os.Stat(a.cfg.Path); errors.Is(err, fs.ErrNotExist) {
		line("config", a.cfg.Path+" (none: defaults)")
	} else {
		line("config", a.cfg.Path)
	}

	backends := llama.Backends()
	line("backends", strings.Join(backends, ", "))
	use := "CPU"
	if len(backends) > 1 && (a.cfg.GPULayers == nil || *a.cfg.GPULayers != 0) {
		use = backends[1]
	}
	_, threads := llama.ChooseThreads(a.cfg.Threads)
	line("compute", fmt.Sprintf("models run on %s; CPU threads now: %s", use, threads))
	if exe, err := os.Executable(); err == nil {
		lib := filepath.Join(filepath.Dir(exe), "lib", "ollama")
		if _, err := os.Stat(lib); err == nil {
			line("gpu libraries", lib)
		} else if len(backends) == 1 {
			line("gpu libraries", "none beside the binary (NVIDIA: `make cuda`; macOS uses Metal built in)")
		}
	}

	store, err := models.Open(a.cfg)
	if err != nil {
		bad("models", err.Error(), hint.Of(err))
	} else {
		list, err := store.List()
		switch {
		case err != nil:
			bad("models", err.Error(), "check "+store.Dir())
		default:
			line("models", fmt.Sprintf("%d installed (%s)", len(list), store.Dir()))
		}
		for _, role := range []struct{ label, name, env string }{{"chat model", a.cfg.Model, "NOOK_MODEL"}, {"embed model", a.cfg.EmbedModel, "NOOK_EMBED_MODEL"}} {
			if role.name == "" {
				line(role.label, "not set ("+role.env+"); the catalog default is used")
				continue
			}
			p, err := store.Resolve(role.name)
			if err != nil {
				bad(role.label, role.name+": "+err.Error(), hint.Of(err))
				continue
			}
			f, err := gguf.Inspect(p, gguf.Options{})
			if err != nil {
				bad(role.label, err.Error(), "download the model again or pick another")
				continue
			}
			line(role.label, fmt.Sprintf("%s (%s, %s params, %s, context %d)", role.name, f.Architecture(), humanCount(f.Parameters()), f.Quantization(), f.ContextLength()))
		}
	}

	if _, err := os.Stat(filepath.Join(a.cfg.VaultDir(), "VAULT")); err == nil {
		line("vault", a.cfg.VaultDir())
	} else {
		line("vault", "not created yet — `nook init` makes one")
	}
	if a.cfg.Ledger.RPC != "" {
		line("ledger", "RPC "+a.cfg.Ledger.RPC)
	} else {
		line("ledger", "embedded dev chain in "+a.cfg.ChainDir())
	}
	if a.cfg.Remote.Kind != "" {
		line("remote engine", a.cfg.Remote.Kind+" at "+a.cfg.Remote.URL)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("doctor: %d problem(s) above", problems)
	}
	return nil
}

func buildVersion() string {
	v := "dev"
	ollama := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/ollama/ollama" {
				ollama = d.Version
			}
		}
	}
	return fmt.Sprintf("%s (%s, llama.cpp from ollama %s, %s/%s)", v, runtime.Version(), ollama, runtime.GOOS, runtime.GOARCH)
}
