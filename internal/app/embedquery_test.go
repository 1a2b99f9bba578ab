package app_test

import (
	"context"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/internal/app"
)

// queryEngine embeds documents as {1, 0} and queries as {0, 1}, as a model
// with task prefixes would embed them differently.
type queryEngine struct{ *enginetest.Engine }

func (queryEngine) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{0, 1}
	}
	return out, nil
}

func TestPooledEnginesEmbedQueriesAsQueriesWhenTheModelCan(t *testing.T) {
	t.Parallel()
	docs := func(ctx context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = []float32{1, 0}
		}
		return out, nil
	}
	tests := []struct {
		name      string
		load      func() engine.Engine
		wantQuery float32 // the second component of a query's vector
	}{
		{"an engine with EmbedQuery gets the queries", func() engine.Engine {
			e := enginetest.New()
			e.EmbedFn = docs
			return queryEngine{e}
		}, 1},
		{"an engine without it embeds queries as documents", func() engine.Engine {
			e := enginetest.New()
			e.EmbedFn = docs
			return e
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := app.NewPool(func(context.Context, app.Spec) (engine.Engine, error) { return tt.load(), nil })
			t.Cleanup(func() { p.Close() })
			h, err := p.Acquire(t.Context(), app.Spec{Name: "embedder", Path: "/nowhere/embedder.gguf"})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			q, err := h.EmbedQuery(t.Context(), []string{"what is the deposit?"})
			if err != nil {
				t.Fatal(err)
			}
			d, err := h.Embed(t.Context(), []string{"the deposit is two months' rent"})
			if err != nil {
				t.Fatal(err)
			}
			if q[0][1] != tt.wantQuery || d[0][0] != 1 {
				t.Fatalf("query %v, document %v", q[0], d[0])
			}
		})
	}
}
