package tui_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/styles"
	"github.com/nook-ai/nook/tui/tuitest"
)

// pullingBackend reports a model pull while its model loads.
type pullingBackend struct {
	*tuitest.Backend
	line atomic.Value
}

func (b *pullingBackend) Progress() string { s, _ := b.line.Load().(string); return s }

func TestAModelPullShowsInTheStatusBarWhileTheModelLoads(t *testing.T) {
	b := &pullingBackend{Backend: tuitest.New()}
	b.Block = make(chan struct{})
	b.line.Store("pulling llama3.2: 42% of 2.0 GB, 12.5 MB/s, 1m30s left")
	tm := teatest.NewTestModel(t, tui.New(context.Background(), b, tui.Options{Styles: testStyles(styles.Dark())}),
		teatest.WithInitialTermSize(100, 20))
	t.Cleanup(func() { tm.Quit() })
	waitFor(t, tm, "pulling llama3.2: 42% of 2.0 GB")
	b.line.Store("")
	close(b.Block)
	waitFor(t, tm, "tiny-test")
}
