package tui

import (
	"context"
	"errors"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nook-ai/nook/engine"
)

// The tea.Cmds wrapping Backend calls: each runs in bubbletea's goroutine
// pool and returns a …ResultMsg or an ErrMsg.

func vaultCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		s, err := b.Vault(ctx)
		if err != nil {
			return ErrMsg{"vault", err}
		}
		return VaultResultMsg{s}
	}
}

func unlockCmd(ctx context.Context, b Backend, pass []byte) tea.Cmd {
	return func() tea.Msg {
		if err := b.Unlock(ctx, pass); err != nil {
			return ErrMsg{"unlock", err}
		}
		return UnlockResultMsg{}
	}
}

func loadModelCmd(ctx context.Context, b Backend, name string) tea.Cmd {
	return func() tea.Msg {
		info, err := b.LoadModel(ctx, name)
		if err != nil {
			return ErrMsg{"model", err}
		}
		return ModelResultMsg{info}
	}
}

func modelsCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		names, err := b.Models(ctx)
		if err != nil {
			return ErrMsg{"models", err}
		}
		return ModelsResultMsg{names}
	}
}

func servicesCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg { return ServicesResultMsg{b.Services(ctx)} }
}

// streamEvent is one chunk (or the error) of an answer.
type streamEvent struct {
	chunk engine.Chunk
	err   error
	tool  *ToolEvent
}

// turnCmd starts the turn and pumps its chunks into a channel that
// waitStream reads; cancelling ctx stops the engine.
func turnCmd(ctx context.Context, b Backend, gen int, in TurnInput) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan streamEvent, 256)
		// Tool calls go into the same channel as the chunks, so they
		// arrive in order and Update never waits for them.
		in.OnTool = func(ev ToolEvent) {
			select {
			case ch <- streamEvent{tool: &ev}:
			case <-ctx.Done():
			}
		}
		t, err := b.Turn(ctx, in)
		if err != nil {
			return ErrMsg{"turn", err}
		}
		go func() {
			defer close(ch)
			for c, err := range t.Chunks {
				select {
				case ch <- streamEvent{chunk: c, err: err}:
				case <-ctx.Done():
					// The app stopped reading; drain so the engine can stop.
				}
				if err != nil || c.Done {
					return
				}
			}
		}()
		return TurnStartedMsg{gen: gen, Sources: t.Sources, Remembered: t.Remembered, Notice: t.Notice, stream: ch}
	}
}

// waitStream blocks for the next chunk, then takes whatever else is already
// there, so that a fast model causes one render per batch, not per token.
func waitStream(gen int, ch <-chan streamEvent) tea.Cmd {
	return func() tea.Msg {
		msg := StreamMsg{gen: gen, stream: ch}
		add := func(ev streamEvent, ok bool) bool {
			if !ok {
				msg.Done = true
				return false
			}
			if ev.err != nil {
				msg.Err, msg.Done = ev.err, true
				return false
			}
			if ev.tool != nil {
				msg.Tools = append(msg.Tools, *ev.tool)
				// A question for the user goes out at once.
				return ev.tool.Consent == nil
			}
			msg.Text += ev.chunk.Text
			if ev.chunk.Stats != nil {
				msg.Stats = ev.chunk.Stats
			}
			if ev.chunk.Done {
				msg.Done, msg.Reason = true, ev.chunk.DoneReason
				return false
			}
			return true
		}
		ev, ok := <-ch
		if !add(ev, ok) {
			return msg
		}
		for {
			select {
			case ev, ok := <-ch:
				if !add(ev, ok) {
					return msg
				}
			default:
				return msg
			}
		}
	}
}

func saveSessionCmd(ctx context.Context, b Backend, s Session) tea.Cmd {
	return func() tea.Msg {
		if err := b.SaveSession(ctx, &s); err != nil {
			return ErrMsg{"save", err}
		}
		return SessionSavedMsg{s.ID}
	}
}

func sessionsCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		ss, err := b.Sessions(ctx)
		if err != nil {
			return ErrMsg{"sessions", err}
		}
		return SessionsResultMsg{ss}
	}
}

func loadSessionCmd(ctx context.Context, b Backend, id string) tea.Cmd {
	return func() tea.Msg {
		s, err := b.LoadSession(ctx, id)
		if err != nil {
			return ErrMsg{"sessions", err}
		}
		return SessionResultMsg{s}
	}
}

func addCmd(ctx context.Context, b Backend, paths []string) tea.Cmd {
	return func() tea.Msg {
		s, err := b.Add(ctx, paths)
		if err != nil {
			return ErrMsg{"add", err}
		}
		return AddResultMsg{s}
	}
}

func searchCmd(ctx context.Context, b Backend, q string) tea.Cmd {
	return func() tea.Msg {
		hits, err := b.Search(ctx, q)
		if err != nil {
			return ErrMsg{"search", err}
		}
		return SearchResultMsg{q, hits}
	}
}

func rememberCmd(ctx context.Context, b Backend, text string) tea.Cmd {
	return func() tea.Msg {
		f, err := b.Remember(ctx, text)
		if err != nil {
			return ErrMsg{"remember", err}
		}
		return RememberResultMsg{f}
	}
}

func forgetCmd(ctx context.Context, b Backend, text string) tea.Cmd {
	return func() tea.Msg {
		if text == "" {
			fs, err := b.Facts(ctx)
			if err != nil {
				return ErrMsg{"forget", err}
			}
			return FactsResultMsg{fs}
		}
		fs, err := b.Forget(ctx, text)
		if err != nil {
			return ErrMsg{"forget", err}
		}
		return ForgetResultMsg{fs}
	}
}

func pluginsCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		names, err := b.Plugins(ctx)
		if err != nil {
			return ErrMsg{"plugs", err}
		}
		return PluginsResultMsg{names}
	}
}

func syncCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		s, err := b.Sync(ctx)
		if err != nil {
			return ErrMsg{"sync", err}
		}
		return SyncResultMsg{s}
	}
}

func copyCmd(clip func(string) error, text string) tea.Cmd {
	return func() tea.Msg {
		if clip == nil {
			return ErrMsg{"copy", errors.New("no clipboard")}
		}
		if err := clip(text); err != nil {
			return ErrMsg{"copy", err}
		}
		return CopyResultMsg{len([]rune(text))}
	}
}

func modelChoicesCmd(ctx context.Context, o Onboarder, first bool) tea.Cmd {
	return func() tea.Msg {
		cs, err := o.ModelChoices(ctx)
		if err != nil {
			return ErrMsg{"models", err}
		}
		return ModelChoicesMsg{Choices: cs, first: first}
	}
}

func rememberModelCmd(ctx context.Context, o Onboarder, name string) tea.Cmd {
	return func() tea.Msg {
		where, err := o.RememberModel(ctx, name)
		if err != nil {
			return ErrMsg{"save model", err}
		}
		return ModelSavedMsg{where}
	}
}

func createVaultCmd(ctx context.Context, o Onboarder, pass []byte) tea.Cmd {
	return func() tea.Msg {
		where, err := o.CreateVault(ctx, pass)
		if err != nil {
			return ErrMsg{"create vault", err}
		}
		return VaultCreatedMsg{where}
	}
}

// lastSessionCmd loads the most recent session (`nook -c`).
func lastSessionCmd(ctx context.Context, b Backend) tea.Cmd {
	return func() tea.Msg {
		ss, err := b.Sessions(ctx)
		if err != nil {
			return ErrMsg{"sessions", err}
		}
		if len(ss) == 0 {
			return ErrMsg{"sessions", errors.New("no saved session to continue: this one is new")}
		}
		s, err := b.LoadSession(ctx, ss[0].ID)
		if err != nil {
			return ErrMsg{"sessions", err}
		}
		return SessionResultMsg{s}
	}
}
