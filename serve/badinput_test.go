package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// Malformed requests cannot come from a real client library, so these are
// sent as raw HTTP.

func TestBadInputGetsEachAPIsErrorAndTheServerStaysUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}, MaxBody: 64 << 10})
	long := strings.Repeat("word ", 3000) // far over stories' 512-token context
	big := `{"model":"stories","prompt":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		host                     string
		status                   int
		openai                   bool   // the error is OpenAI's shape, else Ollama's
		code                     string // OpenAI error code
		says                     string
	}{
		{name: "malformed JSON to Ollama", method: "POST", path: "/api/chat", body: `{"model": "stories", "messages": [`, status: 400, says: "malformed JSON"},
		{name: "malformed JSON to OpenAI", method: "POST", path: "/v1/chat/completions", body: `{"model": `, status: 400, openai: true, says: "malformed JSON"},
		{name: "an empty body", method: "POST", path: "/api/generate", body: ``, status: 400, says: "empty"},
		{name: "a wrong type", method: "POST", path: "/api/chat", body: `{"model": 7, "messages": []}`, status: 400, says: "malformed JSON"},
		{name: "an option of the wrong type", method: "POST", path: "/api/generate", body: `{"model": "stories", "prompt": "hi", "options": {"temperature": "hot"}}`, status: 400, says: "temperature"},
		{name: "unknown model to Ollama", method: "POST", path: "/api/generate", body: `{"model": "nope", "prompt": "hi"}`, status: 404, says: `model "nope" not found`},
		{name: "unknown model to OpenAI", method: "POST", path: "/v1/chat/completions", body: `{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}`, status: 404, openai: true, code: "model_not_found"},
		{name: "oversized body to Ollama", method: "POST", path: "/api/generate", body: big, status: 413, says: "over the limit"},
		{name: "oversized body to OpenAI", method: "POST", path: "/v1/completions", body: big, status: 413, openai: true, code: "request_too_large"},
		{name: "a prompt over the context to Ollama", method: "POST", path: "/api/generate", body: `{"model": "stories", "prompt": "` + long + `", "stream": false}`, status: 400, says: "context window full"},
		{name: "a prompt over the context to OpenAI", method: "POST", path: "/v1/chat/completions", body: `{"model": "stories", "messages": [{"role": "user", "content": "` + long + `"}]}`, status: 400, openai: true, code: "context_length_exceeded"},
		{name: "images to a text model", method: "POST", path: "/api/generate", body: `{"model": "stories", "prompt": "hi", "images": ["aGk="]}`, status: 400, says: "vision"},
		{name: "token arrays as input", method: "POST", path: "/v1/embeddings", body: `{"model": "stories", "input": [[1, 2]]}`, status: 400, openai: true, says: "token arrays"},
		{name: "a bad response format", method: "POST", path: "/v1/chat/completions", body: `{"model": "stories", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "yaml"}}`, status: 400, openai: true, says: "response_format"},
		{name: "the wrong method", method: "GET", path: "/api/chat", status: 405},
		{name: "an unknown endpoint", method: "GET", path: "/api/nothing", status: 404, says: "no endpoint"},
		{name: "an unknown OpenAI endpoint", method: "GET", path: "/v1/nothing", status: 404, openai: true, code: "unknown_url"},
		{name: "a pull", method: "POST", path: "/api/pull", body: `{"model": "llama3.2"}`, status: 403, says: "nook pull"},
		{name: "a rebinding host name", method: "GET", path: "/api/tags", host: "evil.example:11435", status: 403, says: "loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.base+tc.path, strings.NewReader(tc.body))
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 405 {
				return
			}
			var msg string
			if tc.openai {
				var oe struct {
					Error struct {
						Message string  `json:"message"`
						Type    string  `json:"type"`
						Code    *string `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal(body, &oe); err != nil || oe.Error.Message == "" || oe.Error.Type == "" {
					t.Fatalf("not OpenAI's error shape: %s", body)
				}
				if tc.code != "" && (oe.Error.Code == nil || *oe.Error.Code != tc.code) {
					t.Errorf("code %v, want %s", oe.Error.Code, tc.code)
				}
				msg = oe.Error.Message
			} else {
				var oe map[string]any
				if err := json.Unmarshal(body, &oe); err != nil || len(oe) != 1 || oe["error"] == "" {
					t.Fatalf("not Ollama's error shape: %s", body)
				}
				msg, _ = oe["error"].(string)
			}
			if !strings.Contains(msg, tc.says) {
				t.Errorf("message %q, want it to say %q", msg, tc.says)
			}
		})
	}
	// Still up, and every engine given back.
	if text, err := ragChat(t.Context(), ollamaClient(t, e, ""), storiesModel); err != nil || text == "" {
		t.Fatalf("after the bad input: %q, %v", text, err)
	}
	e.idle(t)
}

func TestAClientThatDisconnectsMidStreamStopsItsGeneration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	c := ollamaClient(t, e, "")
	ctx, cancel := context.WithCancel(t.Context())
	chunks := 0
	err := c.Generate(ctx, &api.GenerateRequest{Model: storiesModel, Prompt: "Once upon a time", Raw: true, Options: map[string]any{"temperature": 0}},
		func(r api.GenerateResponse) error {
			chunks++
			if chunks == 3 {
				cancel()
			}
			return nil
		})
	// Ollama's client returns nil when its context ends mid-stream.
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("the stream ended with %v", err)
	}
	cancelled := time.Now()
	e.idle(t)
	if d := time.Since(cancelled); d > 2*time.Second {
		t.Errorf("the engine came back %v after the client left", d)
	}
	// The generation stopped: the cut answer is far shorter than the same
	// request run to its end (the context's length). How many tokens slip
	// out before the server sees the client gone depends on the machine's
	// load (stories260K makes hundreds a second), so the bound is relative.
	cut := len(e.models.lastAnswer())
	if err := c.Generate(t.Context(), &api.GenerateRequest{Model: storiesModel, Prompt: "Once upon a time", Raw: true, Options: map[string]any{"temperature": 0}},
		func(api.GenerateResponse) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if full := len(e.models.lastAnswer()); cut > full/4 {
		t.Errorf("the cut answer is %d bytes long, the whole one %d: the generation went on after the client left", cut, full)
	}
	if text, err := ragChat(t.Context(), c, storiesModel); err != nil || text == "" {
		t.Fatalf("the next request: %q, %v", text, err)
	}
}

func TestFiftyClientsAtOnceEachGetTheirOwnAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}})
	c := ollamaClient(t, e, "")
	prompts := []string{"Once upon a time", "The cat", "Lily and Tom went", "One day, a big", "The sun was"}
	ask := func(ctx context.Context, p string) (string, error) {
		var b strings.Builder
		err := c.Generate(ctx, &api.GenerateRequest{Model: storiesModel, Prompt: p, Raw: true, Options: greedy(12)}, func(r api.GenerateResponse) error {
			b.WriteString(r.Response)
			return nil
		})
		return b.String(), err
	}
	want := map[string]string{}
	for _, p := range prompts {
		a, err := ask(t.Context(), p)
		if err != nil || a == "" {
			t.Fatalf("%q alone: %q, %v", p, a, err)
		}
		want[p] = a
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch {
			case i%10 == 7: // a client that asks for a model nobody has
				_, err := ask(t.Context(), "hi")
				_ = err
				err = c.Generate(t.Context(), &api.GenerateRequest{Model: "missing", Prompt: "hi"}, func(api.GenerateResponse) error { return nil })
				if statusOf(err) != http.StatusNotFound {
					errs <- fmt.Errorf("client %d (unknown model): %v, want 404", i, err)
				}
			case i%10 == 3: // embeddings between the chats
				r, err := c.Embed(t.Context(), &api.EmbedRequest{Model: storiesModel, Input: "a cat"})
				if err != nil || len(r.Embeddings) != 1 {
					errs <- fmt.Errorf("client %d (embed): %v", i, err)
				}
			default:
				p := prompts[i%len(prompts)]
				got, err := ask(t.Context(), p)
				if err != nil || got != want[p] {
					errs <- fmt.Errorf("client %d: %q, %v; want %q as when alone", i, got, err, want[p])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.idle(t)
}

func TestPastTheQueueLimitClientsAreToldTheServerIsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}, MaxQueue: 2})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"model": storiesModel, "prompt": "Once upon a time", "raw": true, "stream": false, "options": greedy(40)})
			resp, err := http.Post(e.base+"/api/generate", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 503 && !strings.Contains(string(b), "server busy") {
				t.Errorf("503 without saying why: %s", b)
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[200] == 0 || codes[503] == 0 || codes[200]+codes[503] != 12 {
		t.Errorf("statuses %v, want answers and 503s only", codes)
	}
	e.idle(t)
}
