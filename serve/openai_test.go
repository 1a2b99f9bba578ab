package serve

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nook-ai/nook/internal/ollamabin"
)

var clientsOnce sync.Once

// openaiModule is the official `openai` npm package, installed by the
// project's own set-up (.ci/setup-clients) when missing.
func openaiModule(t *testing.T) string {
	t.Helper()
	root, err := ollamabin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	clientsOnce.Do(func() {
		out, err = exec.Command("bash", filepath.Join(root, ".ci", "setup-clients")).CombinedOutput()
	})
	if err != nil {
		t.Fatalf(".ci/setup-clients: %v\n%s", err, out)
	}
	mod := filepath.Join(root, "build", "js", "node_modules", "openai")
	if _, err := os.Stat(mod); err != nil {
		t.Fatalf("the openai package is not installed: %v", err)
	}
	return mod
}

// runOpenAI runs a scenario of testdata/openai_client.mjs (the openai npm
// client) against e and decodes what it prints.
func runOpenAI(t *testing.T, e *env, scenario, key, model string) map[string]any {
	t.Helper()
	cmd := exec.Command("node", filepath.Join("testdata", "openai_client.mjs"), scenario)
	cmd.Env = append(os.Environ(), "OPENAI_MODULE="+openaiModule(t), "NOOK_BASE_URL="+e.base+"/v1", "NOOK_KEY="+key, "MODEL="+model)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res map[string]any
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("node %s: %v (%v)\nstdout: %s\nstderr: %s", scenario, err, jerr, out, stderr.String())
	}
	return res
}

func TestOpenAIClientChatsStreamedAndNot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}})
	r := runOpenAI(t, e, "chat", "none", storiesModel)
	if r["fatal"] != nil {
		t.Fatalf("chat: %v", r)
	}
	models := strings.Join(toStrings(r["models"]), ",")
	for _, m := range []string{storiesModel, tinyModel, RAGModel} {
		if !strings.Contains(models, m) {
			t.Errorf("models.list = %s, want %s in it", models, m)
		}
	}
	if r["object"] != "chat.completion" || r["role"] != "assistant" {
		t.Errorf("object %v, role %v; want chat.completion from the assistant", r["object"], r["role"])
	}
	text, _ := r["text"].(string)
	if text == "" {
		t.Fatalf("empty answer: %v", r)
	}
	if r["streamText"] != text || r["streamFinish"] != r["finish"] {
		t.Errorf("streamed %q (%v), not streamed %q (%v): want the same answer at temperature 0", r["streamText"], r["streamFinish"], text, r["finish"])
	}
	if r["finish"] != "length" {
		t.Errorf("finish_reason %v, want length (max_tokens 24 on a story model)", r["finish"])
	}
	usage, _ := r["usage"].(map[string]any)
	if usage["completion_tokens"] != float64(24) || usage["prompt_tokens"].(float64) < 2 {
		t.Errorf("usage %v, want 24 completion tokens and the prompt's", usage)
	}
	if d := cmp.Diff(r["streamUsage"], r["usage"]); d != "" {
		t.Errorf("stream usage (-got +want):\n%s", d)
	}
	if n := r["streamChunks"].(float64); n < 3 {
		t.Errorf("%v chunks streamed, want the answer in pieces", n)
	}
	e.idle(t)
}

func TestOpenAIClientCallsToolsThroughTheSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	r := runOpenAI(t, e, "tools", "none", storiesModel)
	if r["fatal"] != nil {
		t.Fatalf("tools: %v", r)
	}
	if r["finish"] != "tool_calls" || r["name"] != "get_weather" {
		t.Fatalf("finish %v, tool %v: want a call of get_weather", r["finish"], r["name"])
	}
	if id, _ := r["id"].(string); !strings.HasPrefix(id, "call_") {
		t.Errorf("tool call id %q, want call_…", id)
	}
	args, _ := r["args"].(map[string]any)
	if _, ok := args["city"].(string); !ok || len(args) != 1 {
		t.Errorf("arguments %v, want {city: string} as the schema says", args)
	}
	calls, _ := r["streamCalls"].([]any)
	if r["streamFinish"] != "tool_calls" || len(calls) != 1 || calls[0].(map[string]any)["name"] != "get_weather" {
		t.Errorf("streamed: finish %v, calls %v; want one get_weather call", r["streamFinish"], calls)
	}
	after, _ := r["afterResult"].(map[string]any)
	if after["hasText"] != true {
		t.Errorf("after the tool result: %v, want a text answer", after)
	}
}

func TestOpenAIClientGetsEmbeddings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeEmbed}})
	r := runOpenAI(t, e, "embed", "none", storiesModel)
	if r["fatal"] != nil {
		t.Fatalf("embed: %v", r)
	}
	dim := float64(e.models.engines[storiesModel].Info().EmbeddingSize)
	if d := cmp.Diff(r["dims"], []any{dim, dim}); d != "" || r["n"] != float64(2) {
		t.Errorf("n %v, dims (-got +want):\n%s", r["n"], d)
	}
	for _, n := range r["norms"].([]any) {
		if math.Abs(n.(float64)-1) > 1e-3 {
			t.Errorf("norm %v, want unit vectors", n)
		}
	}
	if r["same"] != true {
		t.Error("the base64 embedding differs from the float one")
	}
	if r["promptTokens"].(float64) < 2 {
		t.Errorf("usage.prompt_tokens %v", r["promptTokens"])
	}
}

func TestOpenAIClientGetsJSONMatchingTheSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	r := runOpenAI(t, e, "json", "none", storiesModel)
	p, ok := r["parsed"].(map[string]any)
	if !ok {
		t.Fatalf("content %q is not a JSON object (%v)", r["text"], r)
	}
	if _, ok := p["name"].(string); !ok {
		t.Errorf("name %v, want a string", p["name"])
	}
	if age, ok := p["age"].(float64); !ok || age != math.Trunc(age) {
		t.Errorf("age %v, want an integer", p["age"])
	}
}

func TestOpenAIClientGetsAVaultAnswerWithSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	_, key := e.app(t, "editor", ScopeChat, ScopeVaultRead)
	r := runOpenAI(t, e, "rag", key, storiesModel)
	if r["fatal"] != nil {
		t.Fatalf("rag: %v", r)
	}
	for _, field := range []string{"sources", "streamSources"} {
		srcs, _ := r[field].([]any)
		if len(srcs) == 0 {
			t.Fatalf("%s: none; want the retrieved notes (%v)", field, r)
		}
		first := srcs[0].(map[string]any)
		if !strings.HasSuffix(first["source"].(string), "dentist.md") || first["start_line"].(float64) < 1 || first["end_line"].(float64) < first["start_line"].(float64) {
			t.Errorf("%s[0] = %v, want dentist.md with its lines", field, first)
		}
	}
}

func TestOpenAIClientSeesEachErrorInOpenAIsShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}})
	r := runOpenAI(t, e, "errors", "none", storiesModel)
	want := map[string]struct {
		status float64
		class  string
		code   any
	}{
		"unknownModel": {404, "NotFoundError", "model_not_found"},
		"noMessages":   {400, "BadRequestError", nil},
		"badRole":      {400, "BadRequestError", nil},
		"twoChoices":   {400, "BadRequestError", nil},
		"ragNoGrant":   {401, "AuthenticationError", "invalid_api_key"},
		"embedUnknown": {404, "NotFoundError", "model_not_found"},
	}
	for name, w := range want {
		got, _ := r[name].(map[string]any)
		if got["status"] != w.status || got["class"] != w.class || got["code"] != w.code {
			t.Errorf("%s: %v; want status %v, %s, code %v", name, got, w.status, w.class, w.code)
		}
		if msg, _ := got["message"].(string); msg == "" {
			t.Errorf("%s: no message", name)
		}
	}
	if p := r["twoChoices"].(map[string]any)["param"]; p != "n" {
		t.Errorf("twoChoices param %v, want n", p)
	}

	_, key := e.app(t, "nogrant")
	denied := runOpenAI(t, e, "chat", key, storiesModel)
	f, _ := denied["fatal"].(map[string]any)
	if f["status"] != float64(403) || f["class"] != "PermissionDeniedError" || !strings.Contains(f["message"].(string), "nook apps grant nogrant chat") {
		t.Errorf("an app without the chat grant: %v; want 403 naming the grant to add", denied)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
