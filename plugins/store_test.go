package plugins_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/plugins"
)

func TestStoreInstallsListsAndRemoves(t *testing.T) {
	t.Parallel()
	// A plugin folder as a publisher ships it: program + signed manifest.
	src := t.TempDir()
	prog, err := os.ReadFile(bin(t, "units"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "units"), prog, 0o755)
	m := plugins.Manifest{ID: "units", Description: "units", Scopes: []string{"tool"}, Run: plugins.Run{Command: "./units"}, Dir: src}
	if err := m.Sign(newKey(t)); err != nil {
		t.Fatal(err)
	}
	data, _ := m.Encode()
	os.WriteFile(filepath.Join(src, plugins.ManifestFile), data, 0o644)

	st := plugins.Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	got, err := st.Install(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "units" || got.Dir != filepath.Join(st.Dir, "units") {
		t.Fatalf("installed %+v", got)
	}
	if fi, err := os.Stat(filepath.Join(st.Dir, "units", "units")); err != nil || fi.Mode()&0o100 == 0 {
		t.Fatalf("the program was not copied executable: %v", err)
	}

	// A manifest served over HTTP, for a plugin reached by URL.
	hm := plugins.Manifest{ID: "remote", Description: "over http", Scopes: []string{"tool"}, Run: plugins.Run{URL: "http://127.0.0.1:9/mcp"}}
	hm.Sign(newKey(t))
	hdata, _ := hm.Encode()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tampered.toml" {
			w.Write([]byte(strings.Replace(string(hdata), "over http", "over https", 1)))
			return
		}
		w.Write(hdata)
	}))
	defer srv.Close()
	if _, err := st.Install(t.Context(), srv.URL+"/plugin.toml"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Install(t.Context(), srv.URL+"/tampered.toml"); !errors.Is(err, plugins.ErrBadSignature) {
		t.Fatalf("tampered manifest over HTTP: %v", err)
	}

	ms, problems := st.List()
	if len(problems) != 0 || len(ms) != 2 || ms[0].ID != "remote" || ms[1].ID != "units" {
		t.Fatalf("list %v %v", ms, problems)
	}
	// An installed manifest edited in place is left out of the list.
	path := filepath.Join(st.Dir, "remote", plugins.ManifestFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), "over http", "edited", 1)), 0o600)
	ms, problems = st.List()
	if len(ms) != 1 || len(problems) != 1 || !errors.Is(problems[0], plugins.ErrBadSignature) {
		t.Fatalf("after tampering in place: %v %v", ms, problems)
	}
	if err := st.Remove("units"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get("units"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("after rm: %v", err)
	}
	if err := st.Remove("units"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("second rm: %v", err)
	}
}
