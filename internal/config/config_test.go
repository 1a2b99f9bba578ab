package config

import (
	"os"
	"path/filepath"
	"testing"
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
