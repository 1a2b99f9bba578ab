package app

import (
	"context"
	"errors"
	"iter"
	"sync"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/vault"
)

// TurnInput is one user message and how to answer it.
type TurnInput struct {
	Text    string
	History []engine.Message
	// Session names the conversation (the engine keeps its cache).
	Session string
	// Sources is how many vault chunks to retrieve (0: the assistant's
	// default); Search filters them.
	Sources int
	Search  vault.SearchOptions
	// Chat sets sampling options.
	Chat engine.Options
	// System is added to the assistant's system prompt ("" none): the
	// user's own instructions for a session.
	System string
	// NoTools: do not offer installed plugins' tools.
	NoTools bool
	// Confirm asks the user about a tool call that needs consent (nil
	// declines those); OnCall is told about each call.
	Confirm func(ctx context.Context, c assistant.ToolCall) (bool, error)
	OnCall  func(assistant.ToolCall)
}

// Turn is an answer in progress.
type Turn struct {
	// Sources given to the model as [1], [2]…
	Sources []assistant.Source
	// Remembered is set when the message asked to remember something.
	Remembered *vault.Fact
	// Notices are lines to show once with the turn: why plugins' tools are
	// off, why search is lexical.
	Notices []string
	// Chunks streams the answer. Iterate it once: the turn's engine,
	// vault and plugin references are released when it ends (or when the
	// turn's ctx ends before it is iterated).
	Chunks iter.Seq2[engine.Chunk, error]
}

// Turn starts an answer with the app's chat model (waiting for its load),
// the vault's sources and memory when it is unlocked, and the tools of the
// installed plugins when their host opens (when it does not, a notice says
// why, once).
func (a *App) Turn(ctx context.Context, in TurnInput) (*Turn, error) {
	ctx, as, notices, release, err := a.assistant(ctx, in)
	if err != nil {
		return nil, err
	}
	t, err := as.Turn(ctx, assistant.Input{Text: in.Text, History: in.History, Session: in.Session})
	if err != nil {
		release()
		return nil, err
	}
	var started sync.Once
	stop := context.AfterFunc(ctx, func() {
		started.Do(release) // never iterated: give everything back
	})
	chunks := func(yield func(engine.Chunk, error) bool) {
		began := false
		started.Do(func() { began = true })
		if !began {
			yield(engine.Chunk{}, ctx.Err())
			return
		}
		defer release()
		defer stop()
		for c, err := range t.Chunks {
			if !yield(c, err) {
				return
			}
		}
	}
	if t.Notice != "" {
		notices = append(notices, t.Notice)
	}
	return &Turn{Sources: t.Sources, Remembered: t.Remembered, Notices: notices, Chunks: chunks}, nil
}

// assistant builds the turn's assistant over references to the chat model,
// the vault and the plugin host; release gives them back (and ends ctx).
func (a *App) assistant(ctx context.Context, in TurnInput) (_ context.Context, _ *assistant.Assistant, notices []string, release func(), _ error) {
	ctx, cancel := a.bind(ctx)
	var rels []func()
	release = sync.OnceFunc(func() {
		for _, r := range rels {
			r()
		}
		cancel()
	})
	eng, err := a.ChatModel(ctx)
	if err != nil {
		release()
		return nil, nil, nil, nil, err
	}
	rels = append(rels, func() { eng.Close() })
	notices = append(notices, a.takeNotices()...) // what the server receives, when it could not be said at load
	var store assistant.Store
	if v, vrel, err := a.Vault(); err == nil {
		store = v
		rels = append(rels, vrel)
		if why := a.SearchMode(); why != nil && !errors.Is(why, errWithoutEmbedder) {
			if n := a.noticeOnce("lexical", lexicalNotice(why)); n != "" {
				notices = append(notices, n)
			}
		}
	}
	var opts []assistant.Option
	if in.Sources > 0 {
		opts = append(opts, assistant.WithSources(in.Sources))
	}
	opts = append(opts, assistant.WithSearch(in.Search), assistant.WithChatOptions(in.Chat))
	if in.System != "" {
		// Added, not replacing: the citation rules stay.
		opts = append(opts, assistant.WithSystem(assistant.DefaultSystem+"\n\n"+in.System))
	}
	if !in.NoTools && store != nil && a.PluginsInstalled() {
		// Installed plugins offer their tools, each call gated by a grant.
		host, hrel, err := a.Plugins(ctx)
		if err != nil {
			if n := a.noticeOnce("plugins", "plugins' tools are off: "+plugins.Explain(err)+" (/plugs in the app retries)"); n != "" {
				notices = append(notices, n)
			}
		} else {
			rels = append(rels, hrel)
			opts = append(opts, assistant.WithTools(host, assistant.ToolOptions{Confirm: in.Confirm, OnCall: in.OnCall}))
		}
	}
	return ctx, assistant.New(eng, store, opts...), notices, release, nil
}

// lexicalNotice is the one line saying search is lexical, and why.
func lexicalNotice(why error) string {
	s := "search is lexical only: " + why.Error()
	if h := hint.Of(why); h != "" {
		s += "; " + h
	}
	return s
}

// Answer is a collected turn: assistant.Answer (the JSON shape of `nook ask
// --json`) and the turn's notices.
type Answer struct {
	assistant.Answer
	Notices []string `json:"-"`
}

// Ask runs a turn and collects the answer, marking the cited sources;
// onText (if set) gets the text as it streams.
func (a *App) Ask(ctx context.Context, in TurnInput, onText func(string)) (*Answer, error) {
	ctx, as, notices, release, err := a.assistant(ctx, in)
	if err != nil {
		return nil, err
	}
	defer release()
	ans, err := as.Ask(ctx, assistant.Input{Text: in.Text, History: in.History, Session: in.Session}, onText)
	if err != nil {
		return nil, err
	}
	if ans.Notice != "" {
		notices = append(notices, ans.Notice)
	}
	return &Answer{Answer: *ans, Notices: notices}, nil
}
