package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/plugins"
)

// App is nook's running parts for one process: engines, vault, ledger,
// plugins. Its methods are safe for concurrent use; none holds a lock
// another caller waits on while it loads a model, runs scrypt or starts the
// chain.
type App struct {
	cfg  *config.Config
	o    options
	pool *Pool
	// ctx ends when the app closes: turns in flight stop.
	ctx    context.Context
	cancel context.CancelFunc

	storeOnce sync.Once
	// following: FollowVault's loop runs.
	following sync.Once
	store     *models.Store
	storeErr  error

	// The services, in the order Close ends them (sync comes next).
	sync    *service[*Sync]
	plugins *service[*plugins.Host]
	ledger  *service[*Ledger]

	mu      sync.Mutex // guards what follows; never held across slow work
	chat    *entry     // the chat model: a reservation in pool
	chatErr error      // why the last UseModel failed
	vault   *shared[*vaultHandle]
	pulling *PullEvent
	told    map[string]bool // notices already given
	pending []pendingNotice // notices the notice function could not show
	closed  bool
}

type options struct {
	loader       Loader
	poolOpts     []PoolOption
	storeOpts    []models.Option
	warn         func(error)
	pluginEvents func(plugins.Event)
	chain        ChainOpener
	notice       func(string) bool
}

// Option configures New.
type Option func(*options)

// WithLoader replaces how engines are loaded (default NewLoader(cfg)):
// tests count or slow down loads with it.
func WithLoader(l Loader) Option { return func(o *options) { o.loader = l } }

// WithPoolOptions configures the engine pool (KeepAlive).
func WithPoolOptions(opts ...PoolOption) Option {
	return func(o *options) { o.poolOpts = append(o.poolOpts, opts...) }
}

// WithStoreOptions are passed to models.Open after the config's own
// (tests give an HTTP client or a registry).
func WithStoreOptions(opts ...models.Option) Option {
	return func(o *options) { o.storeOpts = append(o.storeOpts, opts...) }
}

// WithWarnings sets where problems that do not stop anything go: a plugin
// whose manifest does not load, damaged vault files. Default: dropped. f
// must not block.
func WithWarnings(f func(error)) Option { return func(o *options) { o.warn = f } }

// WithNotices sets where one-time notices go (what a remote server
// receives, the first time nook uses it); f reports whether the person
// saw it. One it could not show (false: the terminal app owns the screen)
// comes with the next Turn's Notices instead. Default: none are given.
func WithNotices(f func(string) bool) Option { return func(o *options) { o.notice = f } }

// WithPluginEvents sets the function told about plugin starts, crashes,
// timeouts and refusals. It must not block.
func WithPluginEvents(f func(plugins.Event)) Option { return func(o *options) { o.pluginEvents = f } }

// WithChain replaces how the ledger's chain is reached (default: ledger.rpc,
// else the embedded chain under the home folder). Tests use a simulated
// chain.
func WithChain(c ChainOpener) Option { return func(o *options) { o.chain = c } }

// New returns the app for cfg. It does no I/O: every part opens on first
// need.
func New(cfg *config.Config, opts ...Option) *App {
	a := &App{cfg: cfg, told: map[string]bool{}}
	for _, f := range opts {
		f(&a.o)
	}
	if a.o.loader == nil {
		a.o.loader = NewLoader(cfg)
	}
	if a.o.chain == nil {
		a.o.chain = defaultChain(cfg)
	}
	if a.o.warn == nil {
		a.o.warn = func(error) {}
	}
	// keep_alive from the config comes first: an option a caller gave wins.
	poolOpts := a.o.poolOpts
	if d, err := cfg.KeepAliveDuration(); err == nil && d != 0 {
		if d < 0 {
			d = 100 * 365 * 24 * time.Hour // until nook exits
		}
		poolOpts = append([]PoolOption{KeepAlive(d)}, poolOpts...)
	}
	a.pool = NewPool(a.noticeLoader(a.o.loader), poolOpts...)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.ledger = newService("ledger", false, a.openLedger)
	a.sync = newService("sync", true, a.openSync)
	a.plugins = newService("plugins", true, a.openPlugins)
	return a
}

// Config is the app's config.
func (a *App) Config() *config.Config { return a.cfg }

// Pool is the app's engine pool.
func (a *App) Pool() *Pool { return a.pool }

// Close ends everything the app opened, in order: turns in flight, the
// plugin host, the ledger, the vault (saving its index snapshot), the
// engines. It is safe to call twice.
func (a *App) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	chat, v := a.chat, a.vault
	a.chat, a.vault = nil, nil
	a.mu.Unlock()
	a.cancel()
	errs := []error{a.sync.close(), a.plugins.close(), a.ledger.close()}
	if v != nil {
		errs = append(errs, v.kill())
	}
	if chat != nil {
		a.pool.release(chat)
	}
	errs = append(errs, a.pool.Close())
	return errors.Join(errs...)
}

func (a *App) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// bind returns a context that also ends when the app closes.
func (a *App) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(a.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// noticeOnce returns s the first time key is told, "" after.
func (a *App) noticeOnce(key, s string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.told[key] {
		return ""
	}
	a.told[key] = true
	return s
}

// UseModel makes name the chat model (a model name or GGUF path; "" the
// configured one, see Resolve) and starts loading it in the background; it
// returns once the name is resolved (and, with PullIfMissing, pulled).
// ChatModel waits for the load. The previous chat model is unloaded when
// nothing else uses it.
func (a *App) UseModel(ctx context.Context, name string, opts ...ModelOption) error {
	s, err := a.resolveChat(ctx, name, opts)
	if err != nil {
		a.mu.Lock()
		a.chatErr = err
		a.mu.Unlock()
		return err
	}
	e, err := a.pool.reserve(s)
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.pool.release(e)
		return ErrClosed
	}
	old := a.chat
	a.chat, a.chatErr = e, nil
	a.mu.Unlock()
	if old != nil {
		a.pool.release(old)
	}
	return nil
}

// ChatModel returns a reference to the chat model once it has loaded
// (selecting the configured model first when UseModel was not called).
// Close it when done.
func (a *App) ChatModel(ctx context.Context) (*Engine, error) {
	a.mu.Lock()
	e := a.chat
	if e != nil {
		// a.chat holds a reference, so e is open: take ours before a
		// concurrent UseModel can drop it.
		a.pool.mu.Lock()
		e.refs++
		a.pool.mu.Unlock()
	}
	a.mu.Unlock()
	if e == nil {
		if err := a.UseModel(ctx, ""); err != nil {
			return nil, err
		}
		return a.ChatModel(ctx)
	}
	h, err := a.pool.handle(ctx, e)
	if err != nil && ctx.Err() == nil {
		a.mu.Lock()
		if a.chat == e {
			a.chatErr = err
		}
		a.mu.Unlock()
	}
	return h, err
}

// LoadModel makes name the chat model and returns when it is ready.
// Info().Name is the name to show. The model in use stays the chat model
// until the new one has loaded: a name that is not found, or a file that
// does not load, leaves it working.
func (a *App) LoadModel(ctx context.Context, name string, opts ...ModelOption) (engine.ModelInfo, error) {
	a.mu.Lock()
	had := a.chat != nil
	a.mu.Unlock()
	if !had {
		if err := a.UseModel(ctx, name, opts...); err != nil {
			return engine.ModelInfo{}, err
		}
		h, err := a.ChatModel(ctx)
		if err != nil {
			return engine.ModelInfo{}, err
		}
		defer h.Close()
		return modelInfo(h), nil
	}
	s, err := a.resolveChat(ctx, name, opts)
	if err != nil {
		return engine.ModelInfo{}, err
	}
	h, err := a.pool.Acquire(ctx, s)
	if err != nil {
		return engine.ModelInfo{}, err
	}
	defer h.Close()
	// Loaded: now it replaces the old one (resolving again finds it
	// installed; the pool shares the loaded engine).
	if err := a.UseModel(ctx, name, opts...); err != nil {
		return engine.ModelInfo{}, err
	}
	return modelInfo(h), nil
}

func modelInfo(h *Engine) engine.ModelInfo {
	info := h.Info()
	if info.Name == "" || strings.ContainsRune(info.Name, filepath.Separator) {
		info.Name = strings.TrimSuffix(filepath.Base(info.Path), ".gguf")
	}
	return info
}

// Engine returns a reference to the engine of a model for the role
// (models.RoleChat or models.RoleEmbedding; name "" = the configured one),
// loading it or sharing the loaded one. It does not change the app's chat
// model. Close it when done.
func (a *App) Engine(ctx context.Context, name, role string, opts ...ModelOption) (*Engine, error) {
	var s Spec
	var err error
	if role == models.RoleEmbedding {
		s, err = a.Resolve(name, role)
	} else {
		s, err = a.resolveChat(ctx, name, opts)
	}
	if err != nil {
		return nil, err
	}
	return a.pool.Acquire(ctx, s)
}

// hinted wraps err with h unless it already carries a hint.
func hinted(err error, h string) error {
	if err == nil || hint.Of(err) != "" {
		return err
	}
	return hint.New(err, h)
}
