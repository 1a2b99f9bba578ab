package enginetest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
)

// Options tune Run to what the engine under test can show.
type Options struct {
	// Prompt is the conversation the chat checks continue. With greedy
	// sampling the model must write at least six words in 48 tokens and
	// keep going for 8 tokens at least. Default: the user message "Once
	// upon a time".
	Prompt []engine.Message
	// Want lists capabilities the engine must report (it may report more).
	Want engine.Capabilities
	// ToolCalls says the model behind the engine calls the first tool it
	// is offered (a scripted model); Run then checks the native round trip:
	// calls come back as ToolCalls and a tool result is accepted. The
	// engine must report CapTools.
	ToolCalls bool
	// Backend, if set, counts the requests the engine has made of its
	// backend (a server); Run checks that Info makes none.
	Backend func() int
	// Stall, if set, makes the backend stop answering until release is
	// called; Run checks that Info does not wait for it and that
	// cancelling a chat that waits for it returns promptly.
	Stall func() (release func())
}

// Promptly is "promptly" in the engine contract: how long a cancelled call
// may take to return. One decode step or one network read is far shorter;
// the margin is for a loaded test machine.
const Promptly = 2 * time.Second

// Run checks the engine.Engine contract on engines made by open, a fresh
// one per check (open registers its Close with t.Cleanup):
//
//   - Info is cheap and pure: the same value on every call, no requests to
//     the backend, no waiting for a stalled backend or a running chat;
//     capabilities are typed and include CapChat and o.Want;
//   - a streamed answer ends with exactly one done chunk, last, carrying
//     Stats and a DoneReason; an error ends the stream;
//   - greedy sampling with a seed is repeatable;
//   - NumPredict ends the answer with DoneReason "length" after exactly
//     NumPredict tokens;
//   - a stop sequence ends the answer just before it, DoneReason "stop";
//   - cancelling ctx mid-stream, before the call, or while the backend has
//     not answered yields an error that is ctx.Err() promptly and nothing
//     after it, and the engine serves the next chat; so does breaking out
//     of the loop;
//   - a request without messages is an error, not an answer;
//   - embeddings (CapEmbed) are unit length, deterministic, distinct for
//     distinct texts and of Info's EmbeddingSize; without CapEmbed, Embed
//     fails with ErrUnsupported;
//   - Tokenize is deterministic, empty for "" and grows with the text;
//   - a JSON schema Format (CapFormat) gives JSON that matches it;
//   - native tool calls (o.ToolCalls) come back as ToolCalls and the tool
//     result is taken;
//   - after Close (which may be repeated) Chat, Embed and Tokenize fail
//     with ErrClosed.
func Run(t *testing.T, open func(t *testing.T) engine.Engine, o Options) {
	t.Helper()
	if len(o.Prompt) == 0 {
		o.Prompt = []engine.Message{{Role: engine.RoleUser, Content: "Once upon a time"}}
	}
	calls := func() int {
		if o.Backend == nil {
			return 0
		}
		return o.Backend()
	}

	var caps engine.Capabilities
	t.Run("info is cheap, pure and typed", func(t *testing.T) {
		e := open(t)
		before := calls()
		start := time.Now()
		first := e.Info()
		caps = first.Capabilities
		for range 1000 {
			if got := e.Info(); !reflect.DeepEqual(got, first) {
				t.Fatalf("Info changed between calls:\n%+v\n%+v", first, got)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Info is slow: %v for a few calls", d)
			}
		}
		if n := calls() - before; n != 0 {
			t.Errorf("Info made %d requests of the backend", n)
		}
		c := first.Capabilities
		if !c.Has(engine.CapChat) {
			t.Errorf("capabilities %q lack chat", c)
		}
		if !c.Has(o.Want) {
			t.Errorf("capabilities %q, want at least %q", c, o.Want)
		}
		if o.ToolCalls && !c.Has(engine.CapTools) {
			t.Errorf("the model calls tools but capabilities %q lack tools", c)
		}
		if first.Name == "" || first.Backend == "" {
			t.Errorf("Info names no model or backend: %+v", first)
		}
	})

	t.Run("a streamed answer ends with one done chunk carrying stats and a reason", func(t *testing.T) {
		e := open(t)
		r := chat(t, e, t.Context(), request(o, greedy(24)))
		r.mustEnd(t)
		if r.text == "" {
			t.Error("no text")
		}
		if r.done.DoneReason != "stop" && r.done.DoneReason != "length" {
			t.Errorf("done reason %q, want stop or length", r.done.DoneReason)
		}
		if st := r.done.Stats; st.DecodeTokens <= 0 || st.DecodeTokens > 24 || st.PromptTokens <= 0 {
			t.Errorf("stats %+v: want 1..24 decoded tokens and a prompt count", *st)
		}
	})

	t.Run("greedy sampling with a seed is repeatable", func(t *testing.T) {
		e := open(t)
		a := chat(t, e, t.Context(), request(o, greedy(24)))
		b := chat(t, e, t.Context(), request(o, greedy(24)))
		a.mustEnd(t)
		b.mustEnd(t)
		if a.text != b.text {
			t.Fatalf("the same request answered\n%q\n%q", a.text, b.text)
		}
	})

	t.Run("NumPredict ends the answer with reason length", func(t *testing.T) {
		e := open(t)
		r := chat(t, e, t.Context(), request(o, greedy(5)))
		r.mustEnd(t)
		if r.done.DoneReason != "length" || r.done.Stats.DecodeTokens != 5 {
			t.Fatalf("reason %q after %d tokens, want length after 5", r.done.DoneReason, r.done.Stats.DecodeTokens)
		}
	})

	t.Run("a stop sequence ends the answer just before it", func(t *testing.T) {
		e := open(t)
		full := chat(t, e, t.Context(), request(o, greedy(48)))
		full.mustEnd(t)
		words := strings.Fields(full.text)
		if len(words) < 6 {
			t.Fatalf("the model wrote too little to test stop sequences: %q", full.text)
		}
		stop := words[4]
		opts := greedy(48)
		opts.Stop = []string{stop}
		cut := chat(t, e, t.Context(), request(o, opts))
		cut.mustEnd(t)
		want := full.text[:strings.Index(full.text, stop)]
		if cut.text != want || cut.done.DoneReason != "stop" {
			t.Fatalf("with stop %q: %q (reason %q), want %q (reason stop)", stop, cut.text, cut.done.DoneReason, want)
		}
	})

	t.Run("cancelling mid-stream yields ctx.Err promptly and the engine serves the next chat", func(t *testing.T) {
		e := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var cancelled time.Time
		var got error
		var took time.Duration
		texts, after := 0, 0
		for c, err := range e.Chat(ctx, request(o, engine.Options{NumPredict: 100000})) {
			switch {
			case got != nil || (!cancelled.IsZero() && err == nil):
				after++
			case err != nil:
				got, took = err, time.Since(cancelled)
			case c.Text != "":
				texts++
				if texts == 2 {
					cancelled = time.Now()
					cancel()
				}
			}
		}
		if cancelled.IsZero() {
			t.Fatalf("the answer ended before it could be cancelled (error %v)", got)
		}
		if !errors.Is(got, context.Canceled) {
			t.Fatalf("after cancel: err = %v, want context.Canceled", got)
		}
		if after > 0 {
			t.Errorf("%d items after the cancel", after)
		}
		if took > Promptly {
			t.Errorf("took %v to stop", took)
		}
		usable(t, e, o)
	})

	t.Run("a context cancelled before the call yields ctx.Err and no text", func(t *testing.T) {
		e := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := chat(t, e, ctx, request(o, greedy(8)))
		if !errors.Is(r.err, context.Canceled) || r.text != "" || r.done != nil {
			t.Fatalf("text %q, done %v, err %v; want context.Canceled alone", r.text, r.done != nil, r.err)
		}
		if e.Info().Capabilities.Has(engine.CapEmbed) {
			if _, err := e.Embed(ctx, []string{"a dog"}); !errors.Is(err, context.Canceled) {
				t.Errorf("Embed with a cancelled context: err = %v", err)
			}
		}
		usable(t, e, o)
	})

	t.Run("breaking out of the stream leaves the engine usable", func(t *testing.T) {
		e := open(t)
		for c, err := range e.Chat(t.Context(), request(o, engine.Options{NumPredict: 100000})) {
			if err != nil {
				t.Fatal(err)
			}
			if c.Text != "" {
				break
			}
		}
		usable(t, e, o)
	})

	t.Run("a request without messages is an error, not an answer", func(t *testing.T) {
		e := open(t)
		r := chat(t, e, t.Context(), engine.ChatRequest{Options: greedy(4)})
		if r.err == nil || r.done != nil {
			t.Fatalf("err %v, done chunk %v", r.err, r.done != nil)
		}
		usable(t, e, o)
	})

	t.Run("embeddings are unit length, deterministic and distinct", func(t *testing.T) {
		e := open(t)
		info := e.Info()
		texts := []string{"The dog ran in the park.", "The dog ran in the park.", "Mom baked a cake for the party."}
		vecs, err := e.Embed(t.Context(), texts)
		if !info.Capabilities.Has(engine.CapEmbed) {
			if !errors.Is(err, engine.ErrUnsupported) {
				t.Fatalf("without CapEmbed, Embed: err = %v, want ErrUnsupported", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(vecs) != len(texts) {
			t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
		}
		for i, v := range vecs {
			if len(v) == 0 || len(v) != len(vecs[0]) || (info.EmbeddingSize > 0 && len(v) != info.EmbeddingSize) {
				t.Fatalf("vector %d has %d dimensions (first %d, Info %d)", i, len(v), len(vecs[0]), info.EmbeddingSize)
			}
			if n := dot(v, v); math.Abs(n-1) > 1e-3 {
				t.Errorf("vector %d has norm² %f", i, n)
			}
		}
		if dot(vecs[0], vecs[1]) < 0.9999 {
			t.Error("the same text embeds differently")
		}
		if dot(vecs[0], vecs[2]) > 0.9999 {
			t.Error("different texts embed the same")
		}
		again, err := e.Embed(t.Context(), texts[:1])
		if err != nil || len(again) != 1 || dot(again[0], vecs[0]) < 0.9999 {
			t.Errorf("a second call embeds differently (err %v)", err)
		}
		if none, err := e.Embed(t.Context(), nil); err != nil || len(none) != 0 {
			t.Errorf("no texts: %d vectors, err %v; want none and no error", len(none), err)
		}
		usable(t, e, o)
	})

	t.Run("tokenize is deterministic and grows with the text", func(t *testing.T) {
		e := open(t)
		empty, err := e.Tokenize("")
		if err != nil || len(empty) != 0 {
			t.Errorf(`Tokenize(""): %v, %v; want no tokens`, empty, err)
		}
		const s = "Once upon a time there was a little dog."
		a, err := e.Tokenize(s)
		if err != nil || len(a) == 0 {
			t.Fatalf("Tokenize: %v, %v", a, err)
		}
		b, _ := e.Tokenize(s)
		if !slices.Equal(a, b) {
			t.Errorf("the same text tokenizes differently: %v %v", a, b)
		}
		if c, _ := e.Tokenize(s + " " + s); len(c) <= len(a) {
			t.Errorf("twice the text: %d tokens, once: %d", len(c), len(a))
		}
	})

	if caps.Has(engine.CapFormat) {
		t.Run("a JSON schema format gives JSON that matches it", func(t *testing.T) {
			e := open(t)
			req := request(o, greedy(200))
			req.Format = map[string]any{
				"type":       "object",
				"properties": map[string]any{"happy": map[string]any{"type": "boolean"}, "mood": map[string]any{"enum": []any{"sad", "glad"}}},
				"required":   []any{"happy", "mood"},
			}
			r := chat(t, e, t.Context(), req)
			r.mustEnd(t)
			var got struct {
				Happy *bool  `json:"happy"`
				Mood  string `json:"mood"`
			}
			if err := json.Unmarshal([]byte(r.text), &got); err != nil || got.Happy == nil || (got.Mood != "sad" && got.Mood != "glad") {
				t.Fatalf("%q does not match the schema (%v)", r.text, err)
			}
		})
	}

	if o.ToolCalls {
		t.Run("native tool calls come back and their results are taken", func(t *testing.T) {
			e := open(t)
			tools := []engine.Tool{{Name: "weather", Description: "The weather in a city.", Parameters: map[string]any{
				"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"},
			}}}
			req := request(o, greedy(48))
			req.Tools = tools
			r := chat(t, e, t.Context(), req)
			r.mustEnd(t)
			if len(r.calls) == 0 || r.calls[0].Name != "weather" || r.calls[0].Arguments == nil {
				t.Fatalf("tool calls %+v, want a call of weather with arguments", r.calls)
			}
			req.Messages = append(slices.Clone(req.Messages),
				engine.Message{Role: engine.RoleAssistant, Content: r.text, ToolCalls: r.calls},
				engine.Message{Role: engine.RoleTool, ToolName: r.calls[0].Name, ToolCallID: r.calls[0].ID, Content: "sunny, 21 °C"})
			next := chat(t, e, t.Context(), req)
			next.mustEnd(t)
			if next.text == "" && len(next.calls) == 0 {
				t.Fatal("no answer after the tool result")
			}
		})
	}

	t.Run("info is safe to call during a chat", func(t *testing.T) {
		e := open(t) // Info has not been called yet: a lazy first fill races here
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var seen []engine.ModelInfo
		wg.Go(func() {
			for {
				if i := e.Info(); len(seen) == 0 || !reflect.DeepEqual(i, seen[len(seen)-1]) {
					seen = append(seen, i)
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
		var mine []engine.ModelInfo // the consumer asks too, as a UI showing stats does
		for _, err := range e.Chat(t.Context(), request(o, greedy(16))) {
			if err != nil {
				t.Error(err)
			}
			// The chat is paused in its yield, holding whatever it holds:
			// Info must not wait for it.
			i, ok := infoWithin(e, Promptly)
			if !ok {
				t.Error("Info waits for a running chat")
				break
			}
			mine = append(mine, i)
		}
		close(stop)
		wg.Wait()
		for _, i := range mine {
			seen = append(seen, i)
		}
		seen = slices.CompactFunc(seen, func(a, b engine.ModelInfo) bool { return reflect.DeepEqual(a, b) })
		if len(seen) != 1 || !reflect.DeepEqual(seen[0], e.Info()) {
			t.Errorf("Info changed during a chat: %d values", len(seen))
		}
	})

	if o.Stall != nil {
		t.Run("with the backend stalled, Info answers at once and a waiting chat cancels promptly", func(t *testing.T) {
			e := open(t)
			release := o.Stall()
			defer release()
			start := time.Now()
			want := e.Info() // the first call too: nothing is fetched lazily
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Info took %v with the backend stalled", d)
			}
			for range 100 {
				if !reflect.DeepEqual(e.Info(), want) {
					t.Fatal("Info changed while the backend stalled")
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("100 calls of Info took %v with the backend stalled", d)
			}
			ctx, cancel := context.WithCancel(t.Context())
			timer := time.AfterFunc(50*time.Millisecond, cancel)
			defer timer.Stop()
			r := chat(t, e, ctx, request(o, greedy(8)))
			if !errors.Is(r.err, context.Canceled) || r.text != "" {
				t.Fatalf("text %q err %v, want context.Canceled", r.text, r.err)
			}
			if d := time.Since(start); d > Promptly+time.Second {
				t.Fatalf("the stalled chat took %v to return after cancel", d)
			}
			release()
			usable(t, e, o)
		})
	}

	t.Run("a closed engine refuses work with ErrClosed", func(t *testing.T) {
		e := open(t)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("a second Close: %v", err)
		}
		r := chat(t, e, t.Context(), request(o, greedy(4)))
		if !errors.Is(r.err, engine.ErrClosed) || r.done != nil {
			t.Errorf("Chat after Close: err %v, done %v", r.err, r.done != nil)
		}
		if _, err := e.Embed(t.Context(), []string{"x"}); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("Embed after Close: %v", err)
		}
		if _, err := e.Tokenize("x"); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("Tokenize after Close: %v", err)
		}
		_ = e.Info() // still answers
	})
}

func greedy(n int) engine.Options {
	zero, seed := float32(0), uint32(42)
	return engine.Options{Temperature: &zero, Seed: &seed, NumPredict: n}
}

func request(o Options, opts engine.Options) engine.ChatRequest {
	return engine.ChatRequest{Messages: slices.Clone(o.Prompt), Options: opts}
}

// result is a drained chat.
type result struct {
	text  string
	calls []engine.ToolCall
	done  *engine.Chunk
	err   error
	// problems break the stream's shape: items after the done chunk or an
	// error, more than one done chunk, a done chunk without stats.
	problems []string
}

func chat(t *testing.T, e engine.Engine, ctx context.Context, req engine.ChatRequest) result {
	t.Helper()
	var r result
	var text strings.Builder
	for c, err := range e.Chat(ctx, req) {
		if r.err != nil || r.done != nil {
			r.problems = append(r.problems, "an item after the end of the stream")
		}
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			continue
		}
		text.WriteString(c.Text)
		r.calls = append(r.calls, c.ToolCalls...)
		if c.Done {
			if c.Stats == nil || c.DoneReason == "" {
				r.problems = append(r.problems, "a done chunk without stats or reason")
			}
			if r.done == nil {
				r.done = &c
			}
		}
	}
	r.text = text.String()
	for _, p := range r.problems {
		t.Errorf("stream: %s", p)
	}
	return r
}

// mustEnd fails t unless the stream ended with a done chunk and no error.
func (r result) mustEnd(t *testing.T) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.done == nil {
		t.Fatal("the stream ended without a done chunk")
	}
	if r.done.Stats == nil {
		t.Fatal("the done chunk has no stats")
	}
}

// usable checks that e answers a short chat.
func usable(t *testing.T, e engine.Engine, o Options) {
	t.Helper()
	r := chat(t, e, t.Context(), request(o, greedy(3)))
	r.mustEnd(t)
	if r.done.Stats.DecodeTokens != 3 || r.done.DoneReason != "length" {
		t.Fatalf("the next chat: %d tokens, reason %q; want 3, length", r.done.Stats.DecodeTokens, r.done.DoneReason)
	}
}

// infoWithin calls e.Info, giving up after d.
func infoWithin(e engine.Engine, d time.Duration) (engine.ModelInfo, bool) {
	got := make(chan engine.ModelInfo, 1)
	go func() { got <- e.Info() }()
	select {
	case i := <-got:
		return i, true
	case <-time.After(d):
		return engine.ModelInfo{}, false
	}
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
