package app_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/app/apptest"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/testmodels"
)

const testPass = apptest.Passphrase

func newRegistry(t *testing.T) *apptest.Registry { return apptest.NewRegistry(t) }

func newConfig(t *testing.T, reg *apptest.Registry) *config.Config { return apptest.Config(t, reg) }

func initVault(t *testing.T, cfg *config.Config) { apptest.InitVault(t, cfg) }

// loads wraps the real loader: it counts loads, can hold them until gate
// is closed, and counts the engines' Closes.
type loads struct {
	real    app.Loader
	n       atomic.Int32
	closed  atomic.Int32
	entered chan app.Spec // each load, as it starts (buffered)
	gate    chan struct{} // nil: loads run at once
	onClose func(app.Spec)
}

func newLoads(cfg *config.Config) *loads {
	return &loads{real: app.NewLoader(cfg), entered: make(chan app.Spec, 64)}
}

func (l *loads) load(ctx context.Context, s app.Spec) (engine.Engine, error) {
	l.n.Add(1)
	l.entered <- s
	if l.gate != nil {
		<-l.gate
	}
	e, err := l.real(ctx, s)
	if err != nil {
		return nil, err
	}
	return &closeCounter{Engine: e, l: l, s: s}, nil
}

type closeCounter struct {
	engine.Engine
	l    *loads
	s    app.Spec
	once sync.Once
}

func (c *closeCounter) Close() error {
	c.once.Do(func() {
		if c.l.onClose != nil {
			c.l.onClose(c.s)
		}
		c.l.closed.Add(1)
	})
	return c.Engine.Close()
}

func stories(t testing.TB) string { return testmodels.Path(t, testmodels.Stories260K) }

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeNote(t *testing.T, dir, name, text string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// engineOptions are greedy, short answers.
func engineOptions(temp *float32) engine.Options {
	return engine.Options{Temperature: temp, NumPredict: 24}
}
