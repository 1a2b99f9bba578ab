package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/app/apptest"
	"github.com/nook-ai/nook/internal/testmodels"
)

// The first run as a new user meets it: an empty NOOK_HOME, no model
// anywhere, a registry that counts what it is asked. The app creates the
// vault (passphrase twice, a strength warning), lists the catalog with
// download sizes, downloads nothing until the user picks, shows the pull
// by name, size, rate and time left, saves the pick, and keeps the working
// model when /model names one that does not exist.

// startTmux runs bin in a fresh tmux server, 100×30, with env only.
func startTmux(t *testing.T, bin string, env []string, args ...string) tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run .ci/setup (make test does)")
	}
	x := tmux{t: t, socket: fmt.Sprintf("nook-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	targs := []string{"new-session", "-d", "-s", "nook", "-x", "100", "-y", "30"}
	for _, e := range env {
		targs = append(targs, "-e", e)
	}
	x.run(append(append(targs, bin), args...)...)
	t.Cleanup(func() { exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	x.run("set-option", "-t", "nook", "remain-on-exit", "on")
	return x
}

// firstRunEnv is an empty home that reaches only reg: no Ollama store, no
// model or passphrase in the environment.
func firstRunEnv(t *testing.T, reg *apptest.Registry) (home string, env []string) {
	home = t.TempDir()
	env = []string{"HOME=" + home, "NOOK_HOME=" + filepath.Join(home, "nook"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"OLLAMA_MODELS=" + t.TempDir(), "NOOK_REGISTRY=" + reg.URL, "NOOK_HF_REGISTRY=" + reg.URL, "TERM=xterm-256color"}
	return home, env
}

func TestFirstRunDownloadsNothingUntilTheUserPicksAModel(t *testing.T) {
	bin := buildNook(t)
	reg := apptest.NewRegistry(t)
	model, err := os.ReadFile(testmodels.Path(t, testmodels.Stories260K))
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(t, "qwen2.5", "0.5b", model)
	reg.Slow(30, 150*time.Millisecond) // ~4.5 s: the progress shows
	home, env := firstRunEnv(t, reg)
	x := startTmux(t, bin, env)
	noHits := func(when string) {
		t.Helper()
		if n := reg.Hits.Load(); n != 0 {
			t.Fatalf("%s: the registry got %d requests before the user picked a model\n%s", when, n, x.capture())
		}
	}

	// The vault first: a passphrase, twice, with a warning for a weak one.
	x.waitFor(20*time.Second, "Create your vault", "Choose a passphrase")
	noHits("at start")
	x.run("send-keys", "-t", "nook", "-l", "hunter2")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "confirm the passphrase", "weak passphrase")
	x.run("send-keys", "-t", "nook", "-l", "hunter3")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(10*time.Second, "The two passphrases differ")
	pass := "ample quiet harbor lantern 47"
	x.run("send-keys", "-t", "nook", "-l", pass)
	x.run("send-keys", "-t", "nook", "Enter")
	screen := x.waitFor(10*time.Second, "Type it again.")
	if strings.Contains(screen, "weak passphrase") {
		t.Errorf("a strong passphrase was called weak:\n%s", screen)
	}
	x.run("send-keys", "-t", "nook", "-l", pass)
	x.run("send-keys", "-t", "nook", "Enter")

	// Then the model: the catalog with download sizes, nothing pulled.
	screen = x.waitFor(30*time.Second, "No model yet", "qwen2.5:0.5b", "download 398.0 MB", "llama3.2")
	t.Logf("the model picker:\n%s", screen)
	time.Sleep(2 * time.Second) // nothing starts on its own either
	noHits("with the picker open")
	x.waitFor(30*time.Second, "vault unlocked")
	if _, err := os.Stat(filepath.Join(home, "nook", "vault")); err != nil {
		t.Errorf("the vault was not created: %v", err)
	}

	// qwen2.5:0.5b is the first line; pick it.
	x.run("send-keys", "-t", "nook", "Enter")
	screen = x.waitFor(20*time.Second, "downloading qwen2.5:0.5b", "pulling qwen2.5:0.5b:", "% of", "left")
	t.Logf("pulling:\n%s", screen)
	x.waitFor(60*time.Second, "vault created in", "loaded ", "saved as the model for next time", `model = "qwen2.5:0.5b"`)
	if reg.Hits.Load() == 0 {
		t.Error("the picked model was not pulled from the registry")
	}
	cfg, err := os.ReadFile(filepath.Join(home, "nook", "config.toml"))
	if err != nil || !strings.Contains(string(cfg), `model = "qwen2.5:0.5b"`) {
		t.Errorf("config after the pick: %q, %v", cfg, err)
	}

	// A typo in /model keeps the working model.
	hits := reg.Hits.Load()
	x.run("send-keys", "-t", "nook", "-l", "/model qwen2.5:0.5bb")
	x.run("send-keys", "-t", "nook", "Enter")
	screen = x.waitFor(30*time.Second, "not found", "still using")
	t.Logf("after a typo in /model:\n%s", screen)
	if reg.Hits.Load() == hits {
		t.Error("/model NAME did not look the name up in the registry")
	}
	x.run("send-keys", "-t", "nook", "-l", "once upon a time")
	x.run("send-keys", "-t", "nook", "Enter")
	x.waitFor(2*time.Minute, "tok/s", "enter send")
	if s := x.capture(); strings.Contains(s, "no model is loaded") {
		t.Errorf("the working model was dropped:\n%s", s)
	}
	x.run("send-keys", "-t", "nook", "C-d")

	// The next start loads the saved model and asks for no model.
	hits = reg.Hits.Load()
	x2 := startTmux(t, bin, env)
	x2.waitFor(20*time.Second, "Unlock the vault")
	x2.run("send-keys", "-t", "nook", "-l", pass)
	x2.run("send-keys", "-t", "nook", "Enter")
	screen = x2.waitFor(30*time.Second, "vault unlocked", "qwen2.5")
	if strings.Contains(screen, "No model yet") || reg.Hits.Load() != hits {
		t.Errorf("the second start asked again or reached the registry (%d requests):\n%s", reg.Hits.Load()-hits, screen)
	}
}
