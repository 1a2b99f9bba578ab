package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/ollama/ollama/api"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/internal/ollamabin"
	"github.com/nook-ai/nook/serve/servetest"
)

// ollamaCLI is the real ollama command, built from the module go.mod pins.
func ollamaCLI(t *testing.T) string {
	t.Helper()
	bin, err := ollamabin.Ensure(testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// runCLI runs the ollama CLI against e and returns its standard output,
// or its error with what it wrote to stderr.
func runCLI(t *testing.T, bin string, e *env, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+e.addr, "HOME="+t.TempDir(), "NO_COLOR=1", "TERM=dumb")
	cmd.Stdin = strings.NewReader("")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// The progress spinner draws with escape codes; keep the words.
		return string(out), fmt.Errorf("%w: %s", err, ansi.Strip(stderr.String()))
	}
	return string(out), nil
}

func TestTheOllamaCLIListsRunsShowsAndSeesLoadedModels(t *testing.T) {
	t.Parallel()
	bin := ollamaCLI(t)
	e := newEnv(t, Options{Open: []string{ScopeChat}})

	out, err := runCLI(t, bin, e, "list")
	if err != nil {
		t.Fatalf("ollama list: %v\n%s", err, out)
	}
	for _, m := range []string{storiesModel, tinyModel, RAGModel} {
		if !strings.Contains(out, m) {
			t.Errorf("ollama list:\n%s\nwant %s in it", out, m)
		}
	}

	out, err = runCLI(t, bin, e, "run", "--nowordwrap", storiesModel, "Once upon a time")
	if err != nil {
		t.Fatalf("ollama run: %v\n%s", err, out)
	}
	answer := e.models.lastAnswer()
	if strings.TrimSpace(answer) == "" || strings.TrimSpace(out) != strings.TrimSpace(answer) {
		t.Errorf("ollama run printed:\n%s\nwant the engine's answer %q", out, answer)
	}

	out, err = runCLI(t, bin, e, "show", storiesModel)
	if err != nil || !strings.Contains(out, "llama") || !strings.Contains(out, "completion") {
		t.Errorf("ollama show: %v\n%s\nwant the architecture and the completion capability", err, out)
	}
	out, err = runCLI(t, bin, e, "ps")
	if err != nil || !strings.Contains(out, storiesModel) {
		t.Errorf("ollama ps: %v\n%s\nwant the loaded model", err, out)
	}

	out, err = runCLI(t, bin, e, "run", "no-such-model", "hi")
	if err == nil || !strings.Contains(err.Error(), "does not pull") {
		t.Errorf("ollama run of an unknown model: %v\n%s\nwant an error saying nook does not pull for clients", err, out)
	}
	e.idle(t)
}

func TestTheOllamaCLIIsRefusedWhenKeylessChatIsNotOpen(t *testing.T) {
	t.Parallel()
	bin := ollamaCLI(t)
	e := newEnv(t, Options{})
	out, err := runCLI(t, bin, e, "run", storiesModel, "Once upon a time")
	if err == nil || !strings.Contains(err.Error(), "app key") {
		t.Errorf("ollama run without a key: %v\n%s\nwant a refusal that says an app key is needed", err, out)
	}
	if _, err := runCLI(t, bin, e, "list"); err != nil {
		t.Errorf("ollama list without a key: %v; listing models needs no grant", err)
	}
}

// ollamaClient is Ollama's own Go client library, with an app key when
// key is not empty.
func ollamaClient(t *testing.T, e *env, key string) *api.Client {
	t.Helper()
	u, err := url.Parse(e.base)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: http.DefaultTransport}
	if key != "" {
		hc.Transport = servetest.Key{Key: key}
	}
	return api.NewClient(u, hc)
}

func greedy(n int) map[string]any {
	return map[string]any{"temperature": 0, "seed": 1, "num_predict": n}
}

func chatOnce(ctx context.Context, c *api.Client, req *api.ChatRequest) (string, *api.ChatResponse, error) {
	var b strings.Builder
	var last api.ChatResponse
	err := c.Chat(ctx, req, func(r api.ChatResponse) error {
		b.WriteString(r.Message.Content)
		last = r
		return nil
	})
	return b.String(), &last, err
}

func statusOf(err error) int {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func TestOllamaClientLibraryChatsGeneratesAndEmbeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}})
	c := ollamaClient(t, e, "")
	ctx := t.Context()
	msgs := []api.Message{{Role: "user", Content: "Once upon a time"}}
	stream := false
	text, last, err := chatOnce(ctx, c, &api.ChatRequest{Model: storiesModel, Messages: msgs, Options: greedy(20), Stream: &stream})
	if err != nil {
		t.Fatal(err)
	}
	streamed, slast, err := chatOnce(ctx, c, &api.ChatRequest{Model: storiesModel, Messages: msgs, Options: greedy(20)})
	if err != nil {
		t.Fatal(err)
	}
	if text == "" || streamed != text {
		t.Errorf("streamed %q, not streamed %q: want the same non-empty answer", streamed, text)
	}
	if !last.Done || last.DoneReason != "length" || last.EvalCount != 20 || slast.EvalCount != 20 || last.PromptEvalCount < 2 {
		t.Errorf("final response %+v, want done (length) with 20 tokens evaluated", last.Metrics)
	}

	var gen strings.Builder
	err = c.Generate(ctx, &api.GenerateRequest{Model: storiesModel, Prompt: "Once upon a time", Raw: true, Options: greedy(20)}, func(r api.GenerateResponse) error {
		gen.WriteString(r.Response)
		return nil
	})
	if err != nil || gen.String() != text {
		t.Errorf("generate: %v, %q; want the chat's answer %q (a base model's prompt is the text itself)", err, gen.String(), text)
	}

	emb, err := c.Embed(ctx, &api.EmbedRequest{Model: storiesModel, Input: []string{"one", "two"}, Dimensions: 16})
	if err != nil || len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != 16 {
		t.Errorf("embed: %v, %d vectors; want 2 of 16 dimensions", err, len(emb.Embeddings))
	}

	v, err := c.Version(ctx)
	if err != nil || !strings.HasPrefix(v, "0.") {
		t.Errorf("version %q, %v; want the Ollama API version", v, err)
	}
	show, err := c.Show(ctx, &api.ShowRequest{Model: RAGModel})
	if err != nil || show.Details.Family != "llama" {
		t.Errorf("show nook:rag: %v, %+v; want the default chat model's details", err, show)
	}
	_, err = c.Show(ctx, &api.ShowRequest{Model: "no-such-model"})
	if statusOf(err) != http.StatusNotFound {
		t.Errorf("show of an unknown model: %v, want 404", err)
	}
	e.idle(t)
}

func TestToolCallsOfAnEngineThatParsesThemKeepTheirIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	sc := enginetest.New()
	sc.Model.Capabilities |= engine.CapTools
	e.models.add(scriptedModel, sc)
	c := ollamaClient(t, e, "")
	props := api.NewToolPropertiesMap()
	props.Set("city", api.ToolProperty{Type: api.PropertyType{"string"}})
	tools := api.Tools{{Type: "function", Function: api.ToolFunction{Name: "get_weather", Description: "The weather in a city.",
		Parameters: api.ToolFunctionParameters{Type: "object", Required: []string{"city"}, Properties: props}}}}
	msgs := []api.Message{{Role: "user", Content: "Weather in Oslo?"}}
	_, first, err := chatOnce(t.Context(), c, &api.ChatRequest{Model: scriptedModel, Messages: msgs, Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	var calls []api.ToolCall
	stream := false
	err = c.Chat(t.Context(), &api.ChatRequest{Model: scriptedModel, Messages: msgs, Tools: tools, Stream: &stream}, func(r api.ChatResponse) error {
		calls = append(calls, r.Message.ToolCalls...)
		return nil
	})
	if err != nil || len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].ID != "call_1" {
		t.Fatalf("calls %+v, %v; want get_weather with the engine's id call_1", calls, err)
	}
	if !first.Done {
		t.Errorf("the streamed answer did not end: %+v", first)
	}
	got := sc.Requests()[0]
	if len(got.Tools) != 1 || got.Tools[0].Name != "get_weather" || got.Format != nil {
		t.Errorf("the engine got tools %+v and format %v; want the tool natively, no schema", got.Tools, got.Format)
	}
	msgs = append(msgs, api.Message{Role: "assistant", ToolCalls: calls}, api.Message{Role: "tool", ToolName: "get_weather", ToolCallID: calls[0].ID, Content: "sunny"})
	if _, _, err := chatOnce(t.Context(), c, &api.ChatRequest{Model: scriptedModel, Messages: msgs, Tools: tools}); err != nil {
		t.Fatal(err)
	}
	last := sc.Requests()[2].Messages
	if m := last[len(last)-1]; m.Role != engine.RoleTool || m.ToolCallID != "call_1" || m.Content != "sunny" {
		t.Errorf("the tool result reached the engine as %+v", m)
	}
}
