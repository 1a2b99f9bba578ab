package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/testmodels"
)

// The whole power-user path with the units example as a real subprocess:
// keygen, sign, add, refused without a grant, grant by id, call, revoke.
func TestPlugCommandsSignAddGrantCallRevoke(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"NOOK_HOME": home, "NOOK_PASSPHRASE": "correct horse"}
	src := filepath.Join(t.TempDir(), "units")
	if err := os.MkdirAll(src, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(src, "units"), "../../plugins/examples/units").CombinedOutput(); err != nil {
		t.Fatalf("build units: %v\n%s", err, out)
	}
	tmpl, err := os.ReadFile("../../plugins/examples/units/plugin.toml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "plugin.toml"), tmpl, 0o644)
	key := filepath.Join(t.TempDir(), "publisher.key")

	nook := func(want string, wantCode int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := runNook(t, env, "", args...)
		if code != wantCode || !strings.Contains(out+errs, want) {
			t.Fatalf("nook %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), code, out, errs, wantCode, want)
		}
		return out, errs
	}
	nook("signature", 1, "plug", "add", src) // the template is unsigned
	publisher, _ := nook("0x", 0, "plug", "keygen", key)
	publisher = strings.TrimSpace(publisher)
	nook("signed units as "+publisher, 0, "plug", "sign", src, "--key", key)
	nook("added units", 0, "plug", "add", src)
	// A second plugin by the same publisher: a grant to one covers both.
	src2 := filepath.Join(t.TempDir(), "units2")
	os.MkdirAll(src2, 0o700)
	prog, _ := os.ReadFile(filepath.Join(src, "units"))
	os.WriteFile(filepath.Join(src2, "units"), prog, 0o755)
	os.WriteFile(filepath.Join(src2, "plugin.toml"), []byte(strings.Replace(string(tmpl), `id = "units"`, `id = "units2"`, 1)), 0o644)
	nook("signed units2", 0, "plug", "sign", src2, "--key", key)
	nook("added units2", 0, "plug", "add", src2)

	// Tampering after signing is caught when the plugin is loaded.
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o700)
	signedData, _ := os.ReadFile(filepath.Join(src, "plugin.toml"))
	os.WriteFile(filepath.Join(bad, "plugin.toml"), []byte(strings.Replace(string(signedData), `"tool"`, `"tool", "vault:read:private"`, 1)), 0o644)
	nook("manifest signature does not match its publisher", 1, "plug", "add", bad)

	nook("created vault", 0, "init")
	nook("did:ethr:", 0, "id", "create")
	args := []string{"plug", "call", "units__convert", `{"value":3,"from":"km","to":"mi"}`}
	_, errs := nook(`no grant for scope "tool"`, 1, args...)
	if !strings.Contains(errs, "nook: hint: run: nook plug grant units tool --for 30d") {
		t.Fatalf("refusal without the grant command:\n%s", errs)
	}
	// The grant says what it covers: the publisher's key, so this plugin
	// and any other it signs.
	_, errs = nook("granted tool to "+publisher+" (covers units, units2: every installed plugin of this publisher", 0, "plug", "grant", "units", "tool", "--for", "30d")
	if !strings.Contains(errs, "units, units2 all get tool") {
		t.Errorf("granting units does not warn that units2 gets it too: %q", errs)
	}
	if out, _ := nook("COVERS", 0, "plug", "ls"); !strings.Contains(out, "units, units2") {
		t.Errorf("plug ls does not say which plugins a grant covers:\n%s", out)
	}
	nook("units__convert", 0, "plug", "tools")
	nook("3 km = 1.8641 mi", 0, args...)

	// `nook ask` offers the granted tools to the model. stories260K cannot
	// choose tools sensibly, so this checks the wiring, not the choice: the
	// grammar-constrained turn completes and answers in the JSON shape.
	model := testmodels.Path(t, testmodels.Stories260K)
	env["NOOK_MODEL"], env["NOOK_EMBED_MODEL"] = model, model
	out, _ := nook(`"answer":`, 0, "ask", "--json", "convert 3 km to miles")
	var ans struct {
		Answer  *string `json:"answer"`
		Sources []any   `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil || ans.Answer == nil {
		t.Fatalf("ask --json with tools: %v: %q", err, out)
	}
	delete(env, "NOOK_MODEL")
	delete(env, "NOOK_EMBED_MODEL")
	nook("expires", 0, "plug", "show", "units")
	nook("revoked tool", 0, "plug", "revoke", "units", "tool")
	nook(`no grant for scope "tool"`, 1, args...)
	if _, err := os.Stat(filepath.Join(home, "logs", "plugins", "units.log")); err != nil {
		t.Errorf("no plugin log: %v", err)
	}
	nook("removed units", 0, "plug", "rm", "units")
	nook("not installed", 1, "plug", "rm", "units")
}
