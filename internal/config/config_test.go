package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func envOf(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestNookHomeHoldsTheConfigFile(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte("model = \"from-file\"\nthreads = 3\n[ledger]\nrpc = \"http://127.0.0.1:8545\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(envOf(map[string]string{"NOOK_HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != home || c.Model != "from-file" || c.Threads != 3 || c.Ledger.RPC != "http://127.0.0.1:8545" {
		t.Fatalf("got %+v", c)
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config.toml"), []byte("model = \"from-file\"\n"), 0o600)
	c, err := Load(envOf(map[string]string{"NOOK_HOME": home, "NOOK_MODEL": "env", "NOOK_REGISTRY": "http://mirror",
		"NOOK_HF_REGISTRY": "http://hf-mirror", "OLLAMA_MODELS": "/srv/ollama"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "env" || c.Registry.Ollama != "http://mirror" || c.Registry.HuggingFace != "http://hf-mirror" || c.OllamaModels != "/srv/ollama" {
		t.Fatalf("got %+v", c)
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if _, err := Load(envOf(map[string]string{"NOOK_HOME": home, "NOOK_THREADS": "many"})); err == nil {
		t.Fatal("want an error for NOOK_THREADS=many")
	}
	os.WriteFile(filepath.Join(home, "config.toml"), []byte("model = \n"), 0o600)
	if _, err := Load(envOf(map[string]string{"NOOK_HOME": home})); err == nil {
		t.Fatal("want an error for a broken config file")
	}
}

func TestSaveRoundTrips(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	c, err := Load(envOf(map[string]string{"NOOK_HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	c.Model = "qwen"
	c.Sync.Peers = []string{"/ip4/127.0.0.1/tcp/4001"}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	d, err := Load(envOf(map[string]string{"NOOK_HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Model != "qwen" || len(d.Sync.Peers) != 1 {
		t.Fatalf("got %+v", d)
	}
}

func TestSetTopKeepsTheRestOfTheFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, before, after string
	}{
		{"no file yet", "", "model = \"llama3.2\"\n"},
		{"a key is replaced in place, comments kept",
			"# my settings\nmodel = \"old\" # picked last week\nthreads = 4\n",
			"# my settings\nmodel = \"llama3.2\"\nthreads = 4\n"},
		{"a new key goes before the first table",
			"threads = 4\n\n[remote]\nmodel = \"not this one\"\n",
			"threads = 4\n\nmodel = \"llama3.2\"\n\n[remote]\nmodel = \"not this one\"\n"},
		{"a key of a table is not the top-level key",
			"[remote]\nmodel = \"x\"\n",
			"model = \"llama3.2\"\n\n[remote]\nmodel = \"x\"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			p := filepath.Join(home, "config.toml")
			if c.before != "" {
				os.WriteFile(p, []byte(c.before), 0o600)
			}
			cfg, err := Load(envOf(map[string]string{"NOOK_HOME": home}))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.SetTop("model", "llama3.2"); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if string(b) != c.after {
				t.Errorf("file after SetTop:\n%s\nwant:\n%s", b, c.after)
			}
			again, err := Load(envOf(map[string]string{"NOOK_HOME": home}))
			if err != nil || again.Model != "llama3.2" || cfg.Model != "llama3.2" {
				t.Errorf("read back %+v, %v", again, err)
			}
		})
	}
}

func TestSetTopWritesNoEnvironmentOverride(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	cfg, err := Load(envOf(map[string]string{"NOOK_HOME": home, "NOOK_REGISTRY": "http://mirror"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetTop("embed_model", `all-minilm "quoted"`); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(home, "config.toml"))
	if string(b) != "embed_model = \"all-minilm \\\"quoted\\\"\"\n" {
		t.Errorf("file %q", b)
	}
}

func TestKeepAliveReadsLikeOllamas(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "5m": 5 * time.Minute, "300": 300 * time.Second, "-1": -1, "-5m": -1} {
		c := &Config{KeepAlive: in}
		if got, err := c.KeepAliveDuration(); err != nil || got != want {
			t.Errorf("keep_alive %q = %v, %v; want %v", in, got, err, want)
		}
	}
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config.toml"), []byte("keep_alive = \"soon\"\n"), 0o600)
	if _, err := Load(envOf(map[string]string{"NOOK_HOME": home})); err == nil {
		t.Error("keep_alive = \"soon\" loaded without an error")
	}
}
