package plugins_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/plugins"
)

// baseManifest is a manifest for a program ./units in a folder of its own.
func baseManifest(t *testing.T) plugins.Manifest {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "units"), []byte("#!/bin/sh\necho units\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return plugins.Manifest{ID: "units", Version: "0.1.0", Description: "unit converter", Scopes: []string{"tool"},
		Run: plugins.Run{Command: "./units"}, Dir: dir}
}

func TestSignedManifestVerifies(t *testing.T) {
	t.Parallel()
	m := baseManifest(t)
	key := newKey(t)
	if err := m.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(); err != nil {
		t.Fatalf("fresh signature: %v", err)
	}
	// It survives the TOML round trip.
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := plugins.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(); err != nil {
		t.Fatalf("after encode and parse: %v\n%s", err, data)
	}
}

func TestManifestWithABadSignatureIsRefused(t *testing.T) {
	t.Parallel()
	tamper := map[string]func(m *plugins.Manifest){
		"a scope added after signing":           func(m *plugins.Manifest) { m.Scopes = append(m.Scopes, "vault:read:notes") },
		"the command changed after signing":     func(m *plugins.Manifest) { m.Run.Command = "./evil" },
		"the publisher replaced by another":     func(m *plugins.Manifest) { m.Publisher = "0x00000000000000000000000000000000000000aa" },
		"no signature":                          func(m *plugins.Manifest) { m.Signature = "" },
		"a signature that is not 65 bytes":      func(m *plugins.Manifest) { m.Signature = "0x" + strings.Repeat("ab", 64) },
		"a signature with a flipped byte":       func(m *plugins.Manifest) { m.Signature = m.Signature[:10] + flip(m.Signature[10]) + m.Signature[11:] },
		"signed by a key that is not publisher": nil,
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := baseManifest(t)
			if err := m.Sign(newKey(t)); err != nil {
				t.Fatal(err)
			}
			if f != nil {
				f(&m)
			} else {
				other := baseManifest(t)
				other.Sign(newKey(t))
				m.Signature = other.Signature
			}
			dir := t.TempDir()
			data, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, plugins.ManifestFile), data, 0o600)
			_, err = plugins.LoadManifest(dir)
			if err == nil {
				t.Fatal("a tampered manifest loaded")
			}
			if !errors.Is(err, plugins.ErrBadSignature) && !strings.Contains(err.Error(), "signature") {
				t.Fatalf("err %v, want a signature error", err)
			}
			if errors.Is(err, plugins.ErrBadSignature) && !strings.Contains(hint.Of(err), "nook plug sign") {
				t.Errorf("hint %q does not say how to sign", hint.Of(err))
			}
		})
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestManifestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(m *plugins.Manifest)
		want string
	}{
		{"an id with capitals is refused", func(m *plugins.Manifest) { m.ID = "Units" }, "id must be"},
		{"command and url together are refused", func(m *plugins.Manifest) { m.Run.URL = "http://127.0.0.1:1/mcp" }, "exactly one of command or url"},
		{"neither command nor url is refused", func(m *plugins.Manifest) { m.Run.Command = "" }, "exactly one of command or url"},
		{"a url that is not http is refused", func(m *plugins.Manifest) { m.Run = plugins.Run{URL: "file:///etc/passwd"} }, "not an http(s) URL"},
		{"an unknown scope is refused", func(m *plugins.Manifest) { m.Scopes = []string{"net"} }, "is not tool, vault:read:<tag> or vault:write:<tag>"},
		{"a scope with a bad tag is refused", func(m *plugins.Manifest) { m.Scopes = []string{"vault:read:a/b"} }, "tag"},
		{"no scopes is refused", func(m *plugins.Manifest) { m.Scopes = nil }, "asks for no scopes"},
		{"a data tag without its write scope is refused", func(m *plugins.Manifest) { m.Data.Tag = "calendar" }, `needs the scope "vault:write:calendar"`},
		{"a receive tool without a read scope is refused", func(m *plugins.Manifest) { m.Data.Receive = "to_ics" }, "needs a vault:read"},
		{"plain http to another machine is refused", func(m *plugins.Manifest) { m.Run = plugins.Run{URL: "http://plugins.example/mcp"} }, "use https"},
		{"a description with an escape sequence is refused", func(m *plugins.Manifest) { m.Description = "units\x1b]0;pwned\x07" }, "control characters"},
		{"a sandbox path leaving the plugin's folder is refused", func(m *plugins.Manifest) { m.Sandbox.Read = []string{"../../vault"} }, "leaves the plugin's folder"},
		{"a secret among the sandbox's variables is refused", func(m *plugins.Manifest) { m.Sandbox.Env = []string{"OPENAI_API_KEY"} }, "looks like a secret"},
		{"nook's own variables are refused", func(m *plugins.Manifest) { m.Sandbox.Env = []string{"NOOK_PASSPHRASE"} }, "looks like a secret"},
		{"a sandbox for a url is refused", func(m *plugins.Manifest) {
			m.Run = plugins.Run{URL: "http://127.0.0.1:1/mcp"}
			m.Sandbox.Net = true
		}, "goes with command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := baseManifest(t)
			m.Publisher = "0x00000000000000000000000000000000000000aa"
			tc.edit(&m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to say %q", err, tc.want)
			}
		})
	}
	t.Run("unknown keys in plugin.toml are refused", func(t *testing.T) {
		t.Parallel()
		_, err := plugins.ParseManifest([]byte("id = \"x\"\npublisher = \"0x00000000000000000000000000000000000000aa\"\nscopes = [\"tool\"]\nscope = \"vault:read:all\"\n[run]\ncommand = \"./x\"\n"))
		if err == nil || !strings.Contains(err.Error(), `unknown key "scope"`) {
			t.Fatalf("err %v", err)
		}
	})
}
