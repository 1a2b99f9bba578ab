package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nook-ai/nook/engine"
)

// Engine is a scripted engine.Engine. It plays canned replies (one per Chat
// call, the last one repeating), honours NumPredict, stop sequences, the
// context length and cancellation the way a real engine does, records every
// call, and lets a test take over any method with a hook. Set its fields
// before the first call; it is safe for concurrent use after that.
type Engine struct {
	// Model is what Info returns. New fills it with DefaultModel.
	Model engine.ModelInfo
	// Replies are played one per Chat call; the last repeats. With none,
	// Chat writes a short story, or, when the request has a Format, the
	// smallest JSON value of the schema, or, when it offers Tools and the
	// last message is the user's, a call of the first tool.
	Replies []Reply
	// TokenDelay is a pause before each token (a slow model), cut short by
	// cancellation.
	TokenDelay time.Duration

	// ChatFn, EmbedFn and TokenizeFn, when set, replace the scripted
	// behaviour (calls are still recorded and a closed engine still
	// refuses them).
	ChatFn     func(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error]
	EmbedFn    func(ctx context.Context, texts []string) ([][]float32, error)
	TokenizeFn func(text string) ([]int, error)

	mu        sync.Mutex
	requests  []engine.ChatRequest
	embedded  [][]string
	tokenized []string
	closed    bool
}

var _ engine.Engine = (*Engine)(nil)

// Reply is one scripted answer.
type Reply struct {
	// Tokens are streamed one per token (a chunk may hold back text that
	// could start a stop sequence, as real engines do).
	Tokens []string
	// ToolCalls come in a chunk of their own after the tokens, before the
	// done chunk (the way Ollama streams them).
	ToolCalls []engine.ToolCall
	// Err, when set, is yielded after the tokens instead of a done chunk:
	// a failure mid-stream.
	Err error
}

// Text is a reply that streams s a word at a time ("Hello", " world").
func Text(s string) Reply { return Reply{Tokens: words(s)} }

// Calls is a reply that makes the given tool calls.
func Calls(calls ...engine.ToolCall) Reply { return Reply{ToolCalls: calls} }

// DefaultModel is the ModelInfo of New's engine.
var DefaultModel = engine.ModelInfo{
	Name: "scripted", Architecture: "scripted", Parameters: 1000, Quantization: "F32",
	ContextLength: 4096, TrainedLength: 4096, EmbeddingSize: 32,
	Backend: "scripted", Template: "plain",
	Capabilities: engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTokenize,
}

// Story is what the scripted engine writes when no reply is scripted.
const Story = "Once upon a time there was a little dog named Sam. Sam liked to run in the big green park with his red ball. " +
	"One day the ball rolled into the pond and Sam was sad. A kind duck swam over and pushed the ball back to him. " +
	"Sam wagged his tail and said thank you. From that day the dog and the duck played together every morning."

// New returns a scripted engine with DefaultModel that plays replies.
func New(replies ...Reply) *Engine {
	return &Engine{Model: DefaultModel, Replies: replies}
}

// Info returns e.Model.
func (e *Engine) Info() engine.ModelInfo { return e.Model }

// Requests returns the chat requests received so far, oldest first.
func (e *Engine) Requests() []engine.ChatRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]engine.ChatRequest(nil), e.requests...)
}

// Embedded returns the texts of every Embed call so far.
func (e *Engine) Embedded() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]string(nil), e.embedded...)
}

// Tokenized returns the text of every Tokenize call so far.
func (e *Engine) Tokenized() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.tokenized...)
}

// Close makes every later call fail with engine.ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}

// Tokenize gives one id per whitespace-separated word (a hash of it).
func (e *Engine) Tokenize(text string) ([]int, error) {
	e.mu.Lock()
	e.tokenized = append(e.tokenized, text)
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, engine.ErrClosed
	}
	return e.tokenize(text)
}

func (e *Engine) tokenize(text string) ([]int, error) {
	if e.TokenizeFn != nil {
		return e.TokenizeFn(text)
	}
	f := strings.Fields(text)
	ids := make([]int, len(f))
	for i, w := range f {
		h := fnv.New32a()
		h.Write([]byte(w))
		ids[i] = int(h.Sum32() % 32000)
	}
	return ids, nil
}

// Embed hashes the words of each text into a vector of
// Model.EmbeddingSize (default 32) and normalises it: the same text gives
// the same vector, texts that share words point the same way.
func (e *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	e.embedded = append(e.embedded, append([]string(nil), texts...))
	closed := e.closed
	e.mu.Unlock()
	switch {
	case closed:
		return nil, engine.ErrClosed
	case e.EmbedFn != nil:
		return e.EmbedFn(ctx, texts)
	case !e.Model.Capabilities.Has(engine.CapEmbed):
		return nil, fmt.Errorf("enginetest: embed: %w", engine.ErrUnsupported)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	dim := e.Model.EmbeddingSize
	if dim <= 0 {
		dim = 32
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, dim)
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			h := fnv.New64a()
			h.Write([]byte(w))
			s := h.Sum64()
			sign := float32(1)
			if s>>63 == 1 {
				sign = -1
			}
			v[s%uint64(dim)] += sign
		}
		out[i] = engine.Normalize(v)
	}
	return out, nil
}

// Chat records req and plays the next reply.
func (e *Engine) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	req.Messages = append([]engine.Message(nil), req.Messages...)
	req.Tools = append([]engine.Tool(nil), req.Tools...)
	e.mu.Lock()
	n := len(e.requests)
	e.requests = append(e.requests, req)
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return func(yield func(engine.Chunk, error) bool) { yield(engine.Chunk{}, engine.ErrClosed) }
	}
	if e.ChatFn != nil {
		return e.ChatFn(ctx, req)
	}
	return func(yield func(engine.Chunk, error) bool) {
		if err := e.play(ctx, req, e.reply(n, req), yield); err != nil {
			yield(engine.Chunk{}, err)
		}
	}
}

func (e *Engine) reply(n int, req engine.ChatRequest) Reply {
	switch {
	case len(e.Replies) > 0:
		return e.Replies[min(n, len(e.Replies)-1)]
	case req.Format != nil:
		b, _ := json.Marshal(instance(req.Format))
		var toks []string
		for s := string(b); s != ""; s = s[min(3, len(s)):] {
			toks = append(toks, s[:min(3, len(s))])
		}
		return Reply{Tokens: toks}
	case len(req.Tools) > 0 && len(req.Messages) > 0 && req.Messages[len(req.Messages)-1].Role == engine.RoleUser:
		args, _ := instance(req.Tools[0].Parameters).(map[string]any)
		return Calls(engine.ToolCall{ID: fmt.Sprintf("call_%d", n), Name: req.Tools[0].Name, Arguments: args})
	}
	return Text(Story)
}

// play streams r as an engine would: it stops at NumPredict, the context
// length or a stop sequence, and returns ctx.Err() once ctx is done.
// It returns an error only before the done chunk.
func (e *Engine) play(ctx context.Context, req engine.ChatRequest, r Reply, yield func(engine.Chunk, error) bool) error {
	start := time.Now()
	if len(req.Messages) == 0 {
		return errors.New("enginetest: chat: no messages")
	}
	prompt := 0
	for _, m := range req.Messages {
		ids, err := e.tokenize(m.Content)
		if err != nil {
			return fmt.Errorf("enginetest: chat: %w", err)
		}
		prompt += len(ids) + 1
	}
	nCtx := e.Model.ContextLength
	if nCtx > 0 && prompt >= nCtx {
		return fmt.Errorf("enginetest: chat: %d prompt tokens, context %d: %w", prompt, nCtx, engine.ErrContextFull)
	}
	stats := &engine.Stats{PromptTokens: prompt, PromptEvaluated: prompt, ContextLength: nCtx, PromptDuration: time.Since(start)}
	decodeStart := time.Now()
	var text strings.Builder
	shown := 0
	reason := "stop"
	stopped := false
	for _, tok := range r.Tokens {
		if err := e.wait(ctx); err != nil {
			return err
		}
		if n := req.Options.NumPredict; (n > 0 && stats.DecodeTokens >= n) || (nCtx > 0 && prompt+stats.DecodeTokens >= nCtx) {
			reason = "length"
			break
		}
		if stats.DecodeTokens == 0 {
			stats.TimeToFirst = time.Since(start)
		}
		stats.DecodeTokens++
		text.WriteString(tok)
		all := text.String()
		cut, keep := stopAt(all, req.Options.Stop)
		if cut >= 0 {
			keep, stopped = cut, true
		}
		if keep > shown {
			if !yield(engine.Chunk{Text: all[shown:keep]}, nil) {
				return nil
			}
			shown = keep
		}
		if stopped {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Err != nil && reason != "length" && !stopped {
		return r.Err
	}
	if len(r.ToolCalls) > 0 && reason != "length" && !stopped {
		if !yield(engine.Chunk{ToolCalls: append([]engine.ToolCall(nil), r.ToolCalls...)}, nil) {
			return nil
		}
	}
	rest := ""
	if !stopped {
		rest = text.String()[shown:]
	}
	stats.DecodeDuration = time.Since(decodeStart)
	stats.ContextUsed = prompt + stats.DecodeTokens
	yield(engine.Chunk{Text: rest, Done: true, DoneReason: reason, Stats: stats}, nil)
	return nil
}

func (e *Engine) wait(ctx context.Context) error {
	if e.TokenDelay > 0 {
		t := time.NewTimer(e.TokenDelay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err()
}

// stopAt finds the first stop sequence in text. It returns where it starts
// (-1 for none) and how much of text is safe to show: all of it but the
// longest tail that could still grow into a stop sequence.
func stopAt(text string, stops []string) (cut, safe int) {
	cut, safe = -1, len(text)
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
		for k := min(len(s)-1, len(text)); k > 0; k-- {
			if strings.HasPrefix(s, text[len(text)-k:]) {
				safe = min(safe, len(text)-k)
				break
			}
		}
	}
	return cut, safe
}

// words splits s before each space, keeping the space with the word after.
func words(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s[1:], ' ')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// instance is the smallest value a JSON schema accepts: the first of an
// enum or of oneOf/anyOf, every required property of an object, zero
// values for the rest.
func instance(schema map[string]any) any {
	if schema == nil {
		return map[string]any{}
	}
	if v, ok := schema["const"]; ok {
		return v
	}
	if e, ok := schema["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := schema[k].([]any); ok && len(alts) > 0 {
			if m, ok := alts[0].(map[string]any); ok {
				return instance(m)
			}
		}
	}
	switch schema["type"] {
	case "string":
		return ""
	case "number", "integer":
		return 0
	case "boolean":
		return false
	case "array":
		return []any{}
	case "null":
		return nil
	}
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		if !required(schema, name) {
			continue
		}
		pm, _ := p.(map[string]any)
		out[name] = instance(pm)
	}
	return out
}

func required(schema map[string]any, name string) bool {
	switch r := schema["required"].(type) {
	case []any:
		for _, x := range r {
			if x == name {
				return true
			}
		}
	case []string:
		for _, x := range r {
			if x == name {
				return true
			}
		}
	}
	return false
}
