package serve

import (
	"context"
	"fmt"
	"iter"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
	"github.com/nook-ai/nook/vault"
	"github.com/nook-ai/nook/vault/vaulttest"
)

// The models the test servers serve: real llama.cpp engines on the shared
// tiny models, each loaded once per test process.
const (
	storiesModel = "stories" // stories260K: a trained base model, no chat template
	tinyModel    = "tiny"    // synthetic llama with a ChatML template (random weights)
)

var (
	enginesOnce sync.Once
	engines     map[string]*llama.Engine
	enginesErr  error
)

func sharedEngines(tb testing.TB) map[string]*llama.Engine {
	tb.Helper()
	enginesOnce.Do(func() {
		engines = map[string]*llama.Engine{}
		for name, path := range map[string]string{
			storiesModel: testmodels.Path(tb, testmodels.Stories260K),
			tinyModel:    testmodels.Tiny(tb),
		} {
			e, err := llama.Open(path, llama.Options{Name: name, ContextLength: 512})
			if err != nil {
				enginesErr = err
				return
			}
			engines[name] = e
		}
	})
	if enginesErr != nil {
		tb.Fatal(enginesErr)
	}
	return engines
}

// localModels is the Models of a test server: the shared engines by name,
// with a count of the references handed out (the application layer's pool
// does this for nook serve), and a log of every answer they gave.
type localModels struct {
	engines map[string]engine.Engine
	def     string

	mu      sync.Mutex
	refs    map[string]int
	loaded  map[string]bool
	answers []string
}

func newLocalModels(tb testing.TB) *localModels {
	m := &localModels{engines: map[string]engine.Engine{}, def: storiesModel, refs: map[string]int{}, loaded: map[string]bool{}}
	for name, e := range sharedEngines(tb) {
		m.engines[name] = e
	}
	return m
}

// scriptedModel is engine/enginetest's scripted engine, which parses tool
// calls itself (CapTools), as a model server does.
const scriptedModel = "scripted"

func (m *localModels) List(ctx context.Context) ([]ModelEntry, error) {
	var out []ModelEntry
	for _, n := range []string{storiesModel, tinyModel} {
		d, _ := m.Show(ctx, n)
		out = append(out, d.ModelEntry)
	}
	return out, nil
}

// add serves e as name too.
func (m *localModels) add(name string, e engine.Engine) {
	m.mu.Lock()
	m.engines[name] = e
	m.mu.Unlock()
}

func (m *localModels) get(name string) (engine.Engine, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.engines[name]
	return e, ok
}

func (m *localModels) Show(ctx context.Context, name string) (*ModelDetails, error) {
	e, ok := m.get(name)
	if !ok {
		return nil, fmt.Errorf("test: %q: %w", name, ErrModelNotFound)
	}
	i := e.Info()
	var size int64
	var mod time.Time
	if fi, err := os.Stat(i.Path); err == nil {
		size, mod = fi.Size(), fi.ModTime()
	}
	return &ModelDetails{
		ModelEntry: ModelEntry{Name: name, Size: size, Modified: mod, Family: i.Architecture,
			Parameters: ParamSize(i.Parameters), Quantization: i.Quantization},
		Path: i.Path, ParameterCount: i.Parameters, ContextLength: i.TrainedLength, EmbeddingSize: i.EmbeddingSize, Template: i.Template,
	}, nil
}

func (m *localModels) Acquire(ctx context.Context, name string) (engine.Engine, error) {
	e, ok := m.get(name)
	if !ok {
		return nil, fmt.Errorf("test: %q: %w", name, ErrModelNotFound)
	}
	m.mu.Lock()
	m.refs[name]++
	m.loaded[name] = true
	m.mu.Unlock()
	return &ref{Engine: e, m: m, name: name}, nil
}

func (m *localModels) Loaded() []LoadedModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []LoadedModel
	for name := range m.loaded {
		out = append(out, LoadedModel{Info: m.engines[name].Info(), Refs: m.refs[name]})
	}
	return out
}

func (m *localModels) DefaultChat() string { return m.def }

// held is how many references are out (none once every request ended).
func (m *localModels) held() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.refs {
		n += r
	}
	return n
}

func (m *localModels) lastAnswer() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.answers) == 0 {
		return ""
	}
	return m.answers[len(m.answers)-1]
}

// ref is a reference to a shared engine: Close gives it back, and Chat
// logs the answer's text.
type ref struct {
	engine.Engine
	m      *localModels
	name   string
	closed sync.Once
}

func (r *ref) Close() error {
	r.closed.Do(func() {
		r.m.mu.Lock()
		r.m.refs[r.name]--
		r.m.mu.Unlock()
	})
	return nil
}

func (r *ref) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		var b strings.Builder
		defer func() {
			r.m.mu.Lock()
			r.m.answers = append(r.m.answers, b.String())
			r.m.mu.Unlock()
		}()
		for c, err := range r.Engine.Chat(ctx, req) {
			b.WriteString(c.Text)
			if !yield(c, err) {
				return
			}
		}
	}
}

// env is a running test server with a real vault (two notes, one tagged),
// a real simulated chain and an app registry in the vault.
type env struct {
	srv    *Server
	addr   string
	base   string // http://addr
	vault  *vault.Vault
	reg    *Registry
	chain  *ledgertest.Chain
	models *localModels
	notes  string // the folder of the untagged note
	health string // the folder of the note tagged "health"
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	e := &env{models: newLocalModels(t), chain: ledgertest.New(t)}
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := vault.Init(dir, []byte("test pass"), vault.WithScryptWorkFactor(10), vault.WithEmbedder(vaulttest.HashEmbedder{}), vault.WithEmbedModel("hash-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	e.vault = v
	e.notes, e.health = t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(e.notes, "garden.md"), []byte("# Garden\n\nThe tomatoes need water every morning.\nThe roses bloom in June.\n"), 0o600)
	os.WriteFile(filepath.Join(e.health, "dentist.md"), []byte("# Dentist\n\nThe dentist appointment is on 14 March at 9:30.\nBring the insurance card.\n"), 0o600)
	ctx := context.Background()
	if _, err := v.Add(ctx, []string{e.notes}, vault.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(ctx, []string{e.health}, vault.AddOptions{Tags: []string{"health"}}); err != nil {
		t.Fatal(err)
	}
	e.reg = NewRegistry(v)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr == "" {
		o.Addr = ln.Addr().String()
	}
	o.Version = "test"
	srv, err := New(Backend{Models: e.models, Vault: v, Grants: LedgerGrants{Client: e.chain.Client, Identity: e.chain.Identity}, Apps: e.reg}, o)
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.addr, e.base = srv, ln.Addr().String(), "http://"+ln.Addr().String()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// app adds an app and grants it scopes for a day.
func (e *env) app(t *testing.T, name string, scopes ...string) (App, string) {
	t.Helper()
	a, key, err := e.reg.Add(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scopes {
		e.grant(t, a, s)
	}
	return a, key
}

func (e *env) grant(t *testing.T, a App, scope string) {
	t.Helper()
	if _, err := e.chain.Client.GrantApp(t.Context(), e.chain.Owner, e.chain.Identity, a.Address, scope, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
}

func (e *env) revoke(t *testing.T, a App, scope string) {
	t.Helper()
	if err := e.chain.Client.RevokeApp(t.Context(), e.chain.Owner, e.chain.Identity, a.Address, scope); err != nil {
		t.Fatal(err)
	}
}

// idle waits until every engine reference is given back.
func (e *env) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.models.held() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d engine references still held", e.models.held())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
