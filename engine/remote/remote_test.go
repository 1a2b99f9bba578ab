package remote_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/engine/remote/remotetest"
	"github.com/nook-ai/nook/internal/hint"
)

// toolModel is a scripted model that can call tools.
func toolModel() *enginetest.Engine {
	m := enginetest.New()
	m.Model.Capabilities |= engine.CapTools
	return m
}

func open(t *testing.T, cfg remote.Config) *remote.Engine {
	t.Helper()
	e, err := remote.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestRemoteEnginesKeepTheEngineContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(testing.TB, *enginetest.Engine, string) *remotetest.Server
		cfg   func(url string) remote.Config
	}{
		{"against an Ollama server", remotetest.NewOllama, func(u string) remote.Config {
			return remote.Config{Kind: "ollama", URL: u, Model: "stories:260k", Strict: true}
		}},
		{"against an OpenAI-compatible server", remotetest.NewOpenAI, func(u string) remote.Config {
			return remote.Config{Kind: "openai", URL: u + "/v1", Model: "stories:260k", Strict: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *remotetest.Server
			enginetest.Run(t, func(t *testing.T) engine.Engine {
				srv = tc.serve(t, toolModel(), "stories:260k")
				return open(t, tc.cfg(srv.URL))
			}, enginetest.Options{
				Want:      engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTools,
				ToolCalls: true,
				Backend:   func() int { return srv.Count() },
				Stall:     func() func() { return srv.Stall() },
			})
		})
	}
}

func TestOllamaInfoComesFromShowAtNew(t *testing.T) {
	t.Parallel()
	m := enginetest.New()
	m.Model.TrainedLength, m.Model.EmbeddingSize, m.Model.Architecture = 131072, 3072, "llama"
	srv := remotetest.NewOllama(t, m, "llama3.2")
	e := open(t, remote.Config{Kind: "ollama", URL: srv.URL, Model: "llama3.2"})
	if n := len(srv.To("/api/show")); n != 1 {
		t.Fatalf("%d show requests at New, want 1", n)
	}
	info := e.Info()
	// Without num_ctx anywhere, the context is Ollama's smallest default,
	// not the trained 131072 the server would silently cut prompts to.
	if info.ContextLength != 4096 || info.TrainedLength != 131072 || info.EmbeddingSize != 3072 || info.Architecture != "llama" || info.Quantization != "F32" {
		t.Fatalf("info %+v", info)
	}
	if info.Capabilities != engine.CapChat|engine.CapEmbed|engine.CapFormat {
		t.Fatalf("capabilities %q: the model has no tools capability", info.Capabilities)
	}
	if !strings.Contains(info.Backend, "remote ollama 127.0.0.1:") {
		t.Fatalf("backend %q", info.Backend)
	}
	if e.ProbeErr() != nil {
		t.Fatal(e.ProbeErr())
	}
}

func TestTheContextLengthComesFromTheModelfileOrTheConfig(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewOllama(t, enginetest.New(), "m")
	srv.Parameters = "stop                           \"<|im_end|>\"\nnum_ctx                        8192"
	if n := open(t, remote.Config{Kind: "ollama", URL: srv.URL, Model: "m"}).Info().ContextLength; n != 8192 {
		t.Fatalf("context %d, want the Modelfile's 8192", n)
	}
	e := open(t, remote.Config{Kind: "ollama", URL: srv.URL, Model: "m", ContextLength: 2048})
	if n := e.Info().ContextLength; n != 2048 {
		t.Fatalf("context %d, want the config's 2048", n)
	}
	for range e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}, Options: engine.Options{NumPredict: 2}}) {
	}
	chats := srv.To("/api/chat")
	if opts := chats[len(chats)-1].JSON()["options"].(map[string]any); opts["num_ctx"] != float64(2048) {
		t.Fatalf("options sent %v, want num_ctx 2048", opts)
	}
}

func TestOpenAIInfoComesFromTheModelList(t *testing.T) {
	t.Parallel()
	m := enginetest.New()
	m.Model.TrainedLength, m.Model.EmbeddingSize = 32768, 1024
	srv := remotetest.NewOpenAI(t, m, "qwen")
	srv.APIKey = "sk-test"
	e := open(t, remote.Config{Kind: "openai", URL: srv.URL, APIKey: "sk-test", Model: "qwen"})
	info := e.Info()
	if info.ContextLength != 32768 || info.EmbeddingSize != 1024 || !info.Capabilities.Has(engine.CapTools|engine.CapChat|engine.CapEmbed) || info.Capabilities.Has(engine.CapTokenize) {
		t.Fatalf("info %+v (capabilities %q)", info, info.Capabilities)
	}
	if got := srv.To("/v1/models")[0].Header.Get("Authorization"); got != "Bearer sk-test" {
		t.Fatalf("authorization %q", got)
	}
}

func TestAServerThatIsDownAtNew(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	for _, kind := range []string{"ollama", "openai"} {
		t.Run("is refused with a ProbeError when strict ("+kind+")", func(t *testing.T) {
			t.Parallel()
			_, err := remote.New(remote.Config{Kind: kind, URL: down.URL, Model: "m", Strict: true})
			var pe *remote.ProbeError
			if !errors.As(err, &pe) || pe.Model != "m" || hint.Of(err) == "" {
				t.Fatalf("err = %v (hint %q), want a *ProbeError with a hint", err, hint.Of(err))
			}
		})
		t.Run("is asked again at the next chat otherwise ("+kind+")", func(t *testing.T) {
			t.Parallel()
			srv := serve(kind)(t, toolModel(), "m")
			net := &switchable{}
			net.down.Store(true)
			e := open(t, remote.Config{Kind: kind, URL: srv.URL, Model: "m", HTTPClient: &http.Client{Transport: net}})
			if e.ProbeErr() == nil || hint.Of(e.ProbeErr()) == "" {
				t.Fatalf("probe error %v, want one with a hint", e.ProbeErr())
			}
			if kind == "ollama" && e.Info().Capabilities.Has(engine.CapTools) {
				t.Fatal("tools claimed for an Ollama model nobody has seen")
			}
			net.down.Store(false)
			for _, err := range e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}, Options: engine.Options{NumPredict: 2}}) {
				if err != nil {
					t.Fatal(err)
				}
			}
			if info := e.Info(); e.ProbeErr() != nil || !info.Capabilities.Has(engine.CapTools) || info.EmbeddingSize != 32 {
				t.Fatalf("after the server came up: probe error %v, info %+v", e.ProbeErr(), info)
			}
			// Once the server has answered, it is not asked again.
			for range e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}, Options: engine.Options{NumPredict: 2}}) {
			}
			if n := len(srv.To("/api/show")) + len(srv.To("/v1/models")); n != 1 {
				t.Fatalf("%d probes reached the server, want 1", n)
			}
		})
	}
}

// switchable is a transport that fails like a server that is down until
// down is cleared.
type switchable struct{ down atomic.Bool }

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.down.Load() {
		return nil, errors.New("dial tcp: connect: connection refused")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func serve(kind string) func(testing.TB, *enginetest.Engine, string) *remotetest.Server {
	if kind == "ollama" {
		return remotetest.NewOllama
	}
	return remotetest.NewOpenAI
}

func TestServerErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	keyed := remotetest.NewOpenAI(t, enginetest.New(), "m")
	keyed.APIKey = "sk-right"
	ollama := remotetest.NewOllama(t, enginetest.New(), "m")
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name string
		cfg  remote.Config
		says string
	}{
		{"a rejected key", remote.Config{Kind: "openai", URL: keyed.URL, Model: "m", APIKey: "bad"}, "401"},
		{"a server that is down", remote.Config{Kind: "openai", URL: down.URL, Model: "m"}, "refused"},
		{"an ollama server that is down", remote.Config{Kind: "ollama", URL: down.URL, Model: "m"}, "refused"},
		{"a model the ollama server lacks", remote.Config{Kind: "ollama", URL: ollama.URL, Model: "absent"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := open(t, tc.cfg)
			var gotErr error
			for _, err := range e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "x"}}}) {
				if err != nil {
					gotErr = err
				}
			}
			if gotErr == nil || !strings.Contains(gotErr.Error(), tc.says) || hint.Of(gotErr) == "" {
				t.Fatalf("err = %v (hint %q)", gotErr, hint.Of(gotErr))
			}
		})
	}
}

func TestAFailureMidStreamIsAnErrorAfterTheTextSoFar(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"ollama", "openai"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := serve(kind)(t, enginetest.New(enginetest.Reply{Tokens: []string{"Hel", "lo"}, Err: errors.New("out of memory")}), "m")
			e := open(t, remote.Config{Kind: kind, URL: srv.URL, Model: "m"})
			var text strings.Builder
			var gotErr error
			for c, err := range e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "x"}}}) {
				if err != nil {
					gotErr = err
					continue
				}
				if c.Done {
					t.Fatal("a done chunk for a failed answer")
				}
				text.WriteString(c.Text)
			}
			if text.String() != "Hello" || gotErr == nil || !strings.Contains(gotErr.Error(), "out of memory") {
				t.Fatalf("text %q, err %v", text.String(), gotErr)
			}
		})
	}
}

func TestToolCallIDsGoBackWithTheResults(t *testing.T) {
	t.Parallel()
	// Calls that came without IDs (from the grammar path, or old history)
	// get IDs, and each tool message answers its own call.
	srv := remotetest.NewOpenAI(t, enginetest.New(), "m")
	e := open(t, remote.Config{Kind: "openai", URL: srv.URL, Model: "m"})
	msgs := []engine.Message{
		{Role: engine.RoleUser, Content: "convert"},
		{Role: engine.RoleAssistant, ToolCalls: []engine.ToolCall{{Name: "a", Arguments: map[string]any{"x": 1}}, {Name: "b"}}},
		{Role: engine.RoleTool, ToolName: "b", Content: "B"},
		{Role: engine.RoleTool, ToolName: "a", Content: "A"},
	}
	for _, err := range e.Chat(t.Context(), engine.ChatRequest{Messages: msgs, Options: engine.Options{NumPredict: 2}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	sent := srv.To("/v1/chat/completions")[0].JSON()["messages"].([]any)
	id := func(i int) any { return sent[i].(map[string]any)["tool_call_id"] }
	calls := sent[1].(map[string]any)["tool_calls"].([]any)
	if id(2) != calls[1].(map[string]any)["id"] || id(3) != calls[0].(map[string]any)["id"] || id(2) == id(3) {
		t.Fatalf("tool messages answer %v and %v; calls %v", id(2), id(3), calls)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []remote.Config{{Kind: "ollama"}, {Kind: "openai", Model: "m"}, {Kind: "grpc", URL: "http://x", Model: "m"}, {Kind: "openai", URL: "ftp://x", Model: "m"}, {Kind: "ollama", URL: "http://x", Model: "m", ContextLength: -1}} {
		if _, err := remote.New(c); err == nil || hint.Of(err) == "" {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
}
