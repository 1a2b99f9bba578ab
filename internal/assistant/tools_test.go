package assistant

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testbin"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/plugins"
)

// replies is a scripted engine for the grammar path: each Chat answers
// the next reply whole (the last repeats). Model quality plays no part, so
// these tests cannot be flaky; TestRealModelMakesAParseableCall shows the
// grammar path with the real stories260K model.
func replies(rs ...string) *enginetest.Engine {
	var script []enginetest.Reply
	for _, r := range rs {
		script = append(script, enginetest.Reply{Tokens: []string{r}})
	}
	e := enginetest.New(script...)
	e.Model.ContextLength = 8192
	return e
}

// The units example plugin, built once, run as a real subprocess.
func unitsPlugin(t *testing.T) string { return testbin.Build(t, "../../plugins/examples/units") }

// toolEnv is the units plugin behind a plugin host on a simulated ledger.
type toolEnv struct {
	host   *plugins.Host
	units  *plugins.Manifest
	events []plugins.Event
	mu     sync.Mutex
}

func newToolEnv(t *testing.T, granted bool) (*toolEnv, func(scope string)) {
	t.Helper()
	relayer, _ := crypto.GenerateKey()
	owner, _ := crypto.GenerateKey()
	publisher, _ := crypto.GenerateKey()
	sim := simulated.NewBackend(types.GenesisAlloc{ledgerclient.Address(relayer): {Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(1e18))}})
	t.Cleanup(func() { sim.Close() })
	c, err := ledgerclient.New(t.Context(), sim.Client(), ledgerclient.WithPayer(relayer), ledgerclient.WithCommit(func() { sim.Commit() }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := &plugins.Manifest{ID: "units", Description: "units", Scopes: []string{"tool"}, Run: plugins.Run{Command: unitsPlugin(t)}}
	if err := m.Sign(publisher); err != nil {
		t.Fatal(err)
	}
	id := ledgerclient.Address(owner)
	env := &toolEnv{units: m}
	env.host = plugins.NewHost(id, c, []*plugins.Manifest{m}, plugins.WithEvents(func(e plugins.Event) {
		env.mu.Lock()
		env.events = append(env.events, e)
		env.mu.Unlock()
	}))
	t.Cleanup(func() { env.host.Close() })
	if granted {
		if _, err := c.Grant(t.Context(), owner, id, m.PublisherAddress(), "tool", 30*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	revoke := func(scope string) {
		if err := c.Revoke(context.Background(), owner, id, m.PublisherAddress(), scope); err != nil {
			t.Errorf("revoke: %v", err)
		}
	}
	return env, revoke
}

func (e *toolEnv) calls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Kind == "call" {
			n++
		}
	}
	return n
}

const (
	callConvert = `{"call":"units__convert","with":{"from":"km","to":"mi","value":3}}`
	answerMiles = `{"answer":"3 km is about 1.86 miles."}`
)

func TestToolCallInsideATurn(t *testing.T) {
	t.Parallel()
	env, _ := newToolEnv(t, true)
	eng := replies(callConvert, answerMiles)
	var seen []ToolCall
	a := New(eng, nil, WithTools(env.host, ToolOptions{OnCall: func(c ToolCall) { seen = append(seen, c) }}))
	ans, err := a.Ask(t.Context(), Input{Text: "How many miles is 3 km?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "3 km is about 1.86 miles." {
		t.Fatalf("answer %q", ans.Answer)
	}
	if len(eng.Requests()) != 2 {
		t.Fatalf("%d engine calls, want 2 (call, then answer)", len(eng.Requests()))
	}
	first := eng.Requests()[0]
	if first.Format == nil || !strings.Contains(first.Messages[0].Content, "units__convert") {
		t.Fatalf("the first request has no call format or does not list the tool: %+v", first)
	}
	if b, _ := json.Marshal(first.Format); !strings.Contains(string(b), `"const":"units__convert"`) {
		t.Errorf("format %s", b)
	}
	second := eng.Requests()[1].Messages
	tool := second[len(second)-1]
	if tool.Role != engine.RoleTool || tool.ToolName != "units__convert" || tool.Content != "3 km = 1.8641 mi" {
		t.Fatalf("the tool's result did not come back into the turn: %+v", tool)
	}
	if prev := second[len(second)-2]; prev.Role != engine.RoleAssistant || len(prev.ToolCalls) != 1 || prev.ToolCalls[0].Name != "units__convert" {
		t.Fatalf("the call is not in the history: %+v", prev)
	}
	if len(seen) != 2 || seen[0].Done || !seen[1].Done || seen[1].Result != "3 km = 1.8641 mi" || seen[1].Consent {
		t.Fatalf("call events %+v", seen)
	}
}

func TestACallRefusedMidTurnGoesBackToTheModelAsTheGrantToAdd(t *testing.T) {
	t.Parallel()
	env, revoke := newToolEnv(t, true)
	eng := replies(callConvert, `{"answer":"I may not use that tool."}`)
	// The grant is revoked after the model saw the tool and chose to call it.
	a := New(eng, nil, WithTools(env.host, ToolOptions{OnCall: func(c ToolCall) {
		if !c.Done {
			revoke("tool")
		}
	}}))
	ans, err := a.Ask(t.Context(), Input{Text: "How many miles is 3 km?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "I may not use that tool." {
		t.Fatalf("answer %q", ans.Answer)
	}
	msgs := eng.Requests()[1].Messages
	got := msgs[len(msgs)-1].Content
	want := `error: plugins: units: no grant for scope "tool"`
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "— run: nook plug grant units tool --for 30d") {
		t.Fatalf("tool message %q, want the refusal with the command", got)
	}
	if env.calls() != 0 {
		t.Fatal("the refused call reached the plugin")
	}
}

func TestWithoutAGrantTheModelIsNotShownTheTool(t *testing.T) {
	t.Parallel()
	env, _ := newToolEnv(t, false)
	eng := replies("plain answer")
	a := New(eng, nil, WithTools(env.host, ToolOptions{}))
	ans, err := a.Ask(t.Context(), Input{Text: "How many miles is 3 km?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "plain answer" || eng.Requests()[0].Format != nil || len(eng.Requests()[0].Tools) != 0 {
		t.Fatalf("answer %q, request %+v", ans.Answer, eng.Requests()[0])
	}
}

// fakeBox is a toolbox with one tool that needs consent.
type fakeBox struct {
	calls []string
}

func (f *fakeBox) Tools(ctx context.Context) ([]engine.Tool, error) {
	return []engine.Tool{{Name: "files__delete", Description: "Delete a file.", Parameters: map[string]any{
		"type": "object", "properties": map[string]any{"path": map[string]any{"type": "string"}}}}}, nil
}
func (f *fakeBox) Call(ctx context.Context, name string, args map[string]any) (string, error) {
	f.calls = append(f.calls, name)
	return "deleted", nil
}
func (f *fakeBox) NeedsConsent(name string) bool { return true }

func TestConsent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		confirm func(context.Context, ToolCall) (bool, error)
		calls   int
		result  string
	}{
		{"a declined call is not made and the model is told", func(context.Context, ToolCall) (bool, error) { return false, nil }, 0, "the user declined this call"},
		{"without a way to ask, calls that need consent are declined", nil, 0, "the user declined this call"},
		{"an accepted call is made", func(context.Context, ToolCall) (bool, error) { return true, nil }, 1, "deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			box := &fakeBox{}
			eng := replies(`{"call":"files__delete","with":{"path":"/tmp/x"}}`, `{"answer":"done"}`)
			var asked []ToolCall
			confirm := tc.confirm
			if confirm != nil {
				confirm = func(ctx context.Context, c ToolCall) (bool, error) {
					asked = append(asked, c)
					return tc.confirm(ctx, c)
				}
			}
			a := New(eng, nil, WithTools(box, ToolOptions{Confirm: confirm}))
			if _, err := a.Ask(t.Context(), Input{Text: "delete /tmp/x"}, nil); err != nil {
				t.Fatal(err)
			}
			if len(box.calls) != tc.calls {
				t.Fatalf("%d calls, want %d", len(box.calls), tc.calls)
			}
			if confirm != nil && (len(asked) != 1 || asked[0].Arguments["path"] != "/tmp/x" || !asked[0].Consent) {
				t.Fatalf("asked %+v", asked)
			}
			msgs := eng.Requests()[1].Messages
			if got := msgs[len(msgs)-1].Content; got != tc.result {
				t.Fatalf("tool message %q, want %q", got, tc.result)
			}
		})
	}
}

func TestRoundsAreCapped(t *testing.T) {
	t.Parallel()
	box := &fakeBox{}
	eng := replies(`{"call":"files__delete","with":{"path":"a"}}`, `{"call":"files__delete","with":{"path":"b"}}`, `{"answer":"enough"}`)
	a := New(eng, nil, WithTools(box, ToolOptions{MaxRounds: 2, Confirm: func(context.Context, ToolCall) (bool, error) { return true, nil }}))
	ans, err := a.Ask(t.Context(), Input{Text: "x"}, nil)
	if err != nil || ans.Answer != "enough" {
		t.Fatalf("%v %v", ans, err)
	}
	if len(eng.Requests()) != 3 {
		t.Fatalf("%d engine calls", len(eng.Requests()))
	}
	if b, _ := json.Marshal(eng.Requests()[2].Format); strings.Contains(string(b), "files__delete") {
		t.Fatalf("after MaxRounds the format still allows calls: %s", b)
	}
}

func TestTheToolPathFollowsTheCapabilityNotTheBackendName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		backend string
		caps    engine.Capabilities
		native  bool
	}{
		{"a remote model without tool support is driven through the format", "remote ollama 10.0.0.2:11434", engine.CapChat | engine.CapFormat, false},
		{"an engine that parses calls gets the tools natively", "CPU", engine.CapChat | engine.CapTools, true},
		{"a remote engine that parses calls gets the tools natively", "remote openai api.example.com", engine.CapChat | engine.CapTools | engine.CapFormat, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			box := &fakeBox{}
			eng := enginetest.New(enginetest.Text(`{"answer":"ok"}`))
			eng.Model.Backend, eng.Model.Capabilities = tc.backend, tc.caps
			if _, err := New(eng, nil, WithTools(box, ToolOptions{})).Ask(t.Context(), Input{Text: "x"}, nil); err != nil {
				t.Fatal(err)
			}
			req := eng.Requests()[0]
			if native := len(req.Tools) > 0; native != tc.native || (req.Format != nil) == tc.native {
				t.Fatalf("tools %d, format %v; want native %v", len(req.Tools), req.Format != nil, tc.native)
			}
		})
	}
}

func TestNativeToolCallsGoBackAsToolMessages(t *testing.T) {
	t.Parallel()
	env, _ := newToolEnv(t, true)
	eng := enginetest.New(
		enginetest.Calls(engine.ToolCall{ID: "call_7", Name: "units__convert", Arguments: map[string]any{"value": 10, "from": "lb", "to": "kg"}}),
		enginetest.Text("10 lb is 4.54 kg."))
	eng.Model.Capabilities |= engine.CapTools
	a := New(eng, nil, WithTools(env.host, ToolOptions{}))
	ans, err := a.Ask(t.Context(), Input{Text: "10 lb in kg?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "10 lb is 4.54 kg." {
		t.Fatalf("answer %q", ans.Answer)
	}
	reqs := eng.Requests()
	first, second := reqs[0], reqs[1]
	if len(first.Tools) != 1 || first.Format != nil {
		t.Fatalf("an engine with CapTools gets the tools natively: %+v", first)
	}
	last := second.Messages[len(second.Messages)-1]
	if last.Role != engine.RoleTool || last.Content != "10 lb = 4.5359 kg" || last.ToolCallID != "call_7" {
		t.Fatalf("tool message %+v", last)
	}
}

// The in-process grammar path on the real stories260K model: the model
// cannot choose tools sensibly, but under CallFormat its output must parse
// as a call of a listed tool with arguments of the schema's types.
func TestRealModelMakesAParseableCall(t *testing.T) {
	e, err := llama.Open(testmodels.Path(t, testmodels.Stories260K), llama.Options{ContextLength: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tools := []engine.Tool{{Name: "units__convert", Description: "Convert units.", Parameters: map[string]any{
		"type": "object",
		"properties": map[string]any{
			"value": map[string]any{"type": "number"},
			"from":  map[string]any{"type": "string", "enum": []any{"km", "mi"}},
			"to":    map[string]any{"type": "string", "enum": []any{"km", "mi"}},
		},
		"required": []any{"value", "from", "to"},
	}}}
	zero := float32(0)
	seed := uint32(1)
	req := engine.ChatRequest{
		Messages: []engine.Message{{Role: engine.RoleUser, Content: "Once upon a time"}},
		Format:   CallFormat(tools, false),
		Options:  engine.Options{Temperature: &zero, Seed: &seed, NumPredict: 120},
	}
	var sb strings.Builder
	for c, err := range e.Chat(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteString(c.Text)
	}
	r, err := ParseReply(sb.String())
	if err != nil {
		t.Fatalf("%v: %q", err, sb.String())
	}
	if r.Call != "units__convert" || (r.With["from"] != "km" && r.With["from"] != "mi") {
		t.Fatalf("reply %+v from %q", r, sb.String())
	}
	switch r.With["value"].(type) {
	case int64, float64:
	default:
		t.Fatalf("value %T %v is not a number: %q", r.With["value"], r.With["value"], sb.String())
	}

	// A whole turn with the real model and the tool loop ends with an
	// answer (one round of calls at most, then the answer-only format).
	box := &fakeBox{}
	a := New(e, nil, WithTools(box, ToolOptions{MaxRounds: 1, Confirm: func(context.Context, ToolCall) (bool, error) { return true, nil }}),
		WithChatOptions(engine.Options{Temperature: &zero, Seed: &seed, NumPredict: 60}))
	ans, err := a.Ask(t.Context(), Input{Text: "Once upon a time"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(box.calls) > 1 || ans.Answer == "" {
		t.Fatalf("%d calls with MaxRounds 1", len(box.calls))
	}
	t.Logf("calls %v, answer %q", box.calls, ans.Answer)
}
