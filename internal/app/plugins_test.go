package app_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/vault"
)

var (
	unitsOnce sync.Once
	unitsBin  string
	unitsErr  error
)

// units builds the units example plugin once per test binary.
func units(t *testing.T) string {
	t.Helper()
	unitsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nook-app-units-")
		if err != nil {
			unitsErr = err
			return
		}
		unitsBin = filepath.Join(dir, "units")
		out, err := exec.Command("go", "build", "-o", unitsBin, "../../plugins/examples/units").CombinedOutput()
		if err != nil {
			unitsErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if unitsErr != nil {
		t.Fatalf("building the units plugin: %v", unitsErr)
	}
	return unitsBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if unitsBin != "" {
		os.RemoveAll(filepath.Dir(unitsBin))
	}
	os.Exit(code)
}

// installUnits signs the units plugin with a fresh publisher key and
// installs it in cfg's plugin folder.
func installUnits(t *testing.T, a *app.App) *plugins.Manifest {
	t.Helper()
	src := t.TempDir()
	m := plugins.Manifest{ID: "units", Version: "0.1.0", Description: "unit converter", Scopes: []string{"tool"},
		Run: plugins.Run{Command: units(t)}}
	if err := m.Sign(ledgertest.NewKey(t)); err != nil {
		t.Fatal(err)
	}
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, plugins.ManifestFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := a.PluginStore().Install(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// simChain hands out the simulated chain, counting opens and closes.
type simChain struct {
	ch            *ledgertest.Chain
	opens, closes atomic.Int32
	mu            sync.Mutex
	onClose       func()
	failWith      error
}

func (s *simChain) open(ctx context.Context, keys ledgerclient.KeyStore) (*app.Chain, error) {
	s.opens.Add(1)
	s.mu.Lock()
	fail := s.failWith
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return &app.Chain{Client: s.ch.Client, Where: "simulated", Close: func() error {
		s.mu.Lock()
		f := s.onClose
		s.mu.Unlock()
		if f != nil {
			f()
		}
		s.closes.Add(1)
		return nil
	}}, nil
}

func newPluginApp(t *testing.T) (*app.App, *config.Config, *simChain) {
	t.Helper()
	cfg := newConfig(t, newRegistry(t))
	initVault(t, cfg)
	sc := &simChain{ch: ledgertest.New(t)}
	a := app.New(cfg, app.WithChain(sc.open))
	t.Cleanup(func() { a.Close() })
	if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
		t.Fatal(err)
	}
	return a, cfg, sc
}

func putIdentity(t *testing.T, a *app.App, sc *simChain) {
	t.Helper()
	v, release, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := v.PutSecret(ledgerclient.SecretIdentity, crypto.FromECDSA(sc.ch.Owner)); err != nil {
		t.Fatal(err)
	}
}

func TestThePluginHostKeepsItsFailureUntilARetry(t *testing.T) {
	t.Parallel()
	a, _, sc := newPluginApp(t)
	m := installUnits(t, a)

	// No identity yet: the failure says what to do, and the chain is let
	// go (another nook may run `nook id create`).
	_, _, err := a.Plugins(t.Context())
	if !errors.Is(err, ledgerclient.ErrNoIdentity) || !strings.Contains(hint.Of(err), "nook id create") {
		t.Fatalf("plugins without an identity: %v (hint %q)", err, hint.Of(err))
	}
	if o, c := sc.opens.Load(), sc.closes.Load(); o != 1 || c != 1 {
		t.Fatalf("chain opened %d and closed %d times, want 1 and 1", o, c)
	}
	if st := a.Status(); st.Plugins != "error" || st.PluginsErr == nil {
		t.Fatalf("status: %+v", st)
	}
	// Asked again, it answers from memory: no new attempt per turn.
	if _, _, err := a.Plugins(t.Context()); !errors.Is(err, ledgerclient.ErrNoIdentity) {
		t.Fatalf("second try: %v", err)
	}
	if o := sc.opens.Load(); o != 1 {
		t.Fatalf("the kept failure was retried: %d opens", o)
	}

	// The identity appears (`nook id create` elsewhere); a retry works.
	putIdentity(t, a, sc)
	h, release, err := a.RetryPlugins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Call(t.Context(), "units__convert", map[string]any{"value": 3, "from": "km", "to": "mi"}); !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("a call without a grant: %v", err)
	}
	if _, err := sc.ch.Client.Grant(t.Context(), sc.ch.Owner, sc.ch.Identity, m.PublisherAddress(), "tool", time.Hour); err != nil {
		t.Fatal(err)
	}
	out, err := h.Call(t.Context(), "units__convert", map[string]any{"value": 3, "from": "km", "to": "mi"})
	if err != nil || !strings.Contains(out, "1.8641") {
		t.Fatalf("granted call: %q, %v", out, err)
	}
	release()
	if st := a.Status(); st.Plugins != "on" || st.Ledger == "error" || st.Ledger == "off" {
		t.Fatalf("status with the host open: %+v", st)
	}
	// The host stays open for the next caller: no new chain.
	h2, release2, err := a.Plugins(t.Context())
	if err != nil || h2 != h {
		t.Fatalf("second caller: %v, same host %v", err, h2 == h)
	}
	release2()
	if o := sc.opens.Load(); o != 2 {
		t.Fatalf("%d chain opens, want 2", o)
	}

	states, problems := a.PluginStates(t.Context())
	if len(problems) != 0 || len(states) != 1 || len(states[0].Scopes) != 1 || !states[0].Scopes[0].Granted || states[0].Unknown != nil {
		t.Fatalf("plugin states %+v, problems %v", states, problems)
	}
}

func TestANewVaultReopensThePluginHostAfterItsUsers(t *testing.T) {
	t.Parallel()
	a, _, sc := newPluginApp(t)
	installUnits(t, a)
	putIdentity(t, a, sc)
	h, release, err := a.Plugins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
		t.Fatal(err)
	}
	// The old host serves its user until released.
	if c := sc.closes.Load(); c != 0 {
		t.Fatalf("the chain closed under the host's user (%d closes)", c)
	}
	if _, err := h.Tools(t.Context()); errors.Is(err, plugins.ErrClosed) {
		t.Fatal("the host closed under its user")
	}
	release()
	eventually(t, "the old host and its chain close", func() bool { return sc.closes.Load() == 1 })
	if _, err := h.Call(t.Context(), "units__convert", nil); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("the old host after its last user: %v", err)
	}
	h2, release2, err := a.Plugins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if h2 == h || sc.opens.Load() != 2 {
		t.Fatalf("no new host over the new vault (opens %d)", sc.opens.Load())
	}
}

func TestCloseEndsPluginsLedgerVaultAndEnginesInOrderOnce(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t)
	initVault(t, cfg)
	sc := &simChain{ch: ledgertest.New(t)}
	l := newLoads(cfg)
	a := app.New(cfg, app.WithChain(sc.open), app.WithLoader(l.load))
	if err := a.UseModel(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(t.Context(), []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	installUnits(t, a)
	putIdentity(t, a, sc)
	h, release, err := a.Plugins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	release()
	v, vrel, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	vrel()
	eng, err := a.ChatModel(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	eng.Close()

	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	sc.mu.Lock()
	sc.onClose = func() {
		// The host is closed before its ledger.
		if _, err := h.Call(context.Background(), "units__convert", nil); !errors.Is(err, plugins.ErrClosed) {
			t.Errorf("the ledger closed before the plugin host (host: %v)", err)
		}
		note("ledger")
	}
	sc.mu.Unlock()
	l.onClose = func(app.Spec) {
		// The vault (and its snapshot) is done before the engines go.
		if _, err := v.Status(); !errors.Is(err, vault.ErrLocked) {
			t.Errorf("an engine closed before the vault (vault: %v)", err)
		}
		note("engine")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "ledger,engine" {
		t.Fatalf("close order %v, want ledger then engine (one engine for chat and embeddings)", order)
	}
	if _, _, err := a.Vault(); !errors.Is(err, app.ErrClosed) {
		t.Fatalf("Vault after Close: %v", err)
	}
	if err := a.UseModel(t.Context(), ""); !errors.Is(err, app.ErrClosed) {
		t.Fatalf("UseModel after Close: %v", err)
	}
}
