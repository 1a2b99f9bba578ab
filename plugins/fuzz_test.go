package plugins_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/plugins"
)

// The committed vector (testdata/gen_vector.go): a manifest signed in
// format 2 with a fixed key over a fixed program. It must keep verifying,
// its canonical bytes must not drift, and signing it again must give the
// same signature (secp256k1 signatures here are deterministic).
func TestTheSignedManifestVectorStillVerifies(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "vector")
	m, err := plugins.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.VerifyProgram(); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "canonical.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Canonical(); !bytes.Equal(got, want) {
		t.Fatalf("canonical bytes drifted:\n got %s\nwant %s", got, want)
	}
	seed := sha256.Sum256([]byte("nook plugin manifest test vector"))
	key, _ := crypto.ToECDSA(seed[:])
	again := *m
	if err := again.Sign(key); err != nil {
		t.Fatal(err)
	}
	if again.Signature != m.Signature {
		t.Fatalf("signing again gives %s, the vector holds %s", again.Signature, m.Signature)
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, p := range []string{
		filepath.Join("testdata", "vector", plugins.ManifestFile),
		filepath.Join("examples", "units", plugins.ManifestFile),
		filepath.Join("examples", "ics", plugins.ManifestFile),
	} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("id = \"x\"\npublisher = \"0x00000000000000000000000000000000000000aa\"\nscopes = [\"tool\"]\n[run]\nurl = \"https://h/mcp\"\ntls_key_sha256 = \"" + string(bytes.Repeat([]byte("ab"), 32)) + "\"\n"))
	f.Add([]byte("description = \"\\u001b]52;c;x\\u0007\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := plugins.ParseManifest(data)
		if err != nil {
			return
		}
		_ = m.Verify() // never panics, whatever the signature
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("a parsed manifest does not encode: %v", err)
		}
		back, err := plugins.ParseManifest(out)
		if err != nil {
			t.Fatalf("an encoded manifest does not parse: %v\n%s", err, out)
		}
		if !bytes.Equal(back.Canonical(), m.Canonical()) {
			t.Fatalf("the signed bytes change over a round trip:\n%s\n%s", m.Canonical(), back.Canonical())
		}
		if back.Signature != m.Signature {
			t.Fatal("the signature changes over a round trip")
		}
	})
}

func FuzzParseSettings(f *testing.F) {
	f.Add([]byte("[units]\nconsent = [\"convert\"]\ntimeout = \"10s\"\n"))
	f.Add([]byte("[ics]\nconsent = [\"*\"]\n"))
	f.Add([]byte("[x]\ntimeout = \"-1s\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := plugins.ParseSettings(data)
		if err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), plugins.SettingsFile)
		if err := s.Save(path); err != nil {
			t.Fatalf("parsed settings do not save: %v", err)
		}
		back, err := plugins.LoadSettings(path)
		if err != nil {
			t.Fatalf("saved settings do not load: %v", err)
		}
		if len(back) != len(s) {
			t.Fatalf("%d plugins' settings saved, %d loaded", len(s), len(back))
		}
	})
}
