package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/ethereum/go-ethereum/common"
	"github.com/muesli/termenv"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/styles"
	"github.com/nook-ai/nook/vault"
)

// nook (no subcommand): the terminal app. This file wires tui.Backend to
// the engine, the model store and the vault; the tui package itself never
// touches the disk.

func init() { runTUI = runTerminalApp }

func runTerminalApp(ctx context.Context, a *app) error {
	in, inOK := a.stdin.(*os.File)
	out, outOK := a.stdout.(*os.File)
	if !inOK || !outOK || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return hint.New(errors.New("the terminal app needs a terminal"), "in scripts use `nook ask TEXT` or `nook run -p TEXT`")
	}
	noColor := a.getenv("NO_COLOR") != ""
	r := lipgloss.NewRenderer(out)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	// bubbletea's init already asked the terminal for its background
	// (lipgloss's default renderer caches it): no second round trip.
	dark := lipgloss.HasDarkBackground()
	r.SetHasDarkBackground(dark)
	theme := styles.Pick(dark, r.ColorProfile() == termenv.Ascii)

	// The app owns the screen: nothing may write to stderr meanwhile (model
	// pulls report progress there, llama.cpp logs through slog).
	// llama.cpp and ggml also print to file descriptor 2 from C, so that
	// goes to a log file in NOOK_HOME/logs while the app runs.
	stderr := a.stderr
	a.stderr = io.Discard
	prevLog := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	restore := redirectStderr(filepath.Join(a.cfg.Home, "logs", "tui.log"))
	defer func() {
		restore()
		a.stderr = stderr
		slog.SetDefault(prevLog)
	}()

	b := &tuiBackend{a: a}
	defer b.close()
	copyOut := termenv.NewOutput(out)
	return tui.Run(ctx, b, in, out, tui.Options{
		Styles:    styles.New(r, theme),
		Clipboard: func(s string) error { copyOut.Copy(s); return nil },
	})
}

// redirectStderr points file descriptor 2 at the log file (appending)
// and returns the function that puts it back. Failures leave stderr as it
// is: a garbled screen beats no app.
func redirectStderr(path string) func() {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return func() {}
	}
	saved, err := unix.Dup(2)
	if err != nil {
		f.Close()
		return func() {}
	}
	if err := unix.Dup2(int(f.Fd()), 2); err != nil {
		unix.Close(saved)
		f.Close()
		return func() {}
	}
	return func() {
		unix.Dup2(saved, 2)
		unix.Close(saved)
		f.Close()
	}
}

// tuiBackend implements tui.Backend. The app calls it from several
// goroutines (model loading and unlocking run at once), so state is
// guarded by mu; generation itself is serialised by the app.
type tuiBackend struct {
	a  *app
	mu sync.Mutex
	// eng is the chat model, emb the embedder (often the same engine).
	eng, emb engine.Engine
	v        *vault.Vault
	created  map[string]time.Time

	// The plugin host and its ledger, opened over v at the first turn (or
	// /plugs) after unlocking when plugins are installed; hostMu serialises
	// that.
	hostMu    sync.Mutex
	host      *plugins.Host
	l         *ledger
	hostErr   error
	hostTried bool
	told      bool // hostErr was shown with a turn
}

var _ tui.Backend = (*tuiBackend)(nil)

func (b *tuiBackend) close() {
	b.hostMu.Lock()
	defer b.hostMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.host != nil {
		b.host.Close()
		b.host = nil
	}
	if b.l != nil {
		b.l.Close()
		b.l = nil
	}
	if b.v != nil {
		b.v.Close()
		b.v = nil
	}
}

func (b *tuiBackend) Vault(ctx context.Context) (tui.VaultState, error) {
	_, err := os.Stat(filepath.Join(b.a.cfg.VaultDir(), "VAULT"))
	return tui.VaultState{Exists: err == nil, NeedPassphrase: b.a.getenv("NOOK_PASSPHRASE") == ""}, nil
}

func (b *tuiBackend) Unlock(ctx context.Context, pass []byte) error {
	if pass == nil {
		pass = []byte(b.a.getenv("NOOK_PASSPHRASE"))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.emb == nil {
		// Without an embedder the vault still answers lexical searches.
		if e, err := openEmbedder(ctx, b.a); err == nil {
			b.emb = e
		}
	}
	opts := []vault.Option{vault.WithEmbedModel(b.a.cfg.EmbedModel)}
	if b.emb != nil {
		opts = append(opts, vault.WithEmbedder(b.emb))
	}
	v, err := vault.Open(b.a.cfg.VaultDir(), pass, opts...)
	if errors.Is(err, vault.ErrWrongPassphrase) {
		return hint.New(err, "type it again with /unlock")
	}
	if err != nil {
		return err
	}
	if b.v != nil {
		// The plugin host runs over the old handle: reopen it over the new
		// one at the next turn.
		if b.host != nil {
			b.host.Close()
			b.l.Close()
			b.host, b.l = nil, nil
		}
		b.hostTried, b.hostErr = false, nil
		b.v.Close()
	}
	b.v = v
	return nil
}

// plugins opens the plugin host (once) over the app's unlocked vault. A
// failure is kept and not retried: it would start the chain at every turn.
func (b *tuiBackend) plugins(ctx context.Context) (*plugins.Host, *ledger, error) {
	b.hostMu.Lock()
	defer b.hostMu.Unlock()
	b.mu.Lock()
	host, l, tried, hostErr, v := b.host, b.l, b.hostTried, b.hostErr, b.v
	b.mu.Unlock()
	switch {
	case host != nil:
		return host, l, nil
	case tried:
		return nil, nil, hostErr
	case v == nil:
		return nil, nil, hint.New(vault.ErrLocked, "/unlock asks for the passphrase")
	}
	h, l, err := pluginsOn(ctx, b.a, v, false)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hostTried = true
	if err != nil {
		b.hostErr = err
		return nil, nil, err
	}
	b.host, b.l = h, l
	return h, l, nil
}

// toolOptions reports the turn's calls to the app and asks it for consent.
func toolOptions(onTool func(tui.ToolEvent)) assistant.ToolOptions {
	args := func(m map[string]any) string {
		if len(m) == 0 {
			return "{}"
		}
		j, _ := json.Marshal(m)
		return string(j)
	}
	return assistant.ToolOptions{
		Confirm: func(ctx context.Context, c assistant.ToolCall) (bool, error) {
			if onTool == nil {
				return false, nil
			}
			answer := make(chan bool, 1)
			onTool(tui.ToolEvent{Name: c.Name, Args: args(c.Arguments), Consent: answer})
			select {
			case ok := <-answer:
				return ok, nil
			case <-ctx.Done():
				return false, ctx.Err()
			}
		},
		OnCall: func(c assistant.ToolCall) {
			if onTool == nil || !c.Done && c.Consent {
				return // Confirm shows it with the question
			}
			ev := tui.ToolEvent{Name: c.Name, Args: args(c.Arguments), Done: c.Done, Result: c.Result}
			switch {
			case c.Declined:
				ev.Result, ev.Err = "", "declined"
			case c.Err != nil:
				ev.Result, ev.Err = "", "refused: "+plugins.Explain(c.Err)
				if !errors.Is(c.Err, plugins.ErrRefused) {
					ev.Err = "failed: " + plugins.Explain(c.Err)
				}
			}
			onTool(ev)
		},
	}
}

func (b *tuiBackend) LoadModel(ctx context.Context, name string) (engine.ModelInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := openEngine(ctx, b.a, name)
	if err != nil {
		return engine.ModelInfo{}, err
	}
	if b.eng != nil && b.eng.Info().Path != e.Info().Path && (b.emb == nil || b.emb.Info().Path != b.eng.Info().Path) {
		if le, ok := b.a.engines[b.eng.Info().Path]; ok {
			le.Close()
			delete(b.a.engines, b.eng.Info().Path)
		}
	}
	b.eng = e
	info := e.Info()
	if info.Name == "" || strings.ContainsRune(info.Name, filepath.Separator) {
		info.Name = strings.TrimSuffix(filepath.Base(info.Path), ".gguf")
	}
	return info, nil
}

func (b *tuiBackend) Models(ctx context.Context) ([]string, error) {
	s, err := models.Open(b.a.cfg)
	if err != nil {
		return nil, err
	}
	ms, err := s.List()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name.Short())
	}
	return names, nil
}

func (b *tuiBackend) Turn(ctx context.Context, in tui.TurnInput) (*tui.Turn, error) {
	b.mu.Lock()
	eng, v := b.eng, b.v
	b.mu.Unlock()
	if eng == nil {
		return nil, hint.New(errors.New("no model is loaded"), "pick one with /model")
	}
	var store assistant.Store
	if v != nil {
		store = v
	}
	var opts []assistant.Option
	notice := ""
	if ms, _ := plugStore(b.a).List(); len(ms) > 0 && v != nil {
		// Installed plugins offer their tools, each call gated by a grant.
		host, _, err := b.plugins(ctx)
		if err != nil {
			b.mu.Lock()
			if !b.told {
				b.told = true
				notice = "plugins' tools are off: " + plugins.Explain(err)
			}
			b.mu.Unlock()
		} else {
			opts = append(opts, assistant.WithTools(host, toolOptions(in.OnTool)))
		}
	}
	t, err := assistant.New(eng, store, opts...).Turn(ctx, assistant.Input{Text: in.Text, History: in.History, Session: in.Session})
	if err != nil {
		return nil, err
	}
	out := &tui.Turn{Chunks: t.Chunks, Notice: notice}
	for _, s := range t.Sources {
		out.Sources = append(out.Sources, tui.Source{N: s.N, Path: s.Path, StartLine: s.StartLine, EndLine: s.EndLine, Text: s.Text})
	}
	if t.Remembered != nil {
		out.Remembered = t.Remembered.Text
	}
	return out, nil
}

// unlocked returns the open vault or an error saying how to open it.
func (b *tuiBackend) unlocked() (*vault.Vault, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v == nil {
		return nil, hint.New(vault.ErrLocked, "/unlock asks for the passphrase")
	}
	return b.v, nil
}

func (b *tuiBackend) SaveSession(ctx context.Context, s *tui.Session) error {
	v, err := b.unlocked()
	if err != nil {
		return err
	}
	vs := &vault.Session{ID: s.ID, Title: s.Title}
	b.mu.Lock()
	vs.Created = b.created[s.ID]
	b.mu.Unlock()
	for _, m := range s.Messages {
		vs.Messages = append(vs.Messages, vault.Message{Role: m.Role, Content: m.Content})
	}
	if err := v.SaveSession(vs); err != nil {
		return err
	}
	b.mu.Lock()
	if b.created == nil {
		b.created = map[string]time.Time{}
	}
	b.created[vs.ID] = vs.Created
	b.mu.Unlock()
	s.ID = vs.ID
	return nil
}

func (b *tuiBackend) LoadSession(ctx context.Context, id string) (*tui.Session, error) {
	v, err := b.unlocked()
	if err != nil {
		return nil, err
	}
	vs, err := v.LoadSession(id)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.created == nil {
		b.created = map[string]time.Time{}
	}
	b.created[vs.ID] = vs.Created
	b.mu.Unlock()
	s := &tui.Session{ID: vs.ID, Title: vs.Title}
	for _, m := range vs.Messages {
		s.Messages = append(s.Messages, engine.Message{Role: m.Role, Content: m.Content})
	}
	return s, nil
}

func (b *tuiBackend) Sessions(ctx context.Context) ([]tui.SessionInfo, error) {
	v, err := b.unlocked()
	if err != nil {
		return nil, err
	}
	ss, err := v.ListSessions()
	if err != nil {
		return nil, err
	}
	var out []tui.SessionInfo
	for _, s := range ss {
		out = append(out, tui.SessionInfo{ID: s.ID, Title: s.Title, Updated: s.Updated.Local().Format("2006-01-02 15:04"), Messages: s.Messages})
	}
	return out, nil
}

func (b *tuiBackend) Add(ctx context.Context, paths []string) (string, error) {
	v, err := b.unlocked()
	if err != nil {
		return "", err
	}
	for i, p := range paths {
		if strings.HasPrefix(p, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				paths[i] = filepath.Join(home, p[2:])
			}
		}
	}
	r, err := v.Add(ctx, paths, vault.AddOptions{})
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("added %d, updated %d, unchanged %d, removed %d, skipped %d files (%d chunks)", r.Added, r.Updated, r.Unchanged, r.Removed, r.Skipped, r.Chunks)
	if len(r.Errors) > 0 {
		s += fmt.Sprintf("; %d problems, first: %v", len(r.Errors), r.Errors[0])
	}
	return s, nil
}

func (b *tuiBackend) Search(ctx context.Context, q string) ([]tui.Source, error) {
	v, err := b.unlocked()
	if err != nil {
		return nil, err
	}
	hits, err := v.Search(ctx, q, vault.SearchOptions{K: 8})
	if err != nil {
		return nil, err
	}
	var out []tui.Source
	for i, h := range hits {
		out = append(out, tui.Source{N: i + 1, Path: h.Source, StartLine: h.StartLine, EndLine: h.EndLine, Text: h.Text, Cited: true})
	}
	return out, nil
}

func (b *tuiBackend) Remember(ctx context.Context, text string) (tui.Fact, error) {
	v, err := b.unlocked()
	if err != nil {
		return tui.Fact{}, err
	}
	f, err := v.Remember(text)
	return tui.Fact{ID: f.ID, Text: f.Text}, err
}

func (b *tuiBackend) Forget(ctx context.Context, idOrText string) ([]tui.Fact, error) {
	v, err := b.unlocked()
	if err != nil {
		return nil, err
	}
	fs, _, err := v.Forget(idOrText)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, hint.New(err, "/forget without text lists the facts and their ids")
	}
	return facts(fs), err
}

func (b *tuiBackend) Facts(ctx context.Context) ([]tui.Fact, error) {
	v, err := b.unlocked()
	if err != nil {
		return nil, err
	}
	fs, err := v.Facts()
	return facts(fs), err
}

func facts(fs []vault.Fact) []tui.Fact {
	out := make([]tui.Fact, len(fs))
	for i, f := range fs {
		out[i] = tui.Fact{ID: f.ID, Text: f.Text}
	}
	return out
}

// Plugins lists the installed plugins with the grant of each scope (as
// `nook plug show ID`); grants need the vault unlocked and the ledger.
func (b *tuiBackend) Plugins(ctx context.Context) ([]string, error) {
	ms, problems := plugStore(b.a).List()
	var out []string
	for _, p := range problems {
		out = append(out, "problem: "+p.Error())
	}
	if len(ms) == 0 {
		return out, nil
	}
	var l *ledger
	var id common.Address
	why := ""
	if _, ll, err := b.plugins(ctx); err != nil {
		why = "grants unknown: " + plugins.Explain(err)
	} else if id, err = identityKey(ll); err != nil {
		why = "grants unknown: " + plugins.Explain(err)
	} else {
		l = ll
	}
	now := time.Now()
	for _, m := range ms {
		var scopes []string
		for _, s := range m.Scopes {
			if l == nil {
				scopes = append(scopes, s)
				continue
			}
			state := ""
			d, err := l.c.Check(ctx, id, m.PublisherAddress(), s)
			switch {
			case err != nil:
				state = "unknown (" + plugins.Explain(chainHint(err, l.where)) + ")"
			case d.Allowed:
				state = expiry(d.Expires, now)
			default:
				state = "not granted (" + d.Reason + "): nook plug grant " + m.ID + " " + s + " --for 30d"
			}
			scopes = append(scopes, s+" "+state)
		}
		line := fmt.Sprintf("%s %s: %s", m.ID, m.Version, strings.Join(scopes, "; "))
		if l == nil {
			line += " (" + why + ")"
		}
		out = append(out, line)
	}
	return out, nil
}

// Sync: vault replication is not wired into nook yet.
func (b *tuiBackend) Sync(ctx context.Context) (string, error) {
	return "sync: off, no peers configured (syncing between devices is not available in this build yet)", nil
}

// Services reports the ledger as it is, without starting the chain for
// the status bar: where it runs once the plugin host has opened it, "off"
// without a vault or an identity, "error" when opening it failed, else where
// it would run.
func (b *tuiBackend) Services(ctx context.Context) tui.Services {
	b.mu.Lock()
	l, v, hostErr := b.l, b.v, b.hostErr
	b.mu.Unlock()
	sv := tui.Services{Sync: "off"}
	switch {
	case l != nil:
		sv.Ledger = ledgerName(l.dc != nil, l.where)
	case hostErr != nil:
		sv.Ledger = "error"
	default:
		sv.Ledger = ledgerName(b.a.cfg.Ledger.RPC == "", b.a.cfg.Ledger.RPC)
		if _, err := os.Stat(filepath.Join(b.a.cfg.VaultDir(), "VAULT")); err != nil {
			sv.Ledger = "off"
		} else if v != nil {
			if _, err := ledgerclient.LoadIdentity(vaultKeys{v}); err != nil {
				sv.Ledger = "off" // no identity: `nook id create`
			}
		}
	}
	return sv
}

// ledgerName is "embedded" or the RPC host.
func ledgerName(embedded bool, rpc string) string {
	if embedded {
		return "embedded"
	}
	if u, err := url.Parse(rpc); err == nil && u.Host != "" {
		return u.Host
	}
	return rpc
}
