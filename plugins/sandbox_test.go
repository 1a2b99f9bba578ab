package plugins_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/vault"
)

// nookHome lays out what a plugin must never reach, as nook keeps it: a
// real vault (its sealed identity under keys/), a config file, notes.
func nookHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	v, err := vault.Init(filepath.Join(home, "vault"), []byte("pw"), vault.WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte("model = \"secret-model\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "notes", "diary.md"), []byte("dear diary"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// vaultFiles lists the regular files of the vault folder.
func vaultFiles(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(home, "vault"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatal("the vault has no files")
	}
	return out
}

// The attack run's plugin 6: granted only "tool", it read the vault's
// identity from nook's memory, the passphrase from nook's environment and
// the vault and notes from disk. Each try now fails, while what the plugin
// is given (its folder, its temp dir) still works, so the denials are the
// sandbox's and not a broken plugin's.
func TestAPluginGrantedOnlyToolCannotReachNooksSecrets(t *testing.T) {
	t.Parallel()
	home := nookHome(t)
	ch := newChain(t)
	m := misbehaveManifest(t)
	ch.grant(t, m, "tool", 30*24*time.Hour)
	h, _ := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithPrivate(home))
	ask := func(tool string, args map[string]any) string {
		t.Helper()
		got, err := call(t, h, "misbehave__"+tool, args)
		if err != nil {
			t.Fatalf("%s %v: %v", tool, args, err)
		}
		return got
	}

	// A secret in this process's memory, where the vault keeps its identity.
	secret := make([]byte, 32)
	rand.Read(secret)
	secretHex := []byte("nook-secret-" + hex.EncodeToString(secret))
	addr := uintptr(unsafe.Pointer(&secretHex[0]))
	pid := os.Getpid()

	denied := map[string]map[string]any{
		"the vault's files":          nil, // filled below
		"the config file":            {"path": filepath.Join(home, "config.toml")},
		"the notes":                  {"path": filepath.Join(home, "notes", "diary.md")},
		"nook's memory":              {"path": fmt.Sprintf("/proc/%d/mem", pid), "offset": int64(addr)},
		"nook's initial environment": {"path": fmt.Sprintf("/proc/%d/environ", pid)},
		"nook's command line":        {"path": fmt.Sprintf("/proc/%d/cmdline", pid)},
	}
	delete(denied, "the vault's files")
	for i, f := range vaultFiles(t, home) {
		denied[fmt.Sprintf("vault file %d (%s)", i, filepath.Base(f))] = map[string]any{"path": f}
	}
	for what, args := range denied {
		if got := ask("read", args); !strings.HasPrefix(got, "denied: ") {
			t.Errorf("the plugin read %s (%s): %.120q", what, args["path"], got)
		}
	}
	runtime.KeepAlive(secretHex)

	if got := ask("list", map[string]any{"path": home}); !strings.HasPrefix(got, "denied: ") {
		t.Errorf("the plugin listed NOOK_HOME: %q", got)
	}
	if got := ask("write", map[string]any{"path": filepath.Join(home, "planted"), "text": "x"}); !strings.HasPrefix(got, "denied: ") {
		t.Errorf("the plugin wrote into NOOK_HOME: %q", got)
	}
	if _, err := os.Stat(filepath.Join(home, "planted")); err == nil {
		t.Error("a file was planted in NOOK_HOME")
	}
	if got := ask("signal", map[string]any{"pid": pid}); !strings.HasPrefix(got, "denied: ") {
		t.Errorf("the plugin could signal nook: %q", got)
	}
	env := ask("env", nil)
	for _, line := range strings.Split(strings.TrimPrefix(env, "ok: "), "\n") {
		k, _, _ := strings.Cut(line, "=")
		if strings.HasPrefix(k, "NOOK_") || strings.Contains(k, "PASS") || strings.HasSuffix(k, "_TOKEN") || strings.HasSuffix(k, "_KEY") {
			t.Errorf("the plugin's environment holds %s", k)
		}
	}

	// What it is given still works: the sandbox denies, the plugin is fine.
	tmp := ""
	for _, line := range strings.Split(strings.TrimPrefix(env, "ok: "), "\n") {
		if v, ok := strings.CutPrefix(line, "TMPDIR="); ok {
			tmp = v
		}
	}
	if tmp == "" {
		tmp = os.TempDir()
	}
	if got := ask("write", map[string]any{"path": filepath.Join(tmp, "scratch"), "text": "mine"}); got != "ok: written" {
		t.Errorf("the plugin cannot write its temp dir %s: %q", tmp, got)
	}
	if got := ask("read", map[string]any{"path": filepath.Join(tmp, "scratch")}); got != "ok: mine" {
		t.Errorf("the plugin cannot read back its temp file: %q", got)
	}
	if got := ask("read", map[string]any{"path": "/etc/hostname"}); !strings.HasPrefix(got, "ok: ") {
		t.Errorf("the plugin cannot read /etc: %q", got)
	}
	if got := ask("read", map[string]any{"path": "/proc/self/status"}); !strings.HasPrefix(got, "ok: ") {
		t.Errorf("the plugin cannot read its own /proc/self: %q", got)
	}
}

// A plugin whose manifest does not ask for the network cannot open a TCP
// connection, even to loopback; one that asks can.
func TestAPluginReachesTheNetworkOnlyIfItsManifestSaysSo(t *testing.T) {
	t.Parallel()
	addr := listen(t)
	ch := newChain(t)
	closed := misbehaveManifest(t)
	open := signed(t, plugins.Manifest{ID: "online", Description: "asks for the network", Scopes: []string{"tool"},
		Run: plugins.Run{Command: bin(t, "misbehave")}, Sandbox: plugins.Sandbox{Net: true}})
	ch.grant(t, closed, "tool", 30*24*time.Hour)
	ch.grant(t, open, "tool", 30*24*time.Hour)
	h, _ := newHost(t, ch, []*plugins.Manifest{closed, open})
	got, err := call(t, h, "misbehave__dial", map[string]any{"addr": addr})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "denied: ") {
		t.Errorf("a plugin without net = true connected to %s: %q", addr, got)
	}
	if got, err := call(t, h, "online__dial", map[string]any{"addr": addr}); err != nil || got != "ok: connected" {
		t.Errorf("a plugin with net = true: %q %v", got, err)
	}
}

// A manifest's [sandbox] can open what it declares, but never NOOK_HOME:
// not the folder, not a folder inside it, not a folder holding it.
func TestASandboxThatWouldReachNookHomeIsRefusedAtStart(t *testing.T) {
	t.Parallel()
	home := nookHome(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "shared.txt"), []byte("shared"), 0o600)
	ch := newChain(t)
	with := func(id string, sb plugins.Sandbox) *plugins.Manifest {
		m := signed(t, plugins.Manifest{ID: id, Description: "declares paths", Scopes: []string{"tool"},
			Run: plugins.Run{Command: bin(t, "misbehave")}, Sandbox: sb})
		ch.grant(t, m, "tool", 30*24*time.Hour)
		return m
	}
	ms := []*plugins.Manifest{
		with("home", plugins.Sandbox{Read: []string{home}}),
		with("inside", plugins.Sandbox{Write: []string{filepath.Join(home, "vault")}}),
		with("above", plugins.Sandbox{Read: []string{filepath.Dir(home)}}),
		with("declared", plugins.Sandbox{Read: []string{outside}}),
	}
	h, rec := newHost(t, ch, ms, plugins.WithPrivate(home))
	for _, id := range []string{"home", "inside", "above"} {
		_, err := call(t, h, id+"__echo", map[string]any{"text": "hi"})
		if err == nil || !strings.Contains(err.Error(), "its sandbox would reach "+home) || !strings.Contains(plugins.Explain(err), "[sandbox]") {
			t.Errorf("%s: %v, want a refusal naming NOOK_HOME", id, err)
		}
	}
	if n := rec.count("start"); n != 0 {
		t.Fatalf("%d plugins started", n)
	}
	if got, err := call(t, h, "declared__read", map[string]any{"path": filepath.Join(outside, "shared.txt")}); err != nil || got != "ok: shared" {
		t.Fatalf("a declared folder: %q %v", got, err)
	}
}
