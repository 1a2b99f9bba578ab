package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/testmodels"
)

// newPool is a pool over the counting loader; gated: loads wait for
// close(l.gate).
func newPool(t *testing.T, gated bool, opts ...app.PoolOption) (*app.Pool, *loads) {
	t.Helper()
	l := newLoads(newConfig(t, newRegistry(t)))
	if gated {
		l.gate = make(chan struct{})
	}
	p := app.NewPool(l.load, opts...)
	t.Cleanup(func() { p.Close() })
	return p, l
}

func TestConcurrentCallersShareOneLoad(t *testing.T) {
	t.Parallel()
	p, l := newPool(t, true)
	spec := app.Spec{Name: "stories", Path: stories(t)}

	const callers = 8
	var wg sync.WaitGroup
	handles := make([]*app.Engine, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handles[i], errs[i] = p.Acquire(t.Context(), spec)
		}()
	}
	<-l.entered
	eventually(t, "every caller waits on the one load", func() bool {
		ls := p.Loaded()
		return len(ls) == 1 && ls[0].Loading && ls[0].Refs == callers
	})
	close(l.gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if n := l.n.Load(); n != 1 {
		t.Fatalf("%d loads for %d callers of one model, want 1", n, callers)
	}
	for _, h := range handles[1:] {
		if h.Info().Path != handles[0].Info().Path {
			t.Fatalf("callers got different engines")
		}
	}
	for i, h := range handles {
		h.Close()
		h.Close() // twice is harmless
		want := int32(0)
		if i == callers-1 {
			want = 1
		}
		if got := l.closed.Load(); got != want {
			t.Fatalf("after %d of %d releases: %d closes, want %d", i+1, callers, got, want)
		}
	}
	if ls := p.Loaded(); len(ls) != 0 {
		t.Fatalf("still loaded after the last release: %+v", ls)
	}
}

func TestTwoModelsLoadSeparatelyAndUnloadOnTheirOwn(t *testing.T) {
	t.Parallel()
	p, l := newPool(t, false)
	a, err := p.Acquire(t.Context(), app.Spec{Name: "stories", Path: stories(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(t.Context(), app.Spec{Name: "tiny", Path: testmodels.Path(t, testmodels.TinyRandom)})
	if err != nil {
		t.Fatal(err)
	}
	a2 := a.Ref()
	if n := l.n.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
	a.Close()
	b.Close()
	if got := l.closed.Load(); got != 1 {
		t.Fatalf("%d closes after releasing tiny and one of two stories references, want 1", got)
	}
	if _, err := a.Tokenize("hi"); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("a released reference still works: %v", err)
	}
	if _, err := a2.Tokenize("hi"); err != nil {
		t.Fatalf("the other reference stopped working: %v", err)
	}
	a2.Close()
	if got := l.closed.Load(); got != 2 {
		t.Fatalf("%d closes, want 2", got)
	}
}

func TestAWaiterThatGivesUpLeavesTheLoadToTheOthers(t *testing.T) {
	t.Parallel()
	p, l := newPool(t, true)
	spec := app.Spec{Name: "stories", Path: stories(t)}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := p.Acquire(ctx, spec)
		done <- err
	}()
	<-l.entered
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled waiter got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled waiter still waits for the load")
	}
	// Nobody wants it any more: once loaded it is freed.
	close(l.gate)
	eventually(t, "the engine nobody waits for is freed", func() bool { return l.closed.Load() == 1 })
	if ls := p.Loaded(); len(ls) != 0 {
		t.Fatalf("still in the pool: %+v", ls)
	}
}

func TestKeepAliveHoldsAnIdleEngineUntilUnload(t *testing.T) {
	t.Parallel()
	p, l := newPool(t, false, app.KeepAlive(time.Hour))
	spec := app.Spec{Name: "stories", Path: stories(t)}
	h, err := p.Acquire(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if h, err = p.Acquire(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if n, c := l.n.Load(), l.closed.Load(); n != 1 || c != 0 {
		t.Fatalf("with keep-alive: %d loads, %d closes; want 1 and 0", n, c)
	}
	if !p.Unload(spec) {
		t.Fatal("Unload found nothing")
	}
	if c := l.closed.Load(); c != 1 {
		t.Fatalf("after Unload: %d closes, want 1", c)
	}
}

func TestChatsOnALocalEngineRunOneAtATime(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	p := app.NewPool(app.NewLoader(cfg))
	defer p.Close()
	spec := app.Spec{Name: "stories", Path: stories(t)}
	first, err := p.Acquire(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second := first.Ref()
	defer second.Close()
	temp := float32(0)
	req := engine.ChatRequest{Raw: true, Messages: []engine.Message{{Role: engine.RoleUser, Content: "Once upon a time"}},
		Options: engine.Options{NumPredict: 8, Temperature: &temp}}

	inFirst := make(chan struct{})
	goOn := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		var err error
		once := sync.Once{}
		for _, e := range first.Chat(t.Context(), req) {
			once.Do(func() { close(inFirst); <-goOn })
			if e != nil {
				err = e
			}
		}
		firstDone <- err
	}()
	<-inFirst
	// While the first chat streams, a second one waits, and gives up with
	// its ctx.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	for _, err := range second.Chat(ctx, req) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a second chat during the first: %v, want it to wait until its deadline", err)
		}
	}
	if _, err := second.Embed(ctx, []string{"x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an embedding during a chat: %v, want it to wait", err)
	}
	close(goOn)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	var text string
	for c, err := range second.Chat(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		text += c.Text
	}
	if text == "" {
		t.Fatal("the second chat, after the first, said nothing")
	}
}

func TestAFailedLoadIsNotKept(t *testing.T) {
	t.Parallel()
	p, l := newPool(t, false)
	bad := app.Spec{Name: "vocab", Path: testmodels.Path(t, testmodels.VocabPhi3)}
	for range 2 {
		if _, err := p.Acquire(t.Context(), bad); !errors.Is(err, engine.ErrBadModel) {
			t.Fatalf("a vocabulary-only file: %v", err)
		}
	}
	if n := l.n.Load(); n != 2 {
		t.Fatalf("%d loads of a bad file asked for twice, want 2 (a failure is not cached)", n)
	}
}

func TestClosingThePoolFreesEnginesAndRefusesNewCallers(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	l := newLoads(cfg)
	p := app.NewPool(l.load)
	h, err := p.Acquire(t.Context(), app.Spec{Name: "stories", Path: stories(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c := l.closed.Load(); c != 1 {
		t.Fatalf("%d closes, want 1", c)
	}
	if _, err := h.Tokenize("hi"); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("a reference after Close: %v", err)
	}
	h.Close()
	if _, err := p.Acquire(t.Context(), app.Spec{Name: "stories", Path: stories(t)}); !errors.Is(err, app.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
}
