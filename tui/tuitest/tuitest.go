// Package tuitest is a scripted tui.Backend for tests of the terminal app:
// canned model info, tokens and sources, in-memory sessions and facts,
// …Fn hooks to override a call, and channels that say when a call ran.
package tuitest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/tui"
)

// Backend is a scripted tui.Backend. Zero values give an unlocked empty
// vault and a model that answers "ok".
type Backend struct {
	Info    engine.ModelInfo
	LoadErr error
	State   tui.VaultState
	Tokens  []string
	Sources []tui.Source
	Stats   engine.Stats
	// TokenDelay is slept between tokens (0 = none).
	TokenDelay time.Duration
	// Block, when set, makes LoadModel wait until it is closed.
	Block chan struct{}
	// Calls are tool calls each turn makes before its tokens; the user's
	// answers to those with Consent go to Answers.
	Calls   []Call
	Answers chan bool
	// Ledger is the status bar's ledger state ("" = "—").
	Ledger string
	// PluginList is what Plugins returns.
	PluginList []string

	// Hooks replace the scripted behaviour of one call.
	TurnFn   func(ctx context.Context, in tui.TurnInput) (*tui.Turn, error)
	UnlockFn func(ctx context.Context, pass []byte) error
	AddFn    func(ctx context.Context, paths []string) (string, error)

	mu       sync.Mutex
	sessions map[string]tui.Session
	facts    []tui.Fact
	turns    []tui.TurnInput
	// Saved receives every saved session.
	Saved chan tui.Session
	// Loaded is closed when LoadModel returns.
	Loaded chan struct{}
	once   sync.Once
}

var _ tui.Backend = (*Backend)(nil)

// Call is a scripted tool call.
type Call struct {
	Name, Args string
	// Consent: ask the user first; a declined call ends with Err
	// "declined".
	Consent bool
	Result  string
	Err     string
}

// New returns a backend with a small model and buffered channels.
func New() *Backend {
	return &Backend{
		Info:    engine.ModelInfo{Name: "tiny-test", Backend: "CPU", ContextLength: 2048},
		State:   tui.VaultState{Exists: true},
		Tokens:  []string{"ok"},
		Saved:   make(chan tui.Session, 16),
		Loaded:  make(chan struct{}),
		Answers: make(chan bool, 16),
	}
}

// Turns returns the inputs of every turn so far.
func (b *Backend) Turns() []tui.TurnInput {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]tui.TurnInput(nil), b.turns...)
}

func (b *Backend) Vault(ctx context.Context) (tui.VaultState, error) { return b.State, nil }

func (b *Backend) Unlock(ctx context.Context, pass []byte) error {
	if b.UnlockFn != nil {
		return b.UnlockFn(ctx, pass)
	}
	return nil
}

func (b *Backend) LoadModel(ctx context.Context, name string) (engine.ModelInfo, error) {
	defer b.once.Do(func() {
		if b.Loaded != nil {
			close(b.Loaded)
		}
	})
	if b.Block != nil {
		select {
		case <-b.Block:
		case <-ctx.Done():
			return engine.ModelInfo{}, ctx.Err()
		}
	}
	if b.LoadErr != nil {
		return engine.ModelInfo{}, b.LoadErr
	}
	info := b.Info
	if name != "" {
		info.Name = name
	}
	return info, nil
}

func (b *Backend) Models(ctx context.Context) ([]string, error) {
	return []string{b.Info.Name, "other-model"}, nil
}

func (b *Backend) Turn(ctx context.Context, in tui.TurnInput) (*tui.Turn, error) {
	b.mu.Lock()
	b.turns = append(b.turns, in)
	b.mu.Unlock()
	if b.TurnFn != nil {
		return b.TurnFn(ctx, in)
	}
	return &tui.Turn{Sources: b.Sources, Chunks: b.stream(ctx, in.OnTool)}, nil
}

// call reports one scripted call, asking consent first when it needs it.
func (b *Backend) call(ctx context.Context, onTool func(tui.ToolEvent), c Call) error {
	ev := tui.ToolEvent{Name: c.Name, Args: c.Args}
	var answer chan bool
	if c.Consent {
		answer = make(chan bool, 1)
		ev.Consent = answer
	}
	onTool(ev)
	ev.Consent = nil
	ev.Done, ev.Result, ev.Err = true, c.Result, c.Err
	if answer != nil {
		select {
		case ok := <-answer:
			if b.Answers != nil {
				b.Answers <- ok
			}
			if !ok {
				ev.Result, ev.Err = "", "declined"
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	onTool(ev)
	return nil
}

func (b *Backend) stream(ctx context.Context, onTool func(tui.ToolEvent)) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		for _, c := range b.Calls {
			if onTool == nil {
				break
			}
			if err := b.call(ctx, onTool, c); err != nil {
				yield(engine.Chunk{}, err)
				return
			}
		}
		for _, t := range b.Tokens {
			if b.TokenDelay > 0 {
				select {
				case <-time.After(b.TokenDelay):
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				yield(engine.Chunk{}, ctx.Err())
				return
			}
			if !yield(engine.Chunk{Text: t}, nil) {
				return
			}
		}
		st := b.Stats
		yield(engine.Chunk{Done: true, DoneReason: "stop", Stats: &st}, nil)
	}
}

func (b *Backend) SaveSession(ctx context.Context, s *tui.Session) error {
	b.mu.Lock()
	if b.sessions == nil {
		b.sessions = map[string]tui.Session{}
	}
	b.sessions[s.ID] = *s
	b.mu.Unlock()
	if b.Saved != nil {
		b.Saved <- *s
	}
	return nil
}

func (b *Backend) LoadSession(ctx context.Context, id string) (*tui.Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[id]
	if !ok {
		return nil, fmt.Errorf("session %q: not found", id)
	}
	return &s, nil
}

func (b *Backend) Sessions(ctx context.Context) ([]tui.SessionInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []tui.SessionInfo
	for _, s := range b.sessions {
		out = append(out, tui.SessionInfo{ID: s.ID, Title: s.Title, Updated: "today", Messages: len(s.Messages)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AddSession stores a session as if saved earlier.
func (b *Backend) AddSession(s tui.Session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions == nil {
		b.sessions = map[string]tui.Session{}
	}
	b.sessions[s.ID] = s
}

func (b *Backend) Add(ctx context.Context, paths []string) (string, error) {
	if b.AddFn != nil {
		return b.AddFn(ctx, paths)
	}
	return fmt.Sprintf("added %d files", len(paths)), nil
}

func (b *Backend) Search(ctx context.Context, q string) ([]tui.Source, error) { return b.Sources, nil }

func (b *Backend) Remember(ctx context.Context, text string) (tui.Fact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := tui.Fact{ID: fmt.Sprintf("f%d", len(b.facts)+1), Text: text}
	b.facts = append(b.facts, f)
	return f, nil
}

func (b *Backend) Forget(ctx context.Context, s string) ([]tui.Fact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var kept, gone []tui.Fact
	for _, f := range b.facts {
		if f.ID == s || strings.Contains(f.Text, s) {
			gone = append(gone, f)
		} else {
			kept = append(kept, f)
		}
	}
	if len(gone) == 0 {
		return nil, errors.New("forget: not found")
	}
	b.facts = kept
	return gone, nil
}

func (b *Backend) Facts(ctx context.Context) ([]tui.Fact, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]tui.Fact(nil), b.facts...), nil
}

func (b *Backend) Plugins(ctx context.Context) ([]string, error) { return b.PluginList, nil }

func (b *Backend) Sync(ctx context.Context) (string, error) { return "sync: no peers configured", nil }

func (b *Backend) Services(ctx context.Context) tui.Services {
	l := b.Ledger
	if l == "" {
		l = "—"
	}
	return tui.Services{Ledger: l, Sync: "off"}
}
