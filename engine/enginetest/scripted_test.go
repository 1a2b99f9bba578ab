package enginetest_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
)

func TestTheScriptedEngineKeepsTheEngineContract(t *testing.T) {
	t.Parallel()
	var engines []*enginetest.Engine
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		e := enginetest.New()
		e.Model.Capabilities |= engine.CapTools
		engines = append(engines, e)
		t.Cleanup(func() { e.Close() })
		return e
	}, enginetest.Options{
		Want:      engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTokenize | engine.CapTools,
		ToolCalls: true,
		Backend: func() int {
			e := engines[len(engines)-1]
			return len(e.Requests()) + len(e.Embedded()) + len(e.Tokenized())
		},
		// A stalled scripted model is one whose next token never comes.
		Stall: func() func() {
			e := engines[len(engines)-1]
			e.TokenDelay = time.Hour
			return func() { e.TokenDelay = 0 }
		},
	})
}

func TestTheScriptedEngineWithoutEmbeddingsSaysSo(t *testing.T) {
	t.Parallel()
	e := enginetest.New()
	e.Model.Capabilities = engine.CapChat
	if _, err := e.Embed(t.Context(), []string{"x"}); !errors.Is(err, engine.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

func collect(t *testing.T, seq iter.Seq2[engine.Chunk, error]) (texts []string, last engine.Chunk, calls []engine.ToolCall, err error) {
	t.Helper()
	for c, e := range seq {
		if e != nil {
			return texts, last, calls, e
		}
		if c.Text != "" {
			texts = append(texts, c.Text)
		}
		calls = append(calls, c.ToolCalls...)
		last = c
	}
	return texts, last, calls, nil
}

func TestRepliesPlayInOrderAndTheLastRepeats(t *testing.T) {
	t.Parallel()
	call := engine.ToolCall{ID: "c1", Name: "units__convert", Arguments: map[string]any{"value": 3}}
	boom := errors.New("the server went away")
	e := enginetest.New(enginetest.Calls(call), enginetest.Text("Three km is 1.86 miles."), enginetest.Reply{Tokens: []string{"half"}, Err: boom})
	msgs := []engine.Message{{Role: engine.RoleUser, Content: "3 km in miles?"}}

	_, last, calls, err := collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: msgs}))
	if err != nil || !last.Done || len(calls) != 1 || calls[0].ID != "c1" {
		t.Fatalf("first reply: calls %+v, last %+v, err %v", calls, last, err)
	}
	texts, last, _, err := collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: msgs}))
	if diff := cmp.Diff(texts, []string{"Three", " km", " is", " 1.86", " miles."}); err != nil || diff != "" {
		t.Fatalf("second reply (-got +want):\n%s (err %v)", diff, err)
	}
	if last.Stats.DecodeTokens != 5 || last.DoneReason != "stop" || last.Stats.PromptTokens != 5 {
		t.Fatalf("stats %+v reason %q", *last.Stats, last.DoneReason)
	}
	for range 2 { // the failing reply repeats
		texts, _, _, err = collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: msgs}))
		if !errors.Is(err, boom) || len(texts) != 1 {
			t.Fatalf("texts %q err %v, want one token then the error", texts, err)
		}
	}
	if n := len(e.Requests()); n != 4 {
		t.Fatalf("%d requests recorded", n)
	}
}

func TestRecordedRequestsDoNotChangeWithTheCallersSlices(t *testing.T) {
	t.Parallel()
	e := enginetest.New()
	msgs := make([]engine.Message, 1, 4)
	msgs[0] = engine.Message{Role: engine.RoleUser, Content: "first"}
	for range e.Chat(t.Context(), engine.ChatRequest{Messages: msgs}) {
	}
	msgs[0].Content = "changed"
	if got := e.Requests()[0].Messages[0].Content; got != "first" {
		t.Fatalf("recorded %q", got)
	}
}

func TestHooksReplaceTheScriptButCallsAreStillRecorded(t *testing.T) {
	t.Parallel()
	e := enginetest.New()
	e.ChatFn = func(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
		return func(yield func(engine.Chunk, error) bool) {
			yield(engine.Chunk{Text: "hooked", Done: true, Stats: &engine.Stats{}}, nil)
		}
	}
	e.EmbedFn = func(ctx context.Context, texts []string) ([][]float32, error) { return [][]float32{{1}}, nil }
	e.TokenizeFn = func(text string) ([]int, error) { return []int{7}, nil }
	texts, _, _, _ := collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "x"}}}))
	v, _ := e.Embed(t.Context(), []string{"a"})
	ids, _ := e.Tokenize("a b c")
	if len(texts) != 1 || texts[0] != "hooked" || v[0][0] != 1 || ids[0] != 7 {
		t.Fatalf("texts %q vectors %v ids %v", texts, v, ids)
	}
	if len(e.Requests()) != 1 || len(e.Embedded()) != 1 || len(e.Tokenized()) != 1 {
		t.Fatal("hooked calls were not recorded")
	}
	e.Close()
	if _, _, _, err := collect(t, e.Chat(t.Context(), engine.ChatRequest{})); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("a closed engine with a hook: %v", err)
	}
}

func TestAStopSequenceSplitAcrossTokensIsNeverShown(t *testing.T) {
	t.Parallel()
	e := enginetest.New(enginetest.Reply{Tokens: []string{"Hello", " wor", "ld<|im", "_en", "d|>ignored"}})
	req := engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}, Options: engine.Options{Stop: []string{"<|im_end|>"}}}
	texts, last, _, err := collect(t, e.Chat(t.Context(), req))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(texts, []string{"Hello", " wor", "ld"}); diff != "" || last.DoneReason != "stop" {
		t.Fatalf("(-got +want):\n%s reason %q", diff, last.DoneReason)
	}
	// A held-back tail that turns out not to be a stop is shown at the end.
	e = enginetest.New(enginetest.Reply{Tokens: []string{"see you ", "<|im"}})
	texts, last, _, _ = collect(t, e.Chat(t.Context(), req))
	if strings.Join(texts, "") != "see you <|im" || last.Text != "<|im" {
		t.Fatalf("texts %q, last %q", texts, last.Text)
	}
}

func TestTheContextLengthEndsTheAnswerAndAPromptTooLongIsRefused(t *testing.T) {
	t.Parallel()
	e := enginetest.New()
	e.Model.ContextLength = 10
	_, last, _, err := collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "one two three"}}}))
	if err != nil || last.DoneReason != "length" || last.Stats.ContextUsed != 10 {
		t.Fatalf("last %+v err %v", last, err)
	}
	_, _, _, err = collect(t, e.Chat(t.Context(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: strings.Repeat("w ", 20)}}}))
	if !errors.Is(err, engine.ErrContextFull) {
		t.Fatalf("err = %v, want ErrContextFull", err)
	}
}

func TestASlowModelStopsAtCancelInsteadOfFinishingItsToken(t *testing.T) {
	t.Parallel()
	e := enginetest.New()
	e.TokenDelay = time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, _, err := collect(t, e.Chat(ctx, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "x"}}}))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > enginetest.Promptly {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}
