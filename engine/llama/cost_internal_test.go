package llama

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/internal/testmodels"
)

// The costs prompt lookup and the thread plan reason about, on the
// benchmark model of bench/engine (a synthetic 0.44B Q8_0 llama, written
// once to the temp dir):
//
//	go test ./engine/llama/ -run '^$' -bench 'VerifyBatch|PromptThreads' -benchtime 10x
//
// BenchmarkVerifyBatch/draft=k is one decode of the next token plus k
// drafted ones, all with logits, after a 256-token prompt: divided by
// draft=0 it is what a verifying step costs in plain steps (lookup.go
// learns the same as perDraft). BenchmarkPromptThreads evaluates a
// 256-token prompt with 1 and 2 threads pinned; run it beside a busy
// process to see which wins under load.

// benchEngine opens the bench model with room for seqs sequences of ctx
// tokens each.
func benchEngine(b *testing.B, threads, ctx, seqs int) *Engine {
	b.Helper()
	path := testmodels.Synth(b, synth.Bench(testmodels.Path(b, testmodels.VocabLlama), gguf.TypeQ8_0))
	e, err := open(path, Options{Threads: threads, ContextLength: ctx, NoLookup: true}, seqs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func benchPrompt(n int) []int {
	toks := make([]int, n)
	for i := range toks {
		toks[i] = 100 + (i*7919)%20000
	}
	return toks
}

func BenchmarkVerifyBatch(b *testing.B) {
	for _, threads := range []int{1, 2} {
		e := benchEngine(b, threads, 2048, 1)
		if err := e.evaluate(context.Background(), benchPrompt(256)); err != nil {
			b.Fatal(err)
		}
		base := len(e.cache)
		for _, k := range []int{0, 1, 2, 3, 4, 6, 8, 10} {
			b.Run(fmt.Sprintf("threads=%d/draft=%d", threads, k), func(b *testing.B) {
				for b.Loop() {
					e.batch.Clear()
					for i := 0; i <= k; i++ {
						e.batch.Add(200+i, nil, base+i, true, 0)
					}
					if err := e.lctx.Decode(e.batch); err != nil {
						b.Fatal(err)
					}
					e.lctx.KvCacheSeqRm(0, base, -1)
				}
			})
		}
	}
}

func BenchmarkPromptThreads(b *testing.B) {
	e := benchEngine(b, 2, 2048, 1)
	toks := benchPrompt(256)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			if !setThreads(e.lctx, threads) {
				b.Fatal("setThreads failed")
			}
			for b.Loop() {
				e.dropCacheFrom(0)
				if err := e.evaluate(context.Background(), toks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(toks)*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// readPrompts gives sequences 0..seqs-1 a distinct prompt of base tokens
// each.
func readPrompts(tb testing.TB, e *Engine, seqs, base int) {
	tb.Helper()
	for s := range seqs {
		e.batch.Clear()
		for i, t := range benchPrompt(base + s)[s:] {
			e.batch.Add(t, nil, i, false, s)
		}
		if err := e.lctx.Decode(e.batch); err != nil {
			tb.Fatal(err)
		}
	}
}

// decodeStep decodes the next n tokens of each of seqs, after its base-token
// prompt, in one batch, all with logits (a step of those chats with n-1
// drafted tokens each), removes them from the KV cache again and returns
// the decode's time. The step's logits stay readable (GetLogitsIth, in
// the order seqs, then tokens) until the next decode.
func decodeStep(tb testing.TB, e *Engine, seqs []int, n, base int) time.Duration {
	tb.Helper()
	e.batch.Clear()
	for _, s := range seqs {
		for i := range n {
			e.batch.Add(300+17*s+i, nil, base+i, true, s)
		}
	}
	start := time.Now()
	if err := e.lctx.Decode(e.batch); err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	for _, s := range seqs {
		e.lctx.KvCacheSeqRm(s, base, -1)
	}
	return took
}

// BenchmarkSharedVerifyBatch/seqs=m/draft=k is one decode of Parallel's
// shape: m sequences (each after a 64-token prompt of its own), each with
// its next token and k drafted ones, all with logits. Divided by draft=0
// it is what drafting k tokens per chat costs a step of m chats.
func BenchmarkSharedVerifyBatch(b *testing.B) {
	const seqs = 4
	e := benchEngine(b, 2, 1024, seqs+1)
	const base = 64
	readPrompts(b, e, seqs, base)
	for _, m := range []int{1, 4} {
		for _, k := range []int{0, 1, 2, 3, 4, 6, 8, 10} {
			b.Run(fmt.Sprintf("seqs=%d/draft=%d", m, k), func(b *testing.B) {
				for b.Loop() {
					decodeStep(b, e, []int{0, 1, 2, 3}[:m], k+1, base)
				}
			})
		}
	}
}
