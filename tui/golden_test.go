package tui_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/styles"
	"github.com/nook-ai/nook/tui/tuitest"
)

// The main screens at 40, 80 and 120 columns; refresh with -update.
func TestGolden(t *testing.T) {
	answer := []string{"The spare ", "key is ", "under the **blue** mat [1].", "\n\n", "```sh\n", "cat notes/home.md\n", "```\n"}
	screens := []struct {
		name  string
		setup func(b *tuitest.Backend)
		drive func(t *testing.T, tm testModel, b *tuitest.Backend)
	}{
		{
			name:  "empty chat",
			drive: func(t *testing.T, tm testModel, b *tuitest.Backend) { ready(t, tm) },
		},
		{
			name: "streamed answer with sources",
			setup: func(b *tuitest.Backend) {
				b.Tokens = answer
				b.Sources = []tui.Source{
					{N: 1, Path: "/home/ada/notes/home.md", StartLine: 3, EndLine: 9, Text: "The spare key: under the blue mat by the door."},
					{N: 2, Path: "/home/ada/notes/garden/plants-and-seeds.md", StartLine: 1, EndLine: 4, Text: "Tomatoes go in after the last frost."},
				}
				b.Stats = engine.Stats{DecodeTokens: 42, DecodeDuration: time.Second, ContextUsed: 310, ContextLength: 2048}
			},
			drive: func(t *testing.T, tm testModel, b *tuitest.Backend) {
				ready(t, tm)
				typeLine(tm, "where is the spare key?")
				waitSaved(t, b)
			},
		},
		{
			name: "help",
			drive: func(t *testing.T, tm testModel, b *tuitest.Backend) {
				ready(t, tm)
				tm.Send(tea.KeyMsg{Type: tea.KeyF1})
				waitFor(t, tm, "Commands")
			},
		},
		{
			name: "error",
			setup: func(b *tuitest.Backend) {
				b.LoadErr = hint.New(errors.New(`models: "llama9" is not installed`), "pull it with `nook pull llama9`, or set NOOK_MODEL to a GGUF file")
			},
			drive: func(t *testing.T, tm testModel, b *tuitest.Backend) {
				waitFor(t, tm, "no model", "vault unlocked", "nook pull llama9")
			},
		},
	}
	for _, sc := range screens {
		for _, w := range []int{40, 80, 120} {
			h := 24
			if w == 120 {
				h = 40
			}
			t.Run(fmt.Sprintf("%s/%d", sc.name, w), func(t *testing.T) {
				t.Parallel()
				b := tuitest.New()
				if sc.setup != nil {
					sc.setup(b)
				}
				tm := start(t, b, w, h, tui.Options{})
				sc.drive(t, tm, b)
				v := finalView(t, tm)
				checkSize(t, v, w, h)
				golden.RequireEqual(t, []byte(v))
			})
		}
	}
}

// The empty chat in each theme: dark, light and NO_COLOR.
func TestGoldenThemes(t *testing.T) {
	for _, th := range []styles.Theme{styles.Dark(), styles.Light(), styles.Plain()} {
		t.Run(th.Name, func(t *testing.T) {
			t.Parallel()
			b := tuitest.New()
			tm := start(t, b, 80, 24, tui.Options{Styles: testStyles(th)})
			ready(t, tm)
			v := finalView(t, tm)
			checkSize(t, v, 80, 24)
			if th.Name == "plain" && containsColour(v) {
				t.Errorf("NO_COLOR view has colour codes")
			}
			golden.RequireEqual(t, []byte(v))
		})
	}
}
