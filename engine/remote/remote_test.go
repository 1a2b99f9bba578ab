package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
)

func collect(t *testing.T, e *Engine, req engine.ChatRequest) (string, engine.Chunk) {
	t.Helper()
	var b strings.Builder
	var last engine.Chunk
	for c, err := range e.Chat(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(c.Text)
		if c.Done {
			last = c
		}
	}
	return b.String(), last
}

// ollamaServer speaks the parts of Ollama's API that remote uses.
func ollamaServer(t *testing.T, got *map[string]any) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if got != nil {
			*got = body
		}
		switch r.URL.Path {
		case "/api/chat":
			w.Header().Set("Content-Type", "application/x-ndjson")
			for _, piece := range []string{"Hel", "lo", "!"} {
				fmt.Fprintf(w, `{"model":"m","message":{"role":"assistant","content":%q},"done":false}`+"\n", piece)
			}
			fmt.Fprintln(w, `{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"units","arguments":{"v":2}}}]},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3,"eval_duration":3000000}`)
		case "/api/embed":
			fmt.Fprintln(w, `{"model":"m","embeddings":[[3,4],[0,2]]}`)
		case "/api/show":
			fmt.Fprintln(w, `{"template":"{{ .Prompt }}","details":{"family":"llama","quantization_level":"Q4_0"},"model_info":{"llama.context_length":8192,"general.parameter_count":1000}}`)
		default:
			http.NotFound(w, r)
		}
	}))
}

func TestOllamaServer(t *testing.T) {
	t.Parallel()
	var got map[string]any
	srv := ollamaServer(t, &got)
	defer srv.Close()
	e, err := New(Config{Kind: "ollama", URL: srv.URL, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	text, last := collect(t, e, engine.ChatRequest{
		Messages: []engine.Message{{Role: "user", Content: "hi"}},
		Options:  engine.Options{Temperature: new(float32), NumPredict: 5, Stop: []string{"END"}},
		Format:   map[string]any{"type": "object"},
	})
	if text != "Hello!" || !last.Done || last.Stats.DecodeTokens != 3 || last.Stats.PromptTokens != 7 {
		t.Fatalf("text %q last %+v", text, last)
	}
	if len(last.ToolCalls) != 1 || last.ToolCalls[0].Name != "units" || last.ToolCalls[0].Arguments["v"] != float64(2) {
		t.Fatalf("tool calls %+v", last.ToolCalls)
	}
	opts := got["options"].(map[string]any)
	if opts["num_predict"] != float64(5) || opts["temperature"] != float64(0) || got["format"] == nil {
		t.Fatalf("request %+v", got)
	}
	vecs, err := e.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if vecs[0][0] != 0.6 || vecs[0][1] != 0.8 || vecs[1][1] != 1 {
		t.Fatalf("not normalised: %v", vecs)
	}
	if info := e.Info(); info.ContextLength != 8192 || info.Architecture != "llama" || info.Parameters != 1000 {
		t.Fatalf("info %+v", info)
	}
}

func TestOpenAICompatibleServer(t *testing.T) {
	t.Parallel()
	var auth string
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got)
		switch r.URL.Path {
		case "/v1/chat/completions":
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				`{"choices":[{"delta":{"content":"Bon"}}]}`,
				`{"choices":[{"delta":{"content":"jour"}}]}`,
				`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"units","arguments":"{\"v\":"}}]}}]}`,
				`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"3}"}}]},"finish_reason":"tool_calls"}]}`,
				`{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4}}`,
			} {
				fmt.Fprintf(w, "data: %s\n\n", ev)
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
		case "/v1/embeddings":
			fmt.Fprintln(w, `{"data":[{"index":1,"embedding":[0,5]},{"index":0,"embedding":[5,0]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e, err := New(Config{Kind: "openai", URL: srv.URL + "/v1", APIKey: "sk-test", Model: "gpt"})
	if err != nil {
		t.Fatal(err)
	}
	text, last := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "salut"}}, Tools: []engine.Tool{{Name: "units"}}})
	if text != "Bonjour" || last.Stats.PromptTokens != 11 || last.Stats.DecodeTokens != 4 || last.DoneReason != "stop" {
		t.Fatalf("text %q last %+v", text, last)
	}
	if len(last.ToolCalls) != 1 || last.ToolCalls[0].Arguments["v"] != float64(3) {
		t.Fatalf("tool calls %+v", last.ToolCalls)
	}
	if auth != "Bearer sk-test" || got["stream"] != true || got["tools"] == nil {
		t.Fatalf("auth %q request %+v", auth, got)
	}
	vecs, err := e.Embed(context.Background(), []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	if vecs[0][0] != 1 || vecs[1][1] != 1 {
		t.Fatalf("order or norm wrong: %v", vecs)
	}
}

func TestServerErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid api key"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	for _, tc := range []struct {
		name string
		cfg  Config
		says string
	}{
		{"a rejected key", Config{Kind: "openai", URL: srv.URL, Model: "m", APIKey: "bad"}, "401"},
		{"a server that is down", Config{Kind: "openai", URL: down.URL, Model: "m"}, "refused"},
		{"an ollama server that is down", Config{Kind: "ollama", URL: down.URL, Model: "m"}, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var gotErr error
			for _, err := range e.Chat(context.Background(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "x"}}}) {
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

func TestBadConfigIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{Kind: "ollama"}, {Kind: "openai", Model: "m"}, {Kind: "grpc", URL: "http://x", Model: "m"}, {Kind: "openai", URL: "ftp://x", Model: "m"}} {
		if _, err := New(c); err == nil || hint.Of(err) == "" {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
}
