package app_test

import (
	"context"
	"iter"
	"strings"
	"sync"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/assistant"
)

// recorder keeps the chat requests the real engine under it gets.
type recorder struct {
	engine.Engine
	mu   sync.Mutex
	reqs []engine.ChatRequest
}

func (r *recorder) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Engine.Chat(ctx, req)
}

func TestATurnsSystemTextIsAddedToNooksAndItsTemperatureUsed(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t)
	l := newLoads(cfg)
	var rec *recorder
	var mu sync.Mutex
	a := app.New(cfg, app.WithLoader(func(ctx context.Context, s app.Spec) (engine.Engine, error) {
		e, err := l.load(ctx, s)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		rec = &recorder{Engine: e}
		return rec, nil
	}))
	defer a.Close()
	temp := float32(0.25)
	opts := engineOptions(&temp)
	opts.NumPredict = 4
	turn, err := a.Turn(t.Context(), app.TurnInput{Text: "hello", System: "Answer in French.", Chat: opts})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range turn.Chunks {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if rec == nil || len(rec.reqs) == 0 {
		t.Fatal("the engine got no request")
	}
	req := rec.reqs[0]
	sys := req.Messages[0]
	if sys.Role != engine.RoleSystem || !strings.HasPrefix(sys.Content, assistant.DefaultSystem) || !strings.Contains(sys.Content, "\n\nAnswer in French.") {
		t.Errorf("system message %+v: want nook's rules, then the session's text", sys)
	}
	if req.Options.Temperature == nil || *req.Options.Temperature != temp {
		t.Errorf("temperature %v, want %v", req.Options.Temperature, temp)
	}
}
