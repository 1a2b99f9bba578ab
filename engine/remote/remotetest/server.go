package remotetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/nook-ai/nook/engine/enginetest"
)

// Server is a model server on loopback. Set its fields before the first
// request.
type Server struct {
	*httptest.Server
	// Model answers the chats and embeddings; its Info says what the
	// server reports about the model (capabilities, lengths).
	Model *enginetest.Engine
	// Name is the one model the server has; requests for others get 404.
	Name string
	// APIKey, if set, is the bearer token the OpenAI-compatible server
	// requires.
	APIKey string
	// Parameters is what Ollama's /api/show reports as the Modelfile's
	// parameters ("num_ctx 8192").
	Parameters string
	// Scale multiplies every embedding on the wire (default 3): servers
	// need not normalise, so clients must.
	Scale float32

	mu       sync.Mutex
	requests []Request
	gate     chan struct{}
}

// Request is a request the server received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// JSON decodes the body into a generic value (nil if it is not JSON).
func (r Request) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

func newServer(t testing.TB, m *enginetest.Engine, name string, route func(s *Server, w http.ResponseWriter, r *http.Request, body []byte)) *Server {
	t.Helper()
	s := &Server{Model: m, Name: name, Scale: 3}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		gate := s.gate
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		route(s, w, r, body)
	}))
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many requests the server has received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// To returns the requests to path, oldest first.
func (s *Server) To(path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Stall makes the server hold every request it receives, without an
// answer, until release is called (once or more) or the client gives up.
func (s *Server) Stall() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == gate {
				s.gate = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

func (s *Server) scale(vecs [][]float32) [][]float32 {
	for _, v := range vecs {
		for i := range v {
			v[i] *= s.Scale
		}
	}
	return vecs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// texts reads an embedding input: a string or a list of strings.
func texts(in any) ([]string, bool) {
	switch v := in.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}
