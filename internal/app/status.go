package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

// Vault states in Status.
const (
	VaultNone     = "none"
	VaultLocked   = "locked"
	VaultUnlocked = "unlocked"
)

// Status is the app's state for a status bar: what is loaded and open,
// and why a part is off. Status never waits for a load or an open.
type Status struct {
	// Model is the chat model's name ("" none selected); Loading while it
	// loads; ModelErr why the last selection or load failed.
	Model    string
	Backend  string
	Loading  bool
	ModelErr error
	// Pull is the pull in progress, if any.
	Pull *PullEvent
	// Vault is VaultNone, VaultLocked or VaultUnlocked; Search is "hybrid"
	// or "lexical" once unlocked.
	Vault  string
	Search string
	// Ledger is "embedded", the RPC host, "off" (no vault or no identity)
	// or "error" (LedgerErr says why).
	Ledger    string
	LedgerErr error
	// Plugins is "none", "N installed", "on" (the host is open) or
	// "error" (PluginsErr says why).
	Plugins    string
	PluginsErr error
	// Sync is "off" (never paired, or the service is not running), or
	// for the running service "N peers", "syncing", "synced 15:04" or
	// "error" (SyncErr says why).
	Sync    string
	SyncErr error
	// Engines are the pool's engines.
	Engines []LoadedEngine
}

// Status reports the app's state. It reads no more than a few small files.
func (a *App) Status() Status {
	s := Status{Sync: "off", Engines: a.pool.Loaded()}
	s.Sync, s.SyncErr = a.syncState()
	a.mu.Lock()
	chat := a.chat
	s.ModelErr, s.Pull = a.chatErr, a.pulling
	a.mu.Unlock()
	if chat != nil {
		s.Model = chat.spec.Name
		select {
		case <-chat.ready:
			if chat.err == nil {
				s.Backend = chat.eng.Info().Backend
			} else {
				s.ModelErr = chat.err
			}
		default:
			s.Loading = true
		}
	}

	v, vrel, verr := a.Vault()
	switch {
	case verr == nil:
		defer vrel()
		s.Vault, s.Search = VaultUnlocked, "hybrid"
		if a.SearchMode() != nil {
			s.Search = "lexical"
		}
	case errors.Is(verr, vault.ErrNotInitialized):
		s.Vault = VaultNone
	default:
		s.Vault = VaultLocked
	}

	ms, _ := a.PluginStore().List()
	hostOpen, hostErr := a.plugins.state()
	ledgerOpen, ledgerErr := a.ledger.state()
	switch {
	case hostOpen:
		s.Plugins = "on"
	case hostErr != nil:
		s.Plugins, s.PluginsErr = "error", hostErr
	case len(ms) == 0:
		s.Plugins = "none"
	default:
		s.Plugins = fmt.Sprintf("%d installed", len(ms))
	}
	s.Ledger = ledgerName(a.cfg.Ledger.RPC == "", a.cfg.Ledger.RPC)
	switch {
	case ledgerOpen:
	case ledgerErr != nil:
		s.Ledger, s.LedgerErr = "error", ledgerErr
	case hostErr != nil && !errors.Is(hostErr, ledgerclient.ErrNoIdentity):
		s.Ledger, s.LedgerErr = "error", hostErr
	case s.Vault == VaultNone:
		s.Ledger = "off"
	case verr == nil:
		if _, err := ledgerclient.LoadIdentity(vaultKeys{v}); err != nil {
			s.Ledger = "off" // no identity yet: `nook id create`
		}
	}
	return s
}

// Check is one line of `nook doctor`: a part of the set-up and its state.
type Check struct {
	Name, Value string
	// Problem: this needs fixing; Fix says how.
	Problem bool
	Fix     string
}

// Checks looks at the set-up without loading a model or unlocking
// anything: folders, compute backends, models, vault, ledger.
func (a *App) Checks() []Check {
	var out []Check
	line := func(k, v string) { out = append(out, Check{Name: k, Value: v}) }
	bad := func(k, v, fix string) { out = append(out, Check{Name: k, Value: v, Problem: true, Fix: fix}) }
	cfg := a.cfg

	line("nook", buildVersion())
	line("home", cfg.Home)
	if _, err := os.Stat(cfg.Path); errors.Is(err, fs.ErrNotExist) {
		line("config", cfg.Path+" (none: defaults)")
	} else {
		line("config", cfg.Path)
	}
	backends := llama.Backends()
	line("backends", strings.Join(backends, ", "))
	use := "CPU"
	if len(backends) > 1 && (cfg.GPULayers == nil || *cfg.GPULayers != 0) {
		use = backends[1]
	}
	_, threads := llama.ChooseThreads(cfg.Threads)
	kernel := ""
	if llama.Q8Kernel() {
		kernel = "; Q8_0 batches: nook's AVX-512 kernel (NOOK_Q8_KERNEL=off for llama.cpp's)"
	}
	line("compute", fmt.Sprintf("models run on %s; CPU threads now: %s%s", use, threads, kernel))
	if exe, err := os.Executable(); err == nil {
		lib := filepath.Join(filepath.Dir(exe), "lib", "ollama")
		if _, err := os.Stat(lib); err == nil {
			line("gpu libraries", lib)
		} else if len(backends) == 1 {
			line("gpu libraries", "none beside the binary (NVIDIA: `make cuda`; macOS uses Metal built in)")
		}
	}

	st, err := a.Store()
	if err != nil {
		bad("models", err.Error(), hint.Of(err))
	} else if list, err := st.List(); err != nil {
		bad("models", err.Error(), "check "+st.Dir())
	} else {
		line("models", fmt.Sprintf("%d installed (%s)", len(list), st.Dir()))
	}
	if r := cfg.Remote; r.Kind != "" {
		line("remote engine", r.Kind+" at "+r.URL)
	}
	for _, role := range []struct{ label, name, env, role string }{
		{"chat model", cfg.Model, "NOOK_MODEL", models.RoleChat},
		{"embed model", cfg.EmbedModel, "NOOK_EMBED_MODEL", models.RoleEmbedding},
	} {
		s, err := a.Resolve(role.name, role.role)
		switch {
		case errors.Is(err, errNoEmbedder):
			line(role.label, "not set ("+role.env+") and none installed: search is lexical only; "+hint.Of(err))
			continue
		case err != nil && role.name == "" && errors.Is(err, ErrNoModel):
			bad(role.label, "not set ("+role.env+") and none installed: `nook` asks which to download, and downloads nothing until you pick", hint.Of(err))
			continue
		case err != nil && role.name != "" && !models.IsPath(role.name) && errors.Is(err, models.ErrNotFound):
			// Named but not here: the next start pulls it (the user named it).
			line(role.label, role.name+": not installed: the next `nook` or `nook run` downloads it"+catalogSize(role.name)+"; `nook pull "+role.name+"` does it now")
			continue
		case err != nil:
			bad(role.label, orName(role.name, s.Name)+": "+err.Error(), hint.Of(err))
			continue
		case s.Remote != nil:
			line(role.label, s.Name+" on the "+s.Remote.Kind+" server")
			continue
		}
		f, err := gguf.Inspect(s.Path, gguf.Options{})
		if err != nil {
			bad(role.label, err.Error(), "download the model again or pick another")
			continue
		}
		how := role.name
		switch {
		case role.name == "" && role.role == models.RoleEmbedding && cfg.Model != "" && s.Path != "" && a.sameAsChat(s):
			how = s.Name + " (the chat model; " + role.env + " not set)"
		case role.name == "":
			how = s.Name + " (installed; " + role.env + " not set)"
		}
		line(role.label, fmt.Sprintf("%s (%s, %s params, %s, context %d)", how, f.Architecture(), HumanCount(f.Parameters()), f.Quantization(), f.ContextLength()))
	}

	switch {
	case a.RequireVault() != nil:
		line("vault", "not created yet — `nook init` makes one")
	default:
		line("vault", cfg.VaultDir())
	}
	if cfg.Ledger.RPC != "" {
		line("ledger", "RPC "+cfg.Ledger.RPC)
	} else {
		line("ledger", "embedded dev chain in "+cfg.ChainDir())
	}
	switch {
	case len(cfg.Sync.Listen) > 0 || len(cfg.Sync.Peers) > 0:
		line("sync", fmt.Sprintf("configured: %d listen and %d peer addresses (`nook sync status` shows the state)", len(cfg.Sync.Listen), len(cfg.Sync.Peers)))
	default:
		line("sync", "on once this vault is paired (`nook sync pair`); never paired, it opens no socket")
	}
	return out
}

func (a *App) sameAsChat(s Spec) bool {
	c, err := a.Resolve("", models.RoleChat)
	return err == nil && c.Key() == s.Key()
}

// catalogSize is " (2.0 GB)" for a catalog model, "" for another.
func catalogSize(name string) string {
	for _, e := range models.Catalog() {
		if e.Name == name {
			return " (" + models.HumanBytes(e.Size) + ")"
		}
	}
	return ""
}

func orName(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// HumanCount prints a parameter count: 292.8K, 1.2B.
func HumanCount(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// buildVersion is nook's version, Go's and the llama.cpp it was built with.
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
