package assistant

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/remote"
	"github.com/nook-ai/nook/engine/remote/remotetest"
)

// A turn with tools against a model server, end to end: engine/remote
// speaks the real protocol to an httptest server (remotetest), whose
// scripted model calls the units plugin (a real subprocess behind a plugin
// host on a simulated ledger) and then answers.
func TestRemoteModelsCallToolsNatively(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind  string
		serve func(testing.TB, *enginetest.Engine, string) *remotetest.Server
		path  string
	}{
		{"ollama", remotetest.NewOllama, "/api/chat"},
		{"openai", remotetest.NewOpenAI, "/v1/chat/completions"},
	} {
		t.Run("through an "+tc.kind+" server", func(t *testing.T) {
			t.Parallel()
			env, _ := newToolEnv(t, true)
			model := enginetest.New(
				enginetest.Calls(engine.ToolCall{Name: "units__convert", Arguments: map[string]any{"value": 3, "from": "km", "to": "mi"}}),
				enginetest.Text("3 km is about 1.86 miles."))
			model.Model.Capabilities |= engine.CapTools
			srv := tc.serve(t, model, "qwen3:8b")
			eng, err := remote.New(remote.Config{Kind: tc.kind, URL: srv.URL, Model: "qwen3:8b", Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Close() })
			var events []ToolCall
			a := New(eng, nil, WithTools(env.host, ToolOptions{OnCall: func(c ToolCall) { events = append(events, c) }}))
			turn, err := a.Turn(t.Context(), Input{Text: "How many miles is 3 km?"})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			var done *engine.Chunk
			for c, err := range turn.Chunks {
				if err != nil {
					t.Fatal(err)
				}
				if c.Text != "" {
					texts = append(texts, c.Text)
				}
				if c.Done {
					done = &c
				}
			}
			if got := strings.Join(texts, ""); got != "3 km is about 1.86 miles." || len(texts) < 2 {
				t.Fatalf("answer %q in %d chunks, want it streamed", got, len(texts))
			}
			if done == nil || done.Stats == nil || done.DoneReason != "stop" || len(done.ToolCalls) != 0 {
				t.Fatalf("done chunk %+v", done)
			}
			if len(events) != 2 || !events[1].Done || events[1].Result != "3 km = 1.8641 mi" {
				t.Fatalf("call events %+v", events)
			}

			chats := srv.To(tc.path)
			if len(chats) != 2 {
				t.Fatalf("%d chat requests, want the call and the answer", len(chats))
			}
			first := chats[0].JSON()
			tools, _ := json.Marshal(first["tools"])
			if !strings.Contains(string(tools), `"name":"units__convert"`) {
				t.Fatalf("the first request offers no units__convert tool: %s", chats[0].Body)
			}
			for _, grammar := range []string{"format", "response_format"} {
				if _, ok := first[grammar]; ok {
					t.Fatalf("a native tool turn sent %s: %s", grammar, chats[0].Body)
				}
			}
			if strings.Contains(string(chats[0].Body), ToolPrompt[:20]) {
				t.Fatal("a native tool turn carries the JSON-mode tool prompt")
			}

			// The second request carries the call and its result.
			msgs := chats[1].JSON()["messages"].([]any)
			call := msgs[len(msgs)-2].(map[string]any)
			result := msgs[len(msgs)-1].(map[string]any)
			calls, _ := call["tool_calls"].([]any)
			if call["role"] != "assistant" || len(calls) != 1 {
				t.Fatalf("the call is not in the history: %v", call)
			}
			if result["role"] != "tool" || result["content"] != "3 km = 1.8641 mi" {
				t.Fatalf("tool message %v", result)
			}
			switch tc.kind {
			case "ollama":
				if result["tool_name"] != "units__convert" {
					t.Fatalf("tool message %v lacks the tool's name", result)
				}
			case "openai":
				id := calls[0].(map[string]any)["id"]
				if id == nil || id == "" || result["tool_call_id"] != id {
					t.Fatalf("tool message answers %v, the call was %v", result["tool_call_id"], id)
				}
			}
			// And the model behind the server saw it as a tool message.
			seen := model.Requests()[1].Messages
			if last := seen[len(seen)-1]; last.Role != engine.RoleTool || last.ToolName != "units__convert" || last.Content != "3 km = 1.8641 mi" {
				t.Fatalf("the model saw %+v", last)
			}
		})
	}
}

// An Ollama model without the tools capability (Ollama would refuse its
// tools with 400) is driven through the JSON format instead.
func TestARemoteModelWithoutToolSupportGetsTheGrammar(t *testing.T) {
	t.Parallel()
	env, _ := newToolEnv(t, true)
	model := enginetest.New(enginetest.Text(callConvert), enginetest.Text(answerMiles))
	srv := remotetest.NewOllama(t, model, "gemma:2b")
	eng, err := remote.New(remote.Config{Kind: "ollama", URL: srv.URL, Model: "gemma:2b", Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ans, err := New(eng, nil, WithTools(env.host, ToolOptions{})).Ask(t.Context(), Input{Text: "How many miles is 3 km?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "3 km is about 1.86 miles." {
		t.Fatalf("answer %q", ans.Answer)
	}
	chats := srv.To("/api/chat")
	first := chats[0].JSON()
	if _, ok := first["tools"]; ok || first["format"] == nil {
		t.Fatalf("want the format and no tools: %s", chats[0].Body)
	}
	if seen := model.Requests()[1].Messages; seen[len(seen)-1].Content != "3 km = 1.8641 mi" {
		t.Fatalf("the model saw %+v", seen[len(seen)-1])
	}
}
