package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultAddr is where `nook serve` listens unless told otherwise: loopback
// only, one port above Ollama's.
const DefaultAddr = "127.0.0.1:11435"

// Apps finds the app a key belongs to (a *Registry).
type Apps interface {
	Lookup(key string) (App, error)
}

var _ Apps = (*Registry)(nil)

// Backend is what the server serves. Models is required; without Vault,
// Grants or Apps the parts that need them answer with an error that says
// so.
type Backend struct {
	Models Models
	Vault  Vault
	Grants Grants
	Apps   Apps
}

// Options tune the server. Zero values take the defaults noted.
type Options struct {
	// Addr is the address the server is bound to (default DefaultAddr).
	// Bound to anything but loopback, every request needs an app key.
	Addr string
	// Open lists what keyless clients on this machine may do: "chat",
	// "embed" (default none). Ignored when Addr is not loopback. The vault
	// is never open.
	Open []string
	// MaxBody caps a request body in bytes (default 8 MiB).
	MaxBody int64
	// MaxTokens caps the tokens one answer may generate (default 8192).
	MaxTokens int
	// MaxOutput caps the bytes of one answer's text (default 1 MiB).
	MaxOutput int
	// MaxQueue caps the requests running on or waiting for a model at
	// once; more are refused with 503 (default 512).
	MaxQueue int
	// MaxInputs caps the texts of one embedding request (default 2048).
	MaxInputs int
	// Sources is how many vault chunks a vault-aware answer gets by default
	// (default 5).
	Sources int
	// Version is nook's version, for /api/version's "nook" field.
	Version string
	// Log receives one line per request that failed (default: discard).
	Log *slog.Logger
}

// Server serves the OpenAI and Ollama HTTP APIs and MCP over the models,
// the vault and the grants of a Backend.
type Server struct {
	o        Options
	models   Models
	vault    Vault
	grants   Grants
	apps     Apps
	addr     string
	loopback bool
	open     []string
	inflight atomic.Int64
	// refreshed is when the vault last caught up (unix nanoseconds).
	refreshed atomic.Int64
	log       *slog.Logger
	handler   http.Handler
	methods   map[string][]string // by path, for 405s
}

// New checks the options and returns a server; nothing listens until
// Serve.
func New(b Backend, o Options) (*Server, error) {
	if b.Models == nil {
		return nil, errors.New("serve: no models")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("serve: address %q: %w", o.Addr, err)
	}
	for _, sc := range o.Open {
		if sc != ScopeChat && sc != ScopeEmbed {
			return nil, fmt.Errorf("serve: open: %q cannot be opened to keyless clients (only chat and embed)", sc)
		}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	def(&o.MaxTokens, 8192)
	def(&o.MaxOutput, 1<<20)
	def(&o.MaxQueue, 512)
	def(&o.MaxInputs, 2048)
	def(&o.Sources, 5)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, models: b.Models, vault: b.Vault, grants: b.Grants, apps: b.Apps, addr: o.Addr, log: o.Log}
	s.loopback = isLoopbackHost(host)
	if s.loopback {
		s.open = slices.Clone(o.Open)
	}
	s.handler = s.routes()
	return s, nil
}

// isLoopbackHost: "localhost", 127.x.y.z or ::1 (not "" or 0.0.0.0, which
// listen on every interface).
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the address the server is to listen on (Options.Addr or
// DefaultAddr).
func (s *Server) Addr() string { return s.addr }

func (s *Server) keysRequired() bool { return !s.loopback }

// Banner says, in a few lines for the terminal, where the server listens,
// what it serves and who may use it.
func (s *Server) Banner(addr string) []string {
	lines := []string{
		fmt.Sprintf("nook serve: listening on http://%s", addr),
		fmt.Sprintf("  OpenAI:  http://%s/v1   Ollama: OLLAMA_HOST=%s   MCP: http://%s/mcp", addr, addr, addr),
	}
	switch {
	case s.keysRequired():
		lines = append(lines, "  not bound to loopback: every request needs an app key (Authorization: Bearer KEY); keyless requests are refused")
	case len(s.open) > 0:
		lines = append(lines, fmt.Sprintf("  keyless clients on this machine may: %s; everything else needs an app key", strings.Join(s.open, ", ")))
	default:
		lines = append(lines, "  every request needs an app key (`nook apps add NAME`); keyless chat on this machine: serve.open = [\"chat\", \"embed\"]")
	}
	return lines
}

// Handler is the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on ln until ctx ends, then stops accepting,
// cancels the requests in flight (their generations stop) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
		case <-done:
		}
	}()
	err := hs.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// admit counts a request that will run on a model; past MaxQueue it is
// refused.
func (s *Server) admit() error {
	if n := s.inflight.Add(1); n > int64(s.o.MaxQueue) {
		s.inflight.Add(-1)
		return errBusy(s.o.MaxQueue)
	}
	return nil
}

func (s *Server) leave() { s.inflight.Add(-1) }

// ollamaVersion is the version of the Ollama API served: the ollama module
// nook is built with.
func ollamaVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/ollama/ollama" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "0.0.0"
}

// mux is http.ServeMux that remembers which methods each path takes, so
// that the catch-all can answer 405 rather than 404.
type mux struct {
	*http.ServeMux
	methods map[string][]string
}

func (m *mux) HandleFunc(pattern string, h http.HandlerFunc) {
	if method, path, ok := strings.Cut(pattern, " "); ok && !strings.Contains(path, "{") {
		m.methods[path] = append(m.methods[path], method)
	}
	m.ServeMux.HandleFunc(pattern, h)
}

func (s *Server) routes() http.Handler {
	mux := &mux{ServeMux: http.NewServeMux(), methods: map[string][]string{}}
	s.methods = mux.methods
	// Ollama.
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("HEAD /{$}", s.root)
	mux.HandleFunc("GET /api/version", s.ollamaVersion)
	mux.HandleFunc("HEAD /api/version", s.ollamaVersion)
	mux.HandleFunc("GET /api/tags", s.ollamaTags)
	mux.HandleFunc("POST /api/show", s.ollamaShow)
	mux.HandleFunc("GET /api/ps", s.ollamaPS)
	mux.HandleFunc("POST /api/chat", s.ollamaChat)
	mux.HandleFunc("POST /api/generate", s.ollamaGenerate)
	mux.HandleFunc("POST /api/embed", s.ollamaEmbed)
	mux.HandleFunc("POST /api/embeddings", s.ollamaEmbeddings)
	for _, p := range []string{"POST /api/pull", "POST /api/push", "POST /api/create", "DELETE /api/delete", "POST /api/copy", "POST /api/blobs/{digest}", "HEAD /api/blobs/{digest}"} {
		mux.HandleFunc(p, s.ollamaManage)
	}
	// OpenAI.
	mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	mux.HandleFunc("POST /v1/completions", s.openaiCompletions)
	mux.HandleFunc("POST /v1/embeddings", s.openaiEmbeddings)
	mux.HandleFunc("GET /v1/models", s.openaiModels)
	mux.HandleFunc("GET /v1/models/{model...}", s.openaiModel)
	// MCP (streamable HTTP), with an app key.
	mux.Handle("/mcp", s.mcpHandler())
	mux.HandleFunc("/", s.notFound)

	var h http.Handler = mux
	h = s.identified(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = s.hostCheck(h)
	h = s.recovered(h)
	return h
}

// identified reads the caller (the app key) into the request's context and
// caps the body.
func (s *Server) identified(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBody)
		if r.URL.Path == "/mcp" {
			next.ServeHTTP(w, r) // MCP reads its bearer token itself
			return
		}
		c, err := s.identify(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withCaller(r.Context(), c)))
	})
}

// hostCheck refuses, on a loopback server, requests whose Host is not a
// loopback name: a web page that rebinds its own DNS name to 127.0.0.1
// must not reach the server.
func (s *Server) hostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.loopback {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.Trim(host, "[]")
			if !isLoopbackHost(host) {
				s.writeError(w, r, &apiError{Status: http.StatusForbidden, Msg: fmt.Sprintf("host %q is not this machine's loopback name", r.Host),
					Hint: "connect to 127.0.0.1 or localhost", Type: "permission_error", Code: "bad_host"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recovered turns a panic in a handler into a 500 for that request; the
// server stays up.
func (s *Server) recovered(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("serve: panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("internal error: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	fmt.Fprintln(w, "nook is running (OpenAI and Ollama APIs, MCP at /mcp)")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if ms := s.methods[r.URL.Path]; len(ms) > 0 {
		w.Header().Set("Allow", strings.Join(ms, ", "))
		s.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Msg: fmt.Sprintf("%s takes %s, not %s", r.URL.Path, strings.Join(ms, " or "), r.Method),
			Type: "invalid_request_error", Code: "method_not_allowed"})
		return
	}
	s.writeError(w, r, &apiError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path),
		Hint: "see docs/serve.md for the endpoints nook serves", Type: "invalid_request_error", Code: "unknown_url"})
}

// writeError answers with err in the shape of the API the path belongs to.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asAPIError(err)
	if e.Status >= 500 {
		s.log.Warn("serve: request failed", "path", r.URL.Path, "status", e.Status, "err", e.Error())
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		writeOpenAIError(w, e)
		return
	}
	// Ollama's clients take a 401 for "sign in to ollama.com" and say only
	// that; a missing or unknown key is a 403 there, with its message.
	status := e.Status
	if status == http.StatusUnauthorized {
		status = http.StatusForbidden
	}
	writeJSON(w, status, map[string]string{"error": e.Error()})
}
