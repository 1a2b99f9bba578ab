package remote

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
)

// Config selects the server.
type Config struct {
	Kind   string // "ollama" or "openai"
	URL    string // base URL: http://host:11434, https://host/v1
	APIKey string // sent as a bearer token (openai)
	Model  string
	// HTTPClient, if set, is used for every request (tests, proxies).
	HTTPClient *http.Client
	// ContextLength, if set, is the context the model runs with: it is sent
	// to Ollama as num_ctx with every request and reported by Info. Unset,
	// Info reports what the server says: for Ollama the model's num_ctx
	// parameter, else its trained length capped at 4096 (Ollama's smallest
	// default, so prompts built to fit never get cut by the server); for an
	// OpenAI-compatible server the length its model list gives, if any.
	ContextLength int
	// ProbeTimeout bounds New's question to the server about the model
	// (default 5s).
	ProbeTimeout time.Duration
	// Strict makes New fail with a *ProbeError when the server cannot be
	// asked about the model. By default New succeeds anyway, Info reports
	// what the config says, and the next Chat or Embed asks again.
	Strict bool
	// AllowHTTP allows an http:// URL to a host other than this machine's
	// loopback (refused by default: ErrPlainHTTP).
	AllowHTTP bool
}

// Engine is a remote model. Info is answered from what New (or a later
// retry) learned from the server; it never makes a request.
type Engine struct {
	cfg    Config
	base   *url.URL
	http   *http.Client
	ownsHC bool
	ollama *api.Client

	info   atomic.Pointer[engine.ModelInfo]
	closed atomic.Bool

	probeMu  sync.Mutex
	probed   atomic.Bool // the server answered the probe (even with an error status)
	probeErr error       // the last probe's failure, under probeMu
}

var _ engine.Engine = (*Engine)(nil)

// ProbeError is New's error, with Config.Strict, when the server did not
// tell it about the model.
type ProbeError struct {
	Kind, Host, Model string
	Err               error
}

func (e *ProbeError) Error() string {
	return fmt.Sprintf("remote: %s server %s: model %q: %v", e.Kind, e.Host, e.Model, e.Err)
}

func (e *ProbeError) Unwrap() error { return e.Err }

// New checks the config and asks the server about the model (its context
// length, embedding size and capabilities), waiting at most
// Config.ProbeTimeout. If the server does not answer, New still succeeds
// unless Config.Strict is set; ProbeErr says what went wrong.
func New(cfg Config) (*Engine, error) {
	if cfg.Model == "" {
		return nil, hint.New(errors.New("remote: no model named"), "set remote.model in the config, or pass -m NAME")
	}
	if cfg.URL == "" {
		switch cfg.Kind {
		case "ollama":
			cfg.URL = "http://127.0.0.1:11434"
		default:
			return nil, hint.New(fmt.Errorf("remote: %s: no URL", cfg.Kind), "set remote.url in the config")
		}
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hint.New(fmt.Errorf("remote: bad URL %q", cfg.URL), "use http://HOST:PORT or https://HOST/PATH")
	}
	if err := checkTransport(u, cfg.AllowHTTP); err != nil {
		return nil, err
	}
	if cfg.ContextLength < 0 {
		return nil, hint.New(fmt.Errorf("remote: context length %d", cfg.ContextLength), "set remote.context_length to a positive number of tokens, or leave it out")
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 5 * time.Second
	}
	e := &Engine{cfg: cfg, base: u, http: cfg.HTTPClient}
	if e.http == nil {
		e.http, e.ownsHC = &http.Client{}, true // streams can be long; contexts bound them
	}
	switch cfg.Kind {
	case "ollama":
		e.ollama = api.NewClient(u, e.http)
	case "openai":
	default:
		return nil, hint.New(fmt.Errorf("remote: unknown kind %q", cfg.Kind), `set remote.kind to "ollama" or "openai"`)
	}
	info := e.defaultInfo()
	e.info.Store(&info)
	if err := e.probe(context.Background()); err != nil && cfg.Strict {
		return nil, hint.New(&ProbeError{Kind: cfg.Kind, Host: u.Host, Model: cfg.Model, Err: err},
			"check that the server is running and that remote.url and remote.model in the config are right")
	}
	return e, nil
}

// defaultInfo is what the config alone says.
func (e *Engine) defaultInfo() engine.ModelInfo {
	caps := engine.CapChat | engine.CapEmbed | engine.CapFormat
	if e.ollama == nil {
		caps |= engine.CapTools // part of the chat completions API itself
	}
	return engine.ModelInfo{
		Name: e.cfg.Model, Backend: "remote " + e.cfg.Kind + " " + e.base.Host,
		ContextLength: e.cfg.ContextLength, Capabilities: caps,
	}
}

// Info describes the remote model from what the server said when asked;
// it makes no request.
func (e *Engine) Info() engine.ModelInfo { return *e.info.Load() }

// ProbeErr is why the server could not be asked about the model, or nil
// once it has answered.
func (e *Engine) ProbeErr() error {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	return e.probeErr
}

// probe asks the server about the model and stores what it says.
func (e *Engine) probe(ctx context.Context) error {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	if e.probed.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ProbeTimeout)
	defer cancel()
	info := e.defaultInfo()
	var answered bool
	var err error
	if e.ollama != nil {
		answered, err = e.showOllama(ctx, &info)
	} else {
		answered, err = e.listOpenAI(ctx, &info)
	}
	e.probeErr = err
	if answered {
		e.info.Store(&info)
		e.probed.Store(true)
	}
	return err
}

// reprobe asks again before a request when the server has not answered
// yet (it was down when New ran).
func (e *Engine) reprobe(ctx context.Context) {
	if !e.probed.Load() {
		_ = e.probe(ctx) // the request that follows reports the failure
	}
}

// Tokenize estimates tokens: servers do not expose their tokenizer, so it
// returns one placeholder id per ~4 bytes of text (rounded up) — enough
// for prompt budgets, which is all nook uses it for with a remote model.
// Info's capabilities lack CapTokenize for that reason.
func (e *Engine) Tokenize(text string) ([]int, error) {
	if e.closed.Load() {
		return nil, engine.ErrClosed
	}
	return make([]int, (len(text)+3)/4), nil
}

// Close makes later calls fail with engine.ErrClosed; a chat already
// streaming runs to its end.
func (e *Engine) Close() error {
	if !e.closed.Swap(true) && e.ownsHC {
		e.http.CloseIdleConnections()
	}
	return nil
}

func (e *Engine) unreachable(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	var se api.StatusError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("remote: %w", err)
	case errors.As(err, &ue):
		return hint.New(fmt.Errorf("remote: %s: %w", e.base.Host, err), "check that the server is running and remote.url in the config")
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		return hint.New(fmt.Errorf("remote: %s: %w", e.base.Host, err), fmt.Sprintf("run `ollama pull %s` on the server, or check remote.model in the config", e.cfg.Model))
	}
	return fmt.Errorf("remote: %w", err)
}

// Chat streams the answer from the server.
func (e *Engine) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		switch {
		case e.closed.Load():
			yield(engine.Chunk{}, engine.ErrClosed)
			return
		case len(req.Messages) == 0:
			yield(engine.Chunk{}, errors.New("remote: chat: no messages"))
			return
		case ctx.Err() != nil:
			yield(engine.Chunk{}, ctx.Err())
			return
		}
		e.reprobe(ctx)
		if e.ollama != nil {
			e.chatOllama(ctx, req, yield)
		} else {
			e.chatOpenAI(ctx, req, yield)
		}
	}
}

// Embed returns L2-normalised vectors from the server.
func (e *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	switch {
	case e.closed.Load():
		return nil, engine.ErrClosed
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case len(texts) == 0:
		return [][]float32{}, nil
	}
	e.reprobe(ctx)
	var out [][]float32
	var err error
	if e.ollama != nil {
		out, err = e.embedOllama(ctx, texts)
	} else {
		out, err = e.embedOpenAI(ctx, texts)
	}
	if err != nil {
		return nil, err
	}
	if len(out) != len(texts) {
		return nil, fmt.Errorf("remote: embed: %d vectors for %d texts", len(out), len(texts))
	}
	for i, v := range out {
		if len(v) == 0 {
			return nil, fmt.Errorf("remote: embed: no vector for text %d", i)
		}
		out[i] = engine.Normalize(v)
	}
	return out, nil
}

// errStop ends a stream the consumer left.
var errStop = errors.New("consumer stopped")
