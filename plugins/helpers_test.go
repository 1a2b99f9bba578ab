package plugins_test

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
	"github.com/nook-ai/nook/plugins"
)

// The example plugins and the misbehaving one are built once per test
// binary and run as real subprocesses.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "nook-plugins-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"./examples/units", "./examples/ics", "./internal/testplugins/misbehave")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the plugins: %v", buildErr)
	}
	return filepath.Join(binDir, name)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// chain is a simulated ledger with a deployed registry and an identity.
type chain struct {
	lc    *ledgertest.Chain
	sim   *simulated.Backend
	c     *ledgerclient.Client
	owner *ecdsa.PrivateKey
	id    common.Address
}

func newKey(t *testing.T) *ecdsa.PrivateKey { return ledgertest.NewKey(t) }

func newChain(t *testing.T) *chain {
	t.Helper()
	lc := ledgertest.New(t)
	return &chain{lc: lc, sim: lc.Sim, c: lc.Client, owner: lc.Owner, id: lc.Identity}
}

func (ch *chain) grant(t *testing.T, m *plugins.Manifest, scope string, d time.Duration) {
	t.Helper()
	if _, err := ch.c.Grant(t.Context(), ch.owner, ch.id, m.PublisherAddress(), scope, d); err != nil {
		t.Fatalf("grant %s %s: %v", m.ID, scope, err)
	}
}

func (ch *chain) revoke(t *testing.T, m *plugins.Manifest, scope string) {
	t.Helper()
	if err := ch.c.Revoke(t.Context(), ch.owner, ch.id, m.PublisherAddress(), scope); err != nil {
		t.Fatalf("revoke %s %s: %v", m.ID, scope, err)
	}
}

// signed writes a signed manifest for a built program into a new folder
// and loads it back (so it went through verification).
func signed(t *testing.T, m plugins.Manifest) *plugins.Manifest {
	t.Helper()
	if err := m.Sign(newKey(t)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, plugins.ManifestFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := plugins.LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func unitsManifest(t *testing.T) *plugins.Manifest {
	return signed(t, plugins.Manifest{ID: "units", Description: "unit converter", Scopes: []string{"tool"},
		Run: plugins.Run{Command: bin(t, "units")}})
}

func misbehaveManifest(t *testing.T, args ...string) *plugins.Manifest {
	return signed(t, plugins.Manifest{ID: "misbehave", Description: "fails on purpose", Scopes: []string{"tool"},
		Run: plugins.Run{Command: bin(t, "misbehave"), Args: args}})
}

// recorder keeps the host's events.
type recorder struct {
	mu sync.Mutex
	ev []plugins.Event
}

func (r *recorder) add(e plugins.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

func (r *recorder) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.ev {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.ev {
		b.WriteString(e.Plugin + " " + e.Kind + " " + e.Detail + "\n")
	}
	return b.String()
}

func newHost(t *testing.T, ch *chain, ms []*plugins.Manifest, opts ...plugins.HostOption) (*plugins.Host, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts = append([]plugins.HostOption{plugins.WithEvents(rec.add), plugins.WithLogDir(filepath.Join(t.TempDir(), "logs"))}, opts...)
	h := plugins.NewHost(ch.id, ch.c, ms, opts...)
	t.Cleanup(func() { h.Close() })
	return h, rec
}

func call(t *testing.T, h *plugins.Host, name string, args map[string]any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return h.Call(ctx, name, args)
}

// waitForLog reads the log at path until it holds want: the process
// writes stderr on its own schedule and nook copies it over a pipe. It
// gives up after 15 s (a loaded machine) and returns what it read.
func waitForLog(t *testing.T, path, want string) []byte {
	t.Helper()
	var data []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ = os.ReadFile(path)
		if strings.Contains(string(data), want) {
			break
		}
	}
	return data
}

// misbehaving is the misbehave plugin, granted "tool", behind a host that
// logs to a folder of its own (returned).
func misbehaving(t *testing.T, opts ...plugins.HostOption) (*plugins.Host, *recorder, string) {
	t.Helper()
	ch := newChain(t)
	m := misbehaveManifest(t)
	ch.grant(t, m, "tool", time.Hour)
	logDir := filepath.Join(t.TempDir(), "logs")
	h, rec := newHost(t, ch, []*plugins.Manifest{m}, append([]plugins.HostOption{plugins.WithLogDir(logDir)}, opts...)...)
	return h, rec, logDir
}

// listen is a TCP listener on loopback that accepts and closes, for
// plugins to dial.
func listen(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
