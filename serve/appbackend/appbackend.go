package appbackend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/serve"
	"github.com/nook-ai/nook/vault"
)

// Backend adapts an *app.App to the server's interfaces.
type Backend struct {
	a *app.App
	// PerCall opens the ledger for each grant check and gives it back
	// after, instead of holding it for the backend's life: `nook mcp`,
	// which has no control socket, so that other nook commands (`nook apps
	// revoke`) can use the embedded chain between its calls.
	PerCall bool

	mu     sync.Mutex
	ledger *app.Ledger
	rel    func()
	tried  time.Time
	err    error
}

// New returns the backend over a; Close gives back the ledger it holds.
func New(a *app.App) *Backend { return &Backend{a: a} }

// Backend is what serve.New takes: every part of b.
func (b *Backend) Backend() serve.Backend {
	return serve.Backend{Models: b, Vault: vaultOf{b.a}, Grants: b, Apps: serve.NewRegistry(Secrets(b.a))}
}

// Close releases the ledger (stopping the embedded chain when nothing
// else uses it).
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rel != nil {
		b.rel()
		b.ledger, b.rel = nil, nil
	}
}

var (
	_ serve.Models = (*Backend)(nil)
	_ serve.Grants = (*Backend)(nil)
)

// List is what `nook models` lists.
func (b *Backend) List(ctx context.Context) ([]serve.ModelEntry, error) {
	st, err := b.a.Store()
	if err != nil {
		return nil, err
	}
	ms, err := st.List()
	if err != nil {
		return nil, err
	}
	out := make([]serve.ModelEntry, 0, len(ms))
	for _, m := range ms {
		out = append(out, entry(m, nil))
	}
	return out, nil
}

func entry(m *models.Model, info *models.Info) serve.ModelEntry {
	e := serve.ModelEntry{Name: m.Name.Short(), Size: m.Size}
	if fi, err := os.Stat(m.Path); err == nil {
		e.Modified = fi.ModTime()
	}
	if d := m.Path; strings.Contains(d, "sha256-") {
		e.Digest = d[strings.LastIndex(d, "sha256-")+len("sha256-"):]
	}
	if info == nil {
		info, _ = models.Inspect(m.Path)
	}
	if info != nil {
		e.Family, e.Quantization = info.Family, info.Quant
		e.Parameters = serve.ParamSize(info.Params)
	}
	return e
}

// Show reads the model's header and text layers.
func (b *Backend) Show(ctx context.Context, name string) (*serve.ModelDetails, error) {
	st, err := b.a.Store()
	if err != nil {
		return nil, err
	}
	d, err := st.Show(name)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", serve.ErrModelNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	md := &serve.ModelDetails{ModelEntry: entry(d.Model, d.Info), Path: d.Path, Template: d.Template, System: d.System, Params: d.Params, License: d.License}
	if d.Info != nil {
		md.ParameterCount, md.ContextLength, md.EmbeddingSize = d.Info.Params, int(d.Info.ContextLength), int(d.Info.EmbeddingLen)
		md.Embedding = embeddingOnly(name, d.Info)
	}
	return md, nil
}

// embeddingOnly: an encoder (BERT family) or a catalog embedding model.
func embeddingOnly(name string, info *models.Info) bool {
	if strings.Contains(info.Family, "bert") {
		return true
	}
	for _, c := range models.Catalog() {
		if c.Role == models.RoleEmbedding && (c.Name == name || strings.TrimSuffix(c.Name, ":latest") == name) {
			return true
		}
	}
	return false
}

// Acquire takes a reference to the named model's engine from the pool.
func (b *Backend) Acquire(ctx context.Context, name string) (engine.Engine, error) {
	e, err := b.a.Engine(ctx, name, models.RoleChat)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", serve.ErrModelNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Loaded is the pool's engines.
func (b *Backend) Loaded() []serve.LoadedModel {
	var out []serve.LoadedModel
	for _, l := range b.a.Pool().Loaded() {
		if l.Loading {
			continue
		}
		lm := serve.LoadedModel{Info: l.Info, Refs: l.Refs}
		if fi, err := os.Stat(l.Info.Path); err == nil {
			lm.Size = fi.Size()
		}
		out = append(out, lm)
	}
	return out
}

// DefaultChat is the configured (or installed default) chat model.
func (b *Backend) DefaultChat() string {
	s, err := b.a.Resolve("", models.RoleChat)
	if err != nil {
		return ""
	}
	return s.Name
}

// ledgerNow is the ledger and its release. Unless PerCall, it is held for
// the server's life (the embedded chain stays open while it serves) and
// release does nothing. A failure is retried after a few seconds.
func (b *Backend) ledgerNow(ctx context.Context) (*app.Ledger, func(), error) {
	if b.PerCall {
		return b.a.Ledger(ctx, true)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ledger != nil {
		return b.ledger, func() {}, nil
	}
	if b.err != nil && time.Since(b.tried) < 5*time.Second {
		return nil, nil, b.err
	}
	l, rel, err := b.a.Ledger(ctx, b.err != nil)
	b.tried, b.err = time.Now(), err
	if err != nil {
		return nil, nil, err
	}
	b.ledger, b.rel = l, rel
	return l, func() {}, nil
}

// Ledger is the ledger the server holds (for `nook apps` run while it
// serves, through serve's control socket).
func (b *Backend) Ledger(ctx context.Context) (*app.Ledger, error) {
	l, _, err := b.ledgerNow(ctx)
	return l, err
}

// CheckApp asks the ledger whether the identity granted app scope. A ledger
// that cannot be opened is ledgerclient.ErrUnreachable to the server.
func (b *Backend) CheckApp(ctx context.Context, a common.Address, scope string) (ledgerclient.Decision, error) {
	l, rel, err := b.ledgerNow(ctx)
	if err != nil {
		return ledgerclient.Decision{Reason: "no ledger"}, fmt.Errorf("%w: %w", ledgerclient.ErrUnreachable, err)
	}
	defer rel()
	return l.CheckApp(ctx, a, scope)
}

// AppScopes lists app's active grants.
func (b *Backend) AppScopes(ctx context.Context, a common.Address) ([]string, error) {
	l, rel, err := b.ledgerNow(ctx)
	if err != nil {
		return nil, err
	}
	defer rel()
	gs, now, err := l.AppGrants(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gs {
		if g.Plugin == a && g.Active(now) {
			out = append(out, g.Scope)
		}
	}
	return out, nil
}

// vaultOf hands each call the app's current vault handle.
type vaultOf struct{ a *app.App }

var _ serve.Vault = vaultOf{}

func with[T any](a *app.App, f func(v *vault.Vault) (T, error)) (T, error) {
	v, rel, err := a.Vault()
	if err != nil {
		var zero T
		return zero, err
	}
	defer rel()
	return f(v)
}

func (w vaultOf) Search(ctx context.Context, q string, o vault.SearchOptions) ([]vault.Hit, error) {
	return with(w.a, func(v *vault.Vault) ([]vault.Hit, error) { return v.Search(ctx, q, o) })
}

func (w vaultOf) Facts() ([]vault.Fact, error) {
	return with(w.a, func(v *vault.Vault) ([]vault.Fact, error) { return v.Facts() })
}

func (w vaultOf) Remember(text string) (vault.Fact, error) {
	return with(w.a, func(v *vault.Vault) (vault.Fact, error) { return v.Remember(text) })
}

func (w vaultOf) ListSources(tag string) ([]vault.SourceInfo, error) {
	return with(w.a, func(v *vault.Vault) ([]vault.SourceInfo, error) { return v.ListSources(tag) })
}

// Refresh catches up with other processes' writes.
func (w vaultOf) Refresh() error {
	_, err := with(w.a, func(v *vault.Vault) (struct{}, error) { return struct{}{}, v.Refresh() })
	return err
}

// Secrets is the app's vault as serve.Secrets (for the app registry), a
// handle per call.
func Secrets(a *app.App) serve.Secrets { return secrets{vaultOf{a}} }

type secrets struct{ vaultOf }

func (s secrets) PutSecret(name string, data []byte) error {
	_, err := with(s.a, func(v *vault.Vault) (struct{}, error) { return struct{}{}, v.PutSecret(name, data) })
	return err
}

func (s secrets) Secret(name string) ([]byte, error) {
	return with(s.a, func(v *vault.Vault) ([]byte, error) { return v.Secret(name) })
}

func (s secrets) DeleteSecret(name string) error {
	_, err := with(s.a, func(v *vault.Vault) (struct{}, error) { return struct{}{}, v.DeleteSecret(name) })
	return err
}

func (s secrets) SecretNames(prefix string) ([]string, error) {
	return with(s.a, func(v *vault.Vault) ([]string, error) { return v.SecretNames(prefix) })
}
