package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/adrg/xdg"

	"github.com/nook-ai/nook/internal/atomicfile"
)

// Config is nook's settings. Zero values mean "use the default".
type Config struct {
	// Home is the root folder: vault/, models/, plugins/, logs/.
	Home string `toml:"-"`
	// Path is the config file that was read (it may not exist yet).
	Path string `toml:"-"`

	// Model is the chat model: a local model name or a GGUF path.
	Model string `toml:"model,omitempty"`
	// EmbedModel is the embedding model, same forms as Model.
	EmbedModel string `toml:"embed_model,omitempty"`
	// Threads for CPU inference; 0 = physical cores.
	Threads int `toml:"threads,omitempty"`
	// ContextLength in tokens; 0 = min(model's trained length, 8192).
	ContextLength int `toml:"context_length,omitempty"`
	// GPULayers offloaded; -1 = all that fit (the default), 0 = CPU only.
	GPULayers *int `toml:"gpu_layers,omitempty"`
	// Mmap maps the model file instead of reading it into memory; unset =
	// read when the model runs on the CPU and fits in memory, else map.
	Mmap *bool `toml:"mmap,omitempty"`
	// OllamaModels is an existing Ollama store (OLLAMA_MODELS) whose models
	// nook lists and uses in place; empty = ~/.ollama/models when present.
	OllamaModels string `toml:"ollama_models,omitempty"`
	// KeepAlive is how long a model stays loaded after its last use, as
	// Ollama's keep_alive: "5m", "1h", "0" (unload at once, the default),
	// "-1" (until nook exits).
	KeepAlive string `toml:"keep_alive,omitempty"`

	Remote   Remote   `toml:"remote,omitempty"`
	Registry Registry `toml:"registry,omitempty"`
	Ledger   Ledger   `toml:"ledger,omitempty"`
	Sync     Sync     `toml:"sync,omitempty"`
	Serve    Serve    `toml:"serve,omitempty"`
}

// Serve configures `nook serve` (docs/serve.md). Zero values take the
// server's defaults.
type Serve struct {
	// Addr is where it listens (default 127.0.0.1:11435); off loopback
	// every request needs an app key.
	Addr string `toml:"addr,omitempty"`
	// Open lists what keyless clients on this machine may do: "chat",
	// "embed". The vault is never open.
	Open []string `toml:"open,omitempty"`
	// Parallel is how many chats one model decodes at once (default 4).
	Parallel  int   `toml:"parallel,omitempty"`
	MaxBody   int64 `toml:"max_body,omitempty"`   // bytes of a request body
	MaxTokens int   `toml:"max_tokens,omitempty"` // tokens of an answer
	MaxOutput int   `toml:"max_output,omitempty"` // bytes of an answer's text
	MaxQueue  int   `toml:"max_queue,omitempty"`  // requests on or waiting for a model
}

// Remote selects a model server instead of the in-process engine for chat.
// What it receives: each question with the notes retrieved for it and the
// remembered facts. Documents go to it only with Embed.
type Remote struct {
	// Kind is "ollama" or "openai"; empty = in-process llama.cpp.
	Kind   string `toml:"kind,omitempty"`
	URL    string `toml:"url,omitempty"`
	APIKey string `toml:"api_key,omitempty"`
	Model  string `toml:"model,omitempty"`
	// Embed sends documents (every chunk, at `nook add`) and search
	// queries to the server for embeddings, with EmbedModel (default
	// Model). Off: embeddings stay local (embed_model), or search is
	// lexical.
	Embed      bool   `toml:"embed,omitempty"`
	EmbedModel string `toml:"embed_model,omitempty"`
	// AllowHTTP allows a plain http:// URL to a host other than this
	// machine's loopback (refused otherwise).
	AllowHTTP bool `toml:"allow_http,omitempty"`
	// ContextLength is the context the server's model runs with (sent to
	// Ollama as num_ctx); 0 = what the server reports.
	ContextLength int `toml:"context_length,omitempty"`
	// Strict: fail at start when the server cannot be asked about the
	// model, instead of trying again at the first request.
	Strict bool `toml:"strict,omitempty"`
}

// Registry holds model registry base URLs (mirrors, air-gapped setups).
type Registry struct {
	// Ollama is the Ollama-protocol registry (NOOK_REGISTRY); empty = https://registry.ollama.ai.
	Ollama string `toml:"ollama,omitempty"`
	// HuggingFace is the Hub base URL (NOOK_HF_REGISTRY); empty = https://huggingface.co.
	HuggingFace string `toml:"huggingface,omitempty"`
}

// Ledger configures the identity chain.
type Ledger struct {
	// RPC is an EVM JSON-RPC URL; empty = the embedded dev chain.
	RPC      string `toml:"rpc,omitempty"`
	Registry string `toml:"registry,omitempty"`
	// Witness anchors this device's vault log head on the ledger whenever
	// nook opens it, and checks the vault against the anchored head, so a
	// vault folder restored from an older copy is noticed (one transaction
	// each time the head has moved).
	Witness bool `toml:"witness,omitempty"`
}

// Sync configures peer-to-peer vault replication.
type Sync struct {
	Listen []string `toml:"listen,omitempty"`
	Peers  []string `toml:"peers,omitempty"`
	// MDNS finds this identity's devices on the local network while sync
	// runs (nil: on once the vault is paired).
	MDNS *bool `toml:"mdns,omitempty"`
	// Secrets sends and accepts the "secret" namespace; it travels only
	// between two devices that both set it.
	Secrets bool `toml:"secrets,omitempty"`
	// MaxStale is how old the ledger's device list may be when the chain
	// cannot be reached (a Go duration, e.g. "1h"; empty: 1h).
	MaxStale string `toml:"max_stale,omitempty"`
}

// Env is the environment Load reads; tests pass their own.
type Env func(string) string

// Load reads the config file and the environment.
// NOOK_HOME sets the root folder (default: $XDG_DATA_HOME/nook) and, when set,
// the config file lives in it; otherwise in $XDG_CONFIG_HOME/nook.
func Load(getenv Env) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{}
	if h := getenv("NOOK_HOME"); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, fmt.Errorf("config: NOOK_HOME %q: %w", h, err)
		}
		c.Home = abs
		c.Path = filepath.Join(abs, "config.toml")
	} else {
		c.Home = filepath.Join(xdg.DataHome, "nook")
		c.Path = filepath.Join(xdg.ConfigHome, "nook", "config.toml")
	}
	if p := getenv("NOOK_CONFIG"); p != "" {
		c.Path = p
	}
	if _, err := toml.DecodeFile(c.Path, c); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: read %s: %w", c.Path, err)
	}
	if v := getenv("NOOK_MODEL"); v != "" {
		c.Model = v
	}
	if v := getenv("NOOK_EMBED_MODEL"); v != "" {
		c.EmbedModel = v
	}
	if v := getenv("NOOK_REGISTRY"); v != "" {
		c.Registry.Ollama = v
	}
	if v := getenv("NOOK_HF_REGISTRY"); v != "" {
		c.Registry.HuggingFace = v
	}
	if v := getenv("OLLAMA_MODELS"); v != "" {
		c.OllamaModels = v
	}
	if v := getenv("NOOK_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("config: NOOK_THREADS=%q is not a thread count", v)
		}
		c.Threads = n
	}
	if v := getenv("NOOK_LEDGER_RPC"); v != "" {
		c.Ledger.RPC = v
	}
	if v := getenv("NOOK_KEEP_ALIVE"); v != "" {
		c.KeepAlive = v
	}
	if _, err := c.KeepAliveDuration(); err != nil {
		return nil, err
	}
	return c, nil
}

// KeepAliveDuration is keep_alive as a duration: 0 unloads a model as soon
// as nothing uses it, a negative one keeps it until nook exits. A bare
// number is seconds, as Ollama reads it.
func (c *Config) KeepAliveDuration() (time.Duration, error) {
	v := strings.TrimSpace(c.KeepAlive)
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return -1, nil
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config: keep_alive %q is not a duration (5m, 1h, 0, -1): %w", v, err)
	}
	if d < 0 {
		return -1, nil
	}
	return d, nil
}

// Save writes the config file atomically.
func (c *Config) Save() error {
	err := atomicfile.Write(c.Path, 0o700, func(w io.Writer) error { return toml.NewEncoder(w).Encode(c) })
	if err != nil {
		return fmt.Errorf("config: save %s: %w", c.Path, err)
	}
	return nil
}

// SetTop sets a top-level string key (model, embed_model...) in the config
// file and in c, and leaves the rest of the file as it is: comments,
// tables, other keys. The file is created when it does not exist.
// Environment overrides in c are not written.
func (c *Config) SetTop(key, value string) error {
	old, err := os.ReadFile(c.Path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config: read %s: %w", c.Path, err)
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(map[string]string{key: value}); err != nil {
		return fmt.Errorf("config: set %s: %w", key, err)
	}
	line := strings.TrimRight(b.String(), "\n")
	lines := strings.Split(string(old), "\n")
	if len(old) == 0 {
		lines = nil
	}
	at, replace := len(lines), false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			at = i // before the first table
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			at, replace = i, true
			break
		}
	}
	switch {
	case replace:
		lines[at] = line
	case at < len(lines):
		lines = append(lines[:at], append([]string{line, ""}, lines[at:]...)...)
	default:
		if n := len(lines); n > 0 && lines[n-1] == "" {
			lines = lines[:n-1]
		}
		lines = append(lines, line, "")
	}
	out := strings.Join(lines, "\n")
	// The edit must read back as what was asked, and the file stay valid.
	var check map[string]any
	if _, err := toml.Decode(out, &check); err != nil {
		return fmt.Errorf("config: set %s in %s: the file would not parse: %w", key, c.Path, err)
	}
	if got, _ := check[key].(string); got != value {
		return fmt.Errorf("config: set %s in %s: the key is written in a form nook cannot edit (a multi-line string?); edit it by hand", key, c.Path)
	}
	if err := atomicfile.WriteFile(c.Path, []byte(out), 0o700); err != nil {
		return fmt.Errorf("config: save %s: %w", c.Path, err)
	}
	switch key {
	case "model":
		c.Model = value
	case "embed_model":
		c.EmbedModel = value
	}
	return nil
}

// ModelsDir is where nook stores model blobs and manifests.
func (c *Config) ModelsDir() string { return filepath.Join(c.Home, "models") }

// VaultDir is the encrypted vault.
func (c *Config) VaultDir() string { return filepath.Join(c.Home, "vault") }

// PluginsDir holds one folder per installed plugin.
func (c *Config) PluginsDir() string { return filepath.Join(c.Home, "plugins") }

// LogsDir holds plugin stderr logs and similar diagnostics.
func (c *Config) LogsDir() string { return filepath.Join(c.Home, "logs") }

// RunDir holds the sockets of running nook processes (nook serve's
// control socket).
func (c *Config) RunDir() string { return filepath.Join(c.Home, "run") }

// ChainDir holds the embedded dev chain's data.
func (c *Config) ChainDir() string { return filepath.Join(c.Home, "chain") }
