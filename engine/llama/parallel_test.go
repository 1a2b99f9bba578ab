package llama_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testmodels"
)

func openParallel(t *testing.T, slots int) *llama.Parallel {
	t.Helper()
	p, err := llama.OpenParallel(testmodels.Path(t, testmodels.Stories260K), slots, llama.Options{ContextLength: 512})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func story(prompt string, n int) engine.ChatRequest {
	return engine.ChatRequest{Raw: true, Messages: []engine.Message{{Role: engine.RoleUser, Content: prompt}}, Options: greedy(n)}
}

var prompts = []string{"Once upon a time", "The cat sat", "Lily and Tom went to the park", "One day, a big dog", "The sun was hot and", "Tim had a red ball"}

func TestConcurrentSequencesAnswerExactlyAsEachWouldAlone(t *testing.T) {
	t.Parallel()
	p := openParallel(t, 4)
	alone := map[string]string{}
	for _, pr := range prompts {
		alone[pr], _ = collect(t, p, story(pr, 40))
	}
	// The single-sequence engine agrees with a sequence run alone here.
	single := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{ContextLength: 512})
	for _, pr := range prompts[:2] {
		if got, _ := collect(t, single, story(pr, 40)); got != alone[pr] {
			t.Errorf("%q: the one-chat engine says %q, a lone sequence %q", pr, got, alone[pr])
		}
	}
	// Three rounds of every prompt at once: more chats than slots, in
	// different orders, different prompt lengths sharing each batch.
	for round := range 3 {
		var wg sync.WaitGroup
		got := make([]string, len(prompts))
		for i, pr := range prompts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _ = collect(t, p, story(pr, 40))
			}()
		}
		wg.Wait()
		for i, pr := range prompts {
			if got[i] != alone[pr] {
				t.Errorf("round %d, %q:\n at once %q\n alone   %q", round, pr, got[i], alone[pr])
			}
		}
	}
}

func TestAChatWhoseCallerLeavesFreesItsSlotAtOnce(t *testing.T) {
	t.Parallel()
	p := openParallel(t, 1)
	// How long a whole answer (to the context's end) takes here.
	start := time.Now()
	_, full := collect(t, p, story("Once upon a time", 0))
	whole := time.Since(start)
	if full.DecodeTokens < 300 {
		t.Fatalf("a whole answer is %d tokens; want a long one to leave", full.DecodeTokens)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for _, err := range p.Chat(ctx, story("The cat sat", 0)) {
		if err != nil {
			break
		}
		if n++; n == 3 {
			cancel()
		}
	}
	left := time.Now()
	// The only slot is free at once: the next chat does not wait for the
	// abandoned one to run to its end.
	_, st := collect(t, p, story("Tim had a red ball", 4))
	if waited := time.Since(left) - st.DecodeDuration; waited > whole/2 {
		t.Errorf("the next chat started %v after the caller left; a whole answer takes %v", waited, whole)
	}
	// Breaking out of the loop leaves the slot the same way.
	for range p.Chat(context.Background(), story("One day", 0)) {
		break
	}
	before := time.Now()
	collect(t, p, story("The sun", 4))
	if d := time.Since(before); d > whole/2 {
		t.Errorf("after a break, the next chat took %v; a whole answer takes %v", d, whole)
	}
}

func TestEmbeddingsBetweenStepsLeaveTheChatsAlone(t *testing.T) {
	t.Parallel()
	p := openParallel(t, 2)
	want := map[string]string{}
	for _, pr := range prompts[:3] {
		want[pr], _ = collect(t, p, story(pr, 30))
	}
	texts := []string{"a cat", "a dog on a hill"}
	ref, err := p.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	single := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{ContextLength: 512})
	one, err := single.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref {
		if d := maxDiff(ref[i], one[i]); d > 1e-4 {
			t.Errorf("embedding %d differs from the one-chat engine's by %g", i, d)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i, pr := range prompts[:3] {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if got, _ := collect(t, p, story(pr, 30)); got != want[pr] {
				errs <- fmt.Errorf("chat %d: %q, want %q", i, got, want[pr])
			}
		}()
		go func() {
			defer wg.Done()
			vs, err := p.Embed(context.Background(), texts)
			if err != nil || maxDiff(vs[0], ref[0]) > 1e-5 || maxDiff(vs[1], ref[1]) > 1e-5 {
				errs <- fmt.Errorf("embed during chats: %v", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClosingEndsRunningAndWaitingChats(t *testing.T) {
	t.Parallel()
	p, err := llama.OpenParallel(testmodels.Path(t, testmodels.Stories260K), 1, llama.Options{ContextLength: 512})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	started := make(chan struct{}, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c, err := range p.Chat(context.Background(), story("Once upon a time", 0)) {
				if c.Text != "" {
					select {
					case started <- struct{}{}:
					default:
					}
				}
				if err != nil {
					errs[i] = err
				}
			}
		}()
	}
	<-started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	closed := 0
	for _, err := range errs {
		if errors.Is(err, engine.ErrClosed) {
			closed++
		}
	}
	if closed == 0 {
		t.Errorf("errors %v, want the chats cut off with ErrClosed", errs)
	}
	for _, err := range p.Chat(context.Background(), story("x", 1)) {
		if !errors.Is(err, engine.ErrClosed) {
			t.Errorf("a chat after Close: %v, want ErrClosed", err)
		}
	}
	if _, err := p.Embed(context.Background(), []string{"x"}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Embed after Close: %v, want ErrClosed", err)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1
	}
	d := 0.0
	for i := range a {
		d = max(d, float64(a[i]-b[i]), float64(b[i]-a[i]))
	}
	return d
}

// The batching engine keeps the same contract, with every check's chat on
// one of its sequences.
func TestTheBatchingEngineKeepsTheEngineContract(t *testing.T) {
	path := testmodels.Path(t, testmodels.Stories260K)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		p, err := llama.OpenParallel(path, 2, llama.Options{ContextLength: 512})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}, enginetest.Options{
		Want: engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTokenize,
	})
}
