package app

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/internal/config"
)

// Spec names an engine: a local GGUF file, or a model on a server.
type Spec struct {
	// Name is what the model is called in Info and messages.
	Name string
	// Path is the GGUF file of a local engine.
	Path string
	// Remote is the server of a remote engine (nil: local).
	Remote *remote.Config
}

// Key identifies the engine a spec loads: specs of equal keys share one.
func (s Spec) Key() string {
	if s.Remote != nil {
		return "remote " + s.Remote.Kind + " " + s.Remote.URL + " " + s.Remote.Model
	}
	return "file " + s.Path
}

// Loader loads the engine a spec names. It may take long (seconds to
// minutes for a large model) and need not honour ctx.
type Loader func(ctx context.Context, s Spec) (engine.Engine, error)

// NewLoader is the loader New uses: llama.cpp in-process with the config's
// context length, threads and GPU layers, or engine/remote for [remote].
func NewLoader(cfg *config.Config) Loader {
	return func(ctx context.Context, s Spec) (engine.Engine, error) {
		if s.Remote != nil {
			return remote.New(*s.Remote)
		}
		slog.Debug("loading model", "path", s.Path)
		return llama.Open(s.Path, llamaOptions(cfg, s))
	}
}

func llamaOptions(cfg *config.Config, s Spec) llama.Options {
	return llama.Options{
		ContextLength: cfg.ContextLength,
		Threads:       cfg.Threads,
		GPULayers:     cfg.GPULayers,
		Mmap:          cfg.Mmap,
		Name:          s.Name,
	}
}

// concurrent is an engine that takes several chats at once itself
// (engine/llama.Parallel): the pool does not serialise it.
type concurrent interface{ Slots() int }

// Pool holds the loaded engines, one per [Spec.Key]. Callers take a
// reference with Acquire and give it back with [Engine.Close]; the first
// caller of a key starts the load, later callers wait for the same load
// (each may give up through its ctx), and the engine is unloaded when the
// last reference goes (after the keep-alive, if one is set). Chats (and
// embeddings) on a local engine run one at a time, in arrival order as
// far as the scheduler allows; remote engines and engines that batch
// chats themselves (ParallelLoader's) take them concurrently.
type Pool struct {
	load Loader
	keep time.Duration

	ctx    context.Context // of loads; cancelled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	entries map[string]*entry
	closed  bool
}

// PoolOption configures NewPool.
type PoolOption func(*Pool)

// KeepAlive keeps an engine loaded for d after its last reference goes
// (default 0: unload at once).
func KeepAlive(d time.Duration) PoolOption { return func(p *Pool) { p.keep = d } }

// NewPool returns an empty pool that loads engines with load.
func NewPool(load Loader, opts ...PoolOption) *Pool {
	p := &Pool{load: load, entries: map[string]*entry{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for _, o := range opts {
		o(p)
	}
	return p
}

type entry struct {
	pool  *Pool
	key   string
	spec  Spec
	ready chan struct{} // closed when the load ends
	eng   engine.Engine // set before ready closes, when the load worked
	err   error

	// Guarded by Pool.mu:
	refs   int
	unload bool // close when idle, whatever the keep-alive
	timer  *time.Timer
	closed bool

	// serial admits one chat or embedding at a time (nil: any number).
	serial gate
}

// reserve takes a reference on the key's entry, starting its load when
// there is none.
func (p *Pool) reserve(s Spec) (*entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	k := s.Key()
	if e, ok := p.entries[k]; ok {
		e.refs++
		if e.timer != nil {
			e.timer.Stop()
			e.timer = nil
		}
		return e, nil
	}
	e := &entry{pool: p, key: k, spec: s, ready: make(chan struct{}), refs: 1}
	if s.Remote == nil {
		e.serial = newGate()
	}
	p.entries[k] = e
	go p.loadEntry(e)
	return e, nil
}

func (p *Pool) loadEntry(e *entry) {
	eng, err := p.load(p.ctx, e.spec)
	if err == nil && eng == nil {
		err = fmt.Errorf("app: loading %s gave no engine", e.spec.Name)
	}
	p.mu.Lock()
	e.eng, e.err = eng, err
	if _, ok := eng.(concurrent); ok && err == nil {
		e.serial = nil
	}
	close(e.ready)
	var drop engine.Engine
	switch {
	case err != nil:
		// A failed load is not kept: the next caller tries again (the
		// file may have been fixed or pulled meanwhile).
		if p.entries[e.key] == e {
			delete(p.entries, e.key)
		}
		e.closed = true
	case p.closed:
		// The pool closed while it loaded.
		drop = p.detachLocked(e)
	case e.refs == 0:
		// Every waiter gave up while it loaded.
		drop = p.idleLocked(e)
	}
	p.mu.Unlock()
	if drop != nil {
		p.closeEngine(e, drop)
	}
}

// wait blocks until e has loaded or ctx ends.
func (p *Pool) wait(ctx context.Context, e *entry) (engine.Engine, error) {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.eng, nil
}

// release drops a reference taken by reserve.
func (p *Pool) release(e *entry) {
	p.mu.Lock()
	e.refs--
	var drop engine.Engine
	if e.refs == 0 && !e.closed {
		select {
		case <-e.ready:
			if e.err == nil {
				drop = p.idleLocked(e)
			}
		default: // still loading: loadEntry decides when it ends
		}
	}
	p.mu.Unlock()
	if drop != nil {
		p.closeEngine(e, drop)
	}
}

// idleLocked handles a loaded entry that lost its last reference: it
// returns the engine to close now, or arms the keep-alive timer.
func (p *Pool) idleLocked(e *entry) engine.Engine {
	if p.keep > 0 && !e.unload && !p.closed {
		e.timer = time.AfterFunc(p.keep, func() {
			p.mu.Lock()
			var drop engine.Engine
			if e.refs == 0 && !e.closed && e.timer != nil {
				drop = p.detachLocked(e)
			}
			p.mu.Unlock()
			if drop != nil {
				p.closeEngine(e, drop)
			}
		})
		return nil
	}
	return p.detachLocked(e)
}

// detachLocked takes e out of the pool and returns its engine to close.
func (p *Pool) detachLocked(e *entry) engine.Engine {
	if p.entries[e.key] == e {
		delete(p.entries, e.key)
	}
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.closed = true
	return e.eng
}

// closeEngine frees an engine once a chat still running on it has ended.
func (p *Pool) closeEngine(e *entry, eng engine.Engine) error {
	if e.serial != nil {
		e.serial.lock(context.Background())
		defer e.serial.unlock()
	}
	if err := eng.Close(); err != nil {
		return fmt.Errorf("app: unload %s: %w", e.spec.Name, err)
	}
	return nil
}

// Acquire returns a reference to the engine s names, loading it unless it
// is loaded or loading. If ctx ends first, Acquire returns ctx's error and
// the load goes on for the other callers (or is dropped when there are
// none). Close the Engine when done with it.
func (p *Pool) Acquire(ctx context.Context, s Spec) (*Engine, error) {
	e, err := p.reserve(s)
	if err != nil {
		return nil, err
	}
	return p.handle(ctx, e)
}

// handle waits for e and wraps the reference reserve took; on failure it
// gives the reference back.
func (p *Pool) handle(ctx context.Context, e *entry) (*Engine, error) {
	eng, err := p.wait(ctx, e)
	if err == nil {
		p.mu.Lock()
		if e.closed { // the pool closed meanwhile
			err = engine.ErrClosed
		}
		p.mu.Unlock()
	}
	if err != nil {
		p.release(e)
		return nil, err
	}
	h := &Engine{e: e, eng: eng}
	h.rel = sync.OnceFunc(func() { p.release(e) })
	return h, nil
}

// Unload frees the engine s names as soon as nobody uses it (at once when
// idle), ignoring the keep-alive. It reports whether s was loaded.
func (p *Pool) Unload(s Spec) bool {
	p.mu.Lock()
	e, ok := p.entries[s.Key()]
	var drop engine.Engine
	if ok {
		e.unload = true
		if e.refs == 0 {
			select {
			case <-e.ready:
				drop = p.detachLocked(e)
			default:
			}
		}
	}
	p.mu.Unlock()
	if drop != nil {
		p.closeEngine(e, drop)
	}
	return ok
}

// Loaded describes the engines in the pool (loaded or kept alive), by name.
func (p *Pool) Loaded() []LoadedEngine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []LoadedEngine
	for _, e := range p.entries {
		select {
		case <-e.ready:
			if e.err == nil {
				out = append(out, LoadedEngine{Info: e.eng.Info(), Refs: e.refs})
			}
		default:
			out = append(out, LoadedEngine{Info: engine.ModelInfo{Name: e.spec.Name, Path: e.spec.Path}, Loading: true, Refs: e.refs})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Name < out[j].Info.Name })
	return out
}

// LoadedEngine is a line of Pool.Loaded.
type LoadedEngine struct {
	Info    engine.ModelInfo
	Loading bool
	Refs    int
}

// Close frees every loaded engine, each after the chat running on it.
// A load in progress is not waited for (llama.cpp cannot stop one): its
// engine is freed when it ends. References still held then fail with
// engine.ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	var all []*entry
	for _, e := range p.entries {
		select {
		case <-e.ready:
			if !e.closed && e.err == nil {
				p.detachLocked(e)
				all = append(all, e)
			}
		default: // loadEntry frees it
		}
	}
	p.entries = map[string]*entry{}
	p.mu.Unlock()
	var errs []error
	for _, e := range all {
		errs = append(errs, p.closeEngine(e, e.eng))
	}
	return errors.Join(errs...)
}

// Engine is a reference to a pooled engine; it implements engine.Engine.
// Close gives the reference back (it does not unload a shared engine).
// Chat and Embed wait, honouring ctx, while another chat runs on an
// engine that takes one at a time.
type Engine struct {
	e    *entry
	eng  engine.Engine
	rel  func()
	done atomic.Bool
}

var _ engine.Engine = (*Engine)(nil)

// Chat streams the answer once the engine is free.
func (h *Engine) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		if h.done.Load() {
			yield(engine.Chunk{}, engine.ErrClosed)
			return
		}
		if s := h.e.serial; s != nil {
			if err := s.lock(ctx); err != nil {
				yield(engine.Chunk{}, err)
				return
			}
			defer s.unlock()
		}
		for c, err := range h.eng.Chat(ctx, req) {
			if !yield(c, err) {
				return
			}
		}
	}
}

// Embed runs between chats.
func (h *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return h.between(ctx, texts, h.eng.Embed)
}

// between runs embed once the engine is free of chats.
func (h *Engine) between(ctx context.Context, texts []string, embed func(context.Context, []string) ([][]float32, error)) ([][]float32, error) {
	if h.done.Load() {
		return nil, engine.ErrClosed
	}
	if s := h.e.serial; s != nil {
		if err := s.lock(ctx); err != nil {
			return nil, err
		}
		defer s.unlock()
	}
	return embed(ctx, texts)
}

// EmbedQuery embeds search queries with the model's query prefix when the
// engine knows one (engine/llama does; see vault.QueryEmbedder), and as
// documents otherwise.
func (h *Engine) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	q, ok := h.eng.(interface {
		EmbedQuery(context.Context, []string) ([][]float32, error)
	})
	if !ok {
		return h.Embed(ctx, texts)
	}
	return h.between(ctx, texts, q.EmbedQuery)
}

// Tokenize counts tokens with the model's vocabulary.
func (h *Engine) Tokenize(text string) ([]int, error) {
	if h.done.Load() {
		return nil, engine.ErrClosed
	}
	return h.eng.Tokenize(text)
}

// Info describes the model.
func (h *Engine) Info() engine.ModelInfo { return h.eng.Info() }

// Spec is what the engine was loaded from.
func (h *Engine) Spec() Spec { return h.e.spec }

// Ref returns another reference to the same engine, closed separately.
// The Ref of a closed reference is closed too.
func (h *Engine) Ref() *Engine {
	n := &Engine{e: h.e, eng: h.eng, rel: func() {}}
	if h.done.Load() {
		n.done.Store(true)
		return n
	}
	p := h.e.pool
	p.mu.Lock()
	h.e.refs++
	p.mu.Unlock()
	n.rel = sync.OnceFunc(func() { p.release(h.e) })
	return n
}

// Close gives the reference back; the engine is unloaded when it was the
// last one. It is safe to call twice.
func (h *Engine) Close() error {
	if h.done.CompareAndSwap(false, true) {
		h.rel()
	}
	return nil
}
