package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

// errWithoutEmbedder: the caller unlocked with WithoutEmbedder.
var errWithoutEmbedder = errors.New("app: unlocked without an embedder")

// vaultHandle is the unlocked vault with the embedder it was opened with.
type vaultHandle struct {
	v *vault.Vault
	// emb is the embedder's reservation in the pool (nil: lexical only).
	emb *entry
	// lexical says why there is no embedder (nil when there is one).
	lexical error
}

// VaultExists reports whether a vault was created under the home folder
// (`nook init`). It reads no secret and runs no scrypt.
func (a *App) VaultExists() bool {
	return a.RequireVault() == nil
}

// RequireVault fails, with the hint to run `nook init`, when there is no
// vault: commands call it before they load a model for nothing.
func (a *App) RequireVault() error {
	// With no passphrase, Open only reads the vault's plaintext header.
	v, err := vault.Open(a.cfg.VaultDir(), nil)
	if err == nil { // not reached: an empty passphrase never unlocks
		v.Close()
		return nil
	}
	if errors.Is(err, vault.ErrNotInitialized) {
		return hint.New(fmt.Errorf("vault: open %s: %w", a.cfg.VaultDir(), vault.ErrNotInitialized), "run `nook init` first")
	}
	return nil
}

// InitVault creates the vault with passphrase and makes it the app's
// unlocked vault (with no embedder: a new vault holds no documents).
func (a *App) InitVault(passphrase []byte, opts ...vault.Option) (*vault.Vault, func(), error) {
	v, err := vault.Init(a.cfg.VaultDir(), passphrase, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := a.setVault(&vaultHandle{v: v}); err != nil {
		return nil, nil, err
	}
	return a.Vault()
}

// UnlockOption changes what Unlock prepares.
type UnlockOption func(*unlockOptions)

type unlockOptions struct {
	noEmbedder bool
	lenient    bool
}

// WithoutEmbedder unlocks for records only (facts, sessions, secrets,
// status): no embedding model is loaded, and Search is lexical.
func WithoutEmbedder() UnlockOption { return func(o *unlockOptions) { o.noEmbedder = true } }

// EmbedderOptional unlocks even when the configured embedding model cannot
// be found: search is then lexical and SearchMode says why. Without it such
// a model is Unlock's error (with the hint to pull it).
func EmbedderOptional() UnlockOption { return func(o *unlockOptions) { o.lenient = true } }

// Unlock opens the vault with passphrase. scrypt runs while the embedding
// model loads (and while a chat model UseModel started loads): no lock is
// held across either. The embedder is the configured embedding model; with
// none configured, a local model usable for it (see Resolve); with none
// at all search is lexical only (SearchMode says so) and nothing is pulled.
// A second Unlock replaces the vault: the old handle closes after the
// operations in flight on it, and the ledger and plugin host reopen over
// the new one when next needed.
func (a *App) Unlock(ctx context.Context, passphrase []byte, opts ...UnlockOption) error {
	var o unlockOptions
	for _, f := range opts {
		f(&o)
	}
	if a.isClosed() {
		return ErrClosed
	}
	h := &vaultHandle{}
	vopts := []vault.Option{}
	if o.noEmbedder {
		h.lexical = errWithoutEmbedder
	} else {
		s, err := a.Resolve("", models.RoleEmbedding)
		switch {
		case err == nil:
			// The load starts now and runs while scrypt does.
			if h.emb, err = a.pool.reserve(s); err != nil {
				return err
			}
			name := a.cfg.EmbedModel
			if name == "" {
				name = s.Name
			}
			vopts = append(vopts, vault.WithEmbedder(&lazyEmbedder{e: h.emb}), vault.WithEmbedModel(name))
		case errors.Is(err, errNoEmbedder) || o.lenient:
			h.lexical = err
		default:
			return err
		}
	}
	v, err := vault.Open(a.cfg.VaultDir(), passphrase, vopts...)
	if err != nil {
		if h.emb != nil {
			a.pool.release(h.emb)
		}
		return err
	}
	for _, p := range v.Problems() {
		a.o.warn(p)
	}
	h.v = v
	return a.setVault(h)
}

// setVault makes h the app's vault, retiring the previous one.
func (a *App) setVault(h *vaultHandle) error {
	sh := newShared(h, func(h *vaultHandle) error {
		err := h.v.Close()
		if h.emb != nil {
			a.pool.release(h.emb)
		}
		return err
	})
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		sh.kill()
		return ErrClosed
	}
	old := a.vault
	a.vault = sh
	delete(a.told, "lexical")
	a.mu.Unlock()
	// What runs over the old vault (or failed for want of one) opens over
	// the new one when next needed.
	a.sync.reset()
	a.plugins.reset()
	a.ledger.reset()
	if old != nil {
		old.release()
	}
	return nil
}

// Vault returns the unlocked vault and the function to call when done with
// it (the vault stays open until then, even if it is replaced meanwhile).
// Before Unlock it fails with vault.ErrLocked and a hint.
func (a *App) Vault() (*vault.Vault, func(), error) {
	a.mu.Lock()
	sh := a.vault
	closed := a.closed
	a.mu.Unlock()
	switch {
	case closed:
		return nil, nil, ErrClosed
	case sh == nil || !sh.acquire():
		if err := a.RequireVault(); err != nil {
			return nil, nil, err
		}
		return nil, nil, hint.New(fmt.Errorf("vault: %s: %w", a.cfg.VaultDir(), vault.ErrLocked), "unlock it first: /unlock in the app, or NOOK_PASSPHRASE for commands")
	}
	return sh.val.v, sh.releaser(), nil
}

// Unlocked reports whether the vault is open.
func (a *App) Unlocked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.vault != nil && a.vault.alive()
}

// SearchMode says how the vault searches: nil for vectors and words, or
// the error (with its hint) saying why search is lexical only.
func (a *App) SearchMode() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.vault == nil {
		return nil
	}
	return a.vault.val.lexical
}

// lazyEmbedder is the vault's embedder while the model may still be
// loading: Embed waits for the load (or its ctx) first.
type lazyEmbedder struct{ e *entry }

var _ vault.QueryEmbedder = (*lazyEmbedder)(nil)

func (l *lazyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	h, err := l.view(ctx)
	if err != nil {
		return nil, err
	}
	return h.Embed(ctx, texts)
}

// EmbedQuery embeds search queries as queries (vault.QueryEmbedder).
func (l *lazyEmbedder) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	h, err := l.view(ctx)
	if err != nil {
		return nil, err
	}
	return h.EmbedQuery(ctx, texts)
}

// view waits for the model and returns a view of the reservation: the
// vault's handle owns the reference.
func (l *lazyEmbedder) view(ctx context.Context) (*Engine, error) {
	eng, err := l.e.pool.wait(ctx, l.e)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, hinted(fmt.Errorf("app: embedding model %s: %w", l.e.spec.Name, err),
			"fix or change embed_model in the config (or NOOK_EMBED_MODEL); `nook models` lists what is installed")
	}
	return &Engine{e: l.e, eng: eng}, nil
}

// FollowVault keeps the open vault up to date with what other nook
// processes write to it (`nook add` or `nook remember` in another shell):
// every interval it reads the log entries they appended, so searches,
// facts and sessions include them. For long-lived front ends (the terminal
// app); it runs until Close. Calling it again does nothing.
func (a *App) FollowVault(interval time.Duration) {
	a.following.Do(func() {
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-a.ctx.Done():
					return
				case <-t.C:
				}
				v, rel, err := a.Vault()
				if err != nil {
					continue // locked, or none yet
				}
				_ = v.Refresh() // what it cannot read is in v.Problems
				rel()
			}
		}()
	})
}
