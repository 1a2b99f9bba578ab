package assistant

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"regexp"
	"sort"
	"strings"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
)

// Toolbox is what the tool loop needs from plugins; *plugins.Host
// satisfies it. Call is expected to check grants and to return errors that
// say what to do (they are shown to the model and the user).
type Toolbox interface {
	Tools(ctx context.Context) ([]engine.Tool, error)
	Call(ctx context.Context, name string, args map[string]any) (string, error)
}

// ConsentPolicy is implemented by toolboxes that know which calls the user
// must confirm; without it, every call is confirmed when Confirm is set.
type ConsentPolicy interface {
	NeedsConsent(name string) bool
}

// ToolCall is one call of a turn, reported to ToolOptions.OnCall before it
// runs (Done false) and after (Done true, with Result or Err).
type ToolCall struct {
	Round     int            `json:"round"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
	// Consent: the user was asked; Declined: and said no.
	Consent  bool   `json:"consent,omitempty"`
	Declined bool   `json:"declined,omitempty"`
	Done     bool   `json:"done"`
	Result   string `json:"result,omitempty"`
	Err      error  `json:"-"`
}

// ToolOptions configure the tool loop.
type ToolOptions struct {
	// MaxRounds is how many rounds of calls a turn may make before the
	// model must answer (default 4).
	MaxRounds int
	// Confirm asks the user about a call that needs consent. Nil declines
	// every call that needs consent.
	Confirm func(ctx context.Context, call ToolCall) (bool, error)
	// OnCall is told about each call, before and after it runs.
	OnCall func(ToolCall)
}

type toolConfig struct {
	box Toolbox
	o   ToolOptions
}

// WithTools lets the model call the toolbox's tools during a turn. Engines
// whose Info reports engine.CapTools parse tool calls themselves (Ollama
// models with the tools capability, OpenAI-compatible servers) and get the
// tools natively; other engines (the in-process one, Ollama models without
// tool support) are driven through a JSON schema (a grammar): each reply is
// either {"call": NAME, "with": ARGS} or {"answer": TEXT}. Each call's
// result goes back into the turn as a tool message; a refused or failed
// call goes back as its error.
func WithTools(tb Toolbox, o ToolOptions) Option {
	if o.MaxRounds <= 0 {
		o.MaxRounds = 4
	}
	return func(opts *options) { opts.tools = &toolConfig{box: tb, o: o} }
}

// ToolPrompt is added to the system prompt when the model drives tools
// through the JSON format.
const ToolPrompt = `You can use tools. Reply with JSON only: {"call": "<tool>", "with": {<arguments>}} to call a tool, or {"answer": "<text>"} to answer the user. A tool's result comes back in the next message.
Tools:`

// CallFormat is the JSON schema of a reply in the in-process tool mode: a
// call of one of tools (its arguments constrained by the tool's parameter
// schema) or, when answer is true, an answer. Keys are named so that their
// alphabetical order ("call" < "with") is the order the grammar asks for.
func CallFormat(tools []engine.Tool, answer bool) map[string]any {
	var alts []any
	for _, t := range tools {
		alts = append(alts, map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"call": map[string]any{"const": t.Name}, "with": grammarSchema(t.Parameters)},
			"required":             []any{"call", "with"},
			"additionalProperties": false,
		})
	}
	if answer || len(alts) == 0 {
		alts = append(alts, answerFormat())
	}
	if len(alts) == 1 {
		return alts[0].(map[string]any)
	}
	return map[string]any{"oneOf": alts}
}

func answerFormat() map[string]any {
	return map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"answer": map[string]any{"type": "string"}},
		"required":             []any{"answer"},
		"additionalProperties": false,
	}
}

// grammarSchema keeps the parts of a tool's JSON schema that a grammar
// enforces, and makes every listed property required (a grammar cannot
// guess which optional ones matter; the model fills them all).
func grammarSchema(s map[string]any) map[string]any {
	if s == nil {
		return map[string]any{"type": "object", "additionalProperties": false}
	}
	out := map[string]any{}
	for _, k := range []string{"type", "properties", "items", "enum", "const", "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern"} {
		if v, ok := s[k]; ok {
			out[k] = v
		}
	}
	if props, ok := out["properties"].(map[string]any); ok {
		clean := map[string]any{}
		var names []string
		for name, p := range props {
			if pm, ok := p.(map[string]any); ok {
				clean[name] = grammarSchema(pm)
			} else {
				clean[name] = p
			}
			names = append(names, name)
		}
		sort.Strings(names)
		req := make([]any, len(names))
		for i, n := range names {
			req[i] = n
		}
		out["properties"] = clean
		out["required"] = req
		out["additionalProperties"] = false
	}
	if it, ok := out["items"].(map[string]any); ok {
		out["items"] = grammarSchema(it)
	}
	return out
}

// Reply is a parsed reply of the in-process tool mode.
type Reply struct {
	Call   string         `json:"call"`
	With   map[string]any `json:"with"`
	Answer *string        `json:"answer"`
}

// ParseReply reads a reply made under CallFormat.
func ParseReply(text string) (Reply, error) {
	var r Reply
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("assistant: tool reply is not JSON: %w", err)
	}
	if (r.Call == "") == (r.Answer == nil) {
		return r, fmt.Errorf("assistant: tool reply has neither a call nor an answer (or both): %.80q", text)
	}
	if r.Call != "" && r.With == nil {
		r.With = map[string]any{}
	}
	numbers(r.With)
	return r, nil
}

// numbers turns json.Number values into float64 or int64.
func numbers(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case json.Number:
			if i, err := v.Int64(); err == nil {
				m[k] = i
			} else if f, err := v.Float64(); err == nil {
				m[k] = f
			}
		case map[string]any:
			numbers(v)
		}
	}
}

func describeTools(tools []engine.Tool) string {
	var b strings.Builder
	b.WriteString(ToolPrompt)
	for _, t := range tools {
		params, _ := json.Marshal(t.Parameters["properties"])
		fmt.Fprintf(&b, "\n- %s: %s Arguments: %s", t.Name, strings.TrimSpace(t.Description), params)
	}
	return b.String()
}

// turnTools fetches the toolbox's tools for a turn and what they cost in
// the prompt (see toolCost). When they do not fit beside the instructions
// and the question, it returns no tools and their cost, and the turn goes
// on without them (see toolsOffNotice).
func (a *Assistant) turnTools(ctx context.Context, question string) ([]engine.Tool, int, error) {
	if a.o.tools == nil {
		return nil, 0, nil
	}
	tools, err := a.o.tools.box.Tools(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("assistant: tools: %w", err)
	}
	if len(tools) == 0 {
		return nil, 0, nil
	}
	cost := a.toolCost(tools)
	if a.baseTokens(question)+cost > a.contextLength()-a.answerTokens() {
		return nil, cost, nil
	}
	return tools, cost, nil
}

// toolCost is how many prompt tokens the tools take: their descriptions
// (the JSON-format instructions and the tool list in the system prompt, or
// the schemas a native template renders) and room for one round of a call
// and its result (toolRoundTokens).
func (a *Assistant) toolCost(tools []engine.Tool) int {
	if a.eng.Info().Capabilities.Has(engine.CapTools) {
		b, _ := json.Marshal(tools)
		return a.count(string(b)) + perMessage + a.toolRoundTokens()
	}
	return a.count("\n\n"+describeTools(tools)) + a.toolRoundTokens()
}

// toolRoundTokens is the room kept for a tool call and its result: an
// eighth of the context, at most 256 tokens. Results longer than what is
// left are shortened (fitResult).
func (a *Assistant) toolRoundTokens() int { return min(256, a.contextLength()/8) }

// toolsOffNotice is the line saying why the tools sit a turn out.
func (a *Assistant) toolsOffNotice(question string, cost int) string {
	room := max(a.contextLength()-a.answerTokens()-a.baseTokens(question), 0)
	return fmt.Sprintf("plugins' tools are off for this question: they need %d tokens of the model's %d-token context and %d are free; use a model with a longer context (or raise context_length) to use them",
		cost, a.contextLength(), room)
}

// toolLoop runs req with tools: it calls tools while the model asks for
// them (up to MaxRounds), then streams the answer.
func (a *Assistant) toolLoop(ctx context.Context, req engine.ChatRequest, tools []engine.Tool) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		if a.eng.Info().Capabilities.Has(engine.CapTools) {
			a.nativeLoop(ctx, req, tools, yield)
			return
		}
		a.formatLoop(ctx, req, tools, yield)
	}
}

// formatLoop drives tools through CallFormat (engines without CapTools).
// An answer streams as it is decoded (see replyStream); a call is
// collected, run, and its result goes back to the model.
func (a *Assistant) formatLoop(ctx context.Context, req engine.ChatRequest, tools []engine.Tool, yield func(engine.Chunk, error) bool) {
	tc := a.o.tools
	msgs := append([]engine.Message(nil), req.Messages...)
	if len(msgs) > 0 && msgs[0].Role == engine.RoleSystem {
		msgs[0].Content += "\n\n" + describeTools(tools)
	} else {
		msgs = append([]engine.Message{{Role: engine.RoleSystem, Content: describeTools(tools)}}, msgs...)
	}
	for round := 1; ; round++ {
		r := req
		r.Messages = msgs
		r.Tools = nil
		r.Format = CallFormat(tools, true)
		if round > tc.o.MaxRounds {
			r.Format = answerFormat()
		}
		var rs replyStream
		var done engine.Chunk
		for c, err := range a.eng.Chat(ctx, r) {
			if err != nil {
				yield(engine.Chunk{}, err)
				return
			}
			if text := rs.feed(c.Text); text != "" && !yield(engine.Chunk{Text: text}, nil) {
				return
			}
			if c.Done {
				done = c
			}
		}
		done.Text, done.Done = "", true
		if rs.state != replyCall {
			// An answer (streamed already), or plain text from an engine
			// that ignored the format.
			if text := rs.flush(); text != "" && !yield(engine.Chunk{Text: text}, nil) {
				return
			}
			yield(done, nil)
			return
		}
		reply, err := ParseReply(rs.raw.String())
		if err != nil || reply.Answer != nil {
			// A call cut off (or an answer that did not look like one
			// while it came): never the raw JSON.
			text := cutCallText(rs.raw.String())
			if err == nil {
				text = *reply.Answer
			}
			if yield(engine.Chunk{Text: text}, nil) {
				yield(done, nil)
			}
			return
		}
		call := engine.ToolCall{Name: reply.Call, Arguments: reply.With}
		msgs = append(msgs, engine.Message{Role: engine.RoleAssistant, Content: rs.raw.String(), ToolCalls: []engine.ToolCall{call}})
		result, err := a.runCall(ctx, round, call)
		if err != nil {
			yield(engine.Chunk{}, err)
			return
		}
		msgs = append(msgs, engine.Message{Role: engine.RoleTool, ToolName: call.Name, Content: a.fitResult(msgs, result)})
	}
}

var callNameRE = regexp.MustCompile(`"call"\s*:\s*"([^"\\]*)"`)

// cutCallText is what a reply that broke off inside a call shows.
func cutCallText(raw string) string {
	if m := callNameRE.FindStringSubmatch(raw); m != nil {
		return fmt.Sprintf("(the reply broke off while calling %s)", m[1])
	}
	return "(the reply broke off before it said what to do)"
}

// fitResult shortens a tool's result to what the context has left after
// msgs and the answer reserve, so that the next round still holds the
// question and the call.
func (a *Assistant) fitResult(msgs []engine.Message, result string) string {
	used := 16
	for _, m := range msgs {
		used += a.count(m.Content) + perMessage
	}
	room := a.contextLength() - a.answerTokens() - used - perMessage
	const marker = " … (cut to fit the context)"
	n := a.count(result)
	if n <= room {
		return result
	}
	if room < 16 {
		return "(the result does not fit the model's context)"
	}
	runes := []rune(result)
	keep := len(runes) * (room - 8) / n
	for keep > 0 && a.count(string(runes[:keep]))+8 > room {
		keep = keep * 9 / 10
	}
	return string(runes[:keep]) + marker
}

// nativeLoop passes the tools to an engine that parses calls itself
// (CapTools).
func (a *Assistant) nativeLoop(ctx context.Context, req engine.ChatRequest, tools []engine.Tool, yield func(engine.Chunk, error) bool) {
	tc := a.o.tools
	msgs := append([]engine.Message(nil), req.Messages...)
	for round := 1; ; round++ {
		r := req
		r.Messages = msgs
		r.Tools = tools
		if round > tc.o.MaxRounds {
			r.Tools = nil
		}
		var calls []engine.ToolCall
		var text strings.Builder
		for c, err := range a.eng.Chat(ctx, r) {
			if err != nil {
				yield(engine.Chunk{}, err)
				return
			}
			calls = append(calls, c.ToolCalls...)
			text.WriteString(c.Text)
			if c.Done && len(calls) > 0 {
				break // the turn goes on after the calls
			}
			c.ToolCalls = nil
			if (c.Text != "" || c.Done) && !yield(c, nil) {
				return
			}
		}
		if len(calls) == 0 {
			return
		}
		msgs = append(msgs, engine.Message{Role: engine.RoleAssistant, Content: text.String(), ToolCalls: calls})
		for _, call := range calls {
			result, err := a.runCall(ctx, round, call)
			if err != nil {
				yield(engine.Chunk{}, err)
				return
			}
			msgs = append(msgs, engine.Message{Role: engine.RoleTool, ToolName: call.Name, ToolCallID: call.ID, Content: result})
		}
	}
}

// runCall asks consent when needed, calls the tool and reports it. Tool
// errors (refusals, crashes, timeouts) become the result the model sees;
// only a failing Confirm or a cancelled turn stops the turn.
func (a *Assistant) runCall(ctx context.Context, round int, call engine.ToolCall) (string, error) {
	tc := a.o.tools
	ev := ToolCall{Round: round, Name: call.Name, Arguments: call.Arguments}
	if cp, ok := tc.box.(ConsentPolicy); ok {
		ev.Consent = cp.NeedsConsent(call.Name)
	} else {
		ev.Consent = tc.o.Confirm != nil
	}
	if tc.o.OnCall != nil {
		tc.o.OnCall(ev)
	}
	if ev.Consent {
		ok := false
		if tc.o.Confirm != nil {
			var err error
			if ok, err = tc.o.Confirm(ctx, ev); err != nil {
				return "", fmt.Errorf("assistant: confirm %s: %w", call.Name, err)
			}
		}
		if !ok {
			ev.Declined, ev.Done = true, true
			ev.Result = "the user declined this call"
			if tc.o.OnCall != nil {
				tc.o.OnCall(ev)
			}
			return ev.Result, nil
		}
	}
	res, err := tc.box.Call(ctx, call.Name, call.Arguments)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	ev.Done, ev.Result, ev.Err = true, res, err
	if err != nil {
		msg := err.Error()
		if h := hint.Of(err); h != "" {
			msg += " — " + h
		}
		ev.Result = "error: " + msg
	}
	if tc.o.OnCall != nil {
		tc.o.OnCall(ev)
	}
	return ev.Result, nil
}
