package appbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/vault"
)

// Backend is tui.Backend over an *app.App.
type Backend struct {
	a *app.App
	// envPass is the passphrase from the environment (nil: ask).
	envPass []byte
	// pull is the pull in progress as one line ("" none); adding the
	// running Add's progress.
	pull   atomic.Value
	adding atomic.Value

	mu      sync.Mutex
	created map[string]time.Time // sessions' creation times, kept on save
}

var (
	_ tui.Backend          = (*Backend)(nil)
	_ tui.ProgressReporter = (*Backend)(nil)
	_ tui.Onboarder        = (*Backend)(nil)
	_ tui.ActivityReporter = (*Backend)(nil)
)

// Activity is the running Add's progress, for the status bar.
func (b *Backend) Activity() string { return b.adding.Load().(string) }

// New returns the backend over a. envPassphrase is NOOK_PASSPHRASE (empty:
// the app asks for it).
func New(a *app.App, envPassphrase []byte) *Backend {
	b := &Backend{a: a, created: map[string]time.Time{}}
	// What `nook add` or `nook remember` in another shell writes shows
	// here within half a second.
	a.FollowVault(500 * time.Millisecond)
	if len(envPassphrase) > 0 {
		b.envPass = envPassphrase
	}
	b.pull.Store("")
	b.adding.Store("")
	return b
}

// Progress is the model pull in progress, for the status bar.
func (b *Backend) Progress() string { return b.pull.Load().(string) }

func (b *Backend) Vault(ctx context.Context) (tui.VaultState, error) {
	return tui.VaultState{Exists: b.a.VaultExists(), NeedPassphrase: b.envPass == nil}, nil
}

func (b *Backend) Unlock(ctx context.Context, pass []byte) error {
	if pass == nil {
		pass = b.envPass
	}
	err := b.a.Unlock(ctx, pass, app.EmbedderOptional())
	if errors.Is(err, vault.ErrWrongPassphrase) {
		return hint.New(err, "type it again with /unlock")
	}
	if err == nil {
		// Background sync while the app runs, for a paired vault only
		// (a never-paired one opens no socket). A failure shows in the
		// status bar and in /sync.
		go b.a.StartSync(context.WithoutCancel(ctx))
	}
	return err
}

// LoadModel loads the chat model; a model the user named (/model NAME, or
// model in the config or NOOK_MODEL) that is not installed is pulled
// first, with its progress in the status bar. With none named, nothing is
// pulled: the error says what to do.
func (b *Backend) LoadModel(ctx context.Context, name string) (engine.ModelInfo, error) {
	defer b.pull.Store("")
	if cfg := b.a.Config(); name == "" && cfg.Remote.Kind == "" {
		name = cfg.Model
	}
	info, err := b.a.LoadModel(ctx, name, app.PullIfMissing(func(ev app.PullEvent) { b.pull.Store(ev.String()) }))
	if errors.Is(err, app.ErrNoModel) {
		return info, hint.New(fmt.Errorf("%w: %w", tui.ErrNoModel, err), "pick one with /model NAME (it is pulled if needed), or "+hint.Of(err))
	}
	return info, err
}

func (b *Backend) Models(ctx context.Context) ([]string, error) {
	s, err := b.a.Store()
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

func (b *Backend) Turn(ctx context.Context, in tui.TurnInput) (*tui.Turn, error) {
	confirm, onCall := toolCallbacks(in.OnTool)
	t, err := b.a.Turn(ctx, app.TurnInput{Text: in.Text, History: in.History, Session: in.Session, Confirm: confirm, OnCall: onCall,
		System: in.System, Chat: engine.Options{Temperature: in.Temperature}})
	if err != nil {
		return nil, err
	}
	out := &tui.Turn{Chunks: t.Chunks, Notice: strings.Join(t.Notices, "; ")}
	for _, s := range t.Sources {
		out.Sources = append(out.Sources, tui.Source{N: s.N, Path: s.Path, StartLine: s.StartLine, EndLine: s.EndLine, Text: s.Text})
	}
	if t.Remembered != nil {
		out.Remembered = t.Remembered.Text
	}
	return out, nil
}

// toolCallbacks report the turn's calls to the app and ask it for consent.
func toolCallbacks(onTool func(tui.ToolEvent)) (func(context.Context, assistant.ToolCall) (bool, error), func(assistant.ToolCall)) {
	args := func(m map[string]any) string {
		if len(m) == 0 {
			return "{}"
		}
		j, _ := json.Marshal(m)
		return string(j)
	}
	confirm := func(ctx context.Context, c assistant.ToolCall) (bool, error) {
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
	}
	onCall := func(c assistant.ToolCall) {
		if onTool == nil || !c.Done && c.Consent {
			return // confirm shows it with the question
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
	}
	return confirm, onCall
}

// vault returns the unlocked vault, or an error saying how to unlock it.
func (b *Backend) vault() (*vault.Vault, func(), error) {
	v, rel, err := b.a.Vault()
	if errors.Is(err, vault.ErrLocked) {
		return nil, nil, hint.New(err, "/unlock asks for the passphrase")
	}
	return v, rel, err
}

func (b *Backend) SaveSession(ctx context.Context, s *tui.Session) error {
	v, rel, err := b.vault()
	if err != nil {
		return err
	}
	defer rel()
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
	b.created[vs.ID] = vs.Created
	b.mu.Unlock()
	s.ID = vs.ID
	return nil
}

func (b *Backend) LoadSession(ctx context.Context, id string) (*tui.Session, error) {
	v, rel, err := b.vault()
	if err != nil {
		return nil, err
	}
	defer rel()
	vs, err := v.LoadSession(id)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.created[vs.ID] = vs.Created
	b.mu.Unlock()
	s := &tui.Session{ID: vs.ID, Title: vs.Title}
	for _, m := range vs.Messages {
		s.Messages = append(s.Messages, engine.Message{Role: m.Role, Content: m.Content})
	}
	return s, nil
}

func (b *Backend) Sessions(ctx context.Context) ([]tui.SessionInfo, error) {
	v, rel, err := b.vault()
	if err != nil {
		return nil, err
	}
	defer rel()
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

func (b *Backend) Add(ctx context.Context, paths []string) (string, error) {
	v, rel, err := b.vault()
	if err != nil {
		return "", err
	}
	defer rel()
	for i, p := range paths {
		if strings.HasPrefix(p, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				paths[i] = filepath.Join(home, p[2:])
			}
		}
	}
	b.adding.Store("")
	defer b.adding.Store("")
	r, err := v.Add(ctx, paths, vault.AddOptions{Progress: func(p vault.Progress) {
		b.adding.Store(fmt.Sprintf("%d/%d files · %s", p.FilesDone, p.FilesTotal, filepath.Base(p.Path)))
	}})
	stopped := err != nil && ctx.Err() != nil
	if err != nil && !stopped {
		return "", err
	}
	s := fmt.Sprintf("added %d, updated %d, unchanged %d, removed %d, skipped %d files (%d chunks)", r.Added, r.Updated, r.Unchanged, r.Removed, r.Skipped, r.Chunks)
	if len(r.Errors) > 0 {
		s += fmt.Sprintf("; %d problems, first: %v", len(r.Errors), r.Errors[0])
	}
	if stopped {
		s = "stopped: " + s + "; /add the same paths again finishes the rest"
	}
	return s, nil
}

func (b *Backend) Search(ctx context.Context, q string) ([]tui.Source, error) {
	v, rel, err := b.vault()
	if err != nil {
		return nil, err
	}
	defer rel()
	hits, err := v.Search(ctx, q, vault.SearchOptions{K: 8})
	if err != nil {
		return nil, err
	}
	var out []tui.Source
	for i, h := range hits {
		out = append(out, tui.Source{N: i + 1, Path: h.Source, StartLine: h.StartLine, EndLine: h.EndLine, Text: h.Text, Cited: true,
			Words: holdsWords(h.Text, q)})
	}
	return out, nil
}

func (b *Backend) Remember(ctx context.Context, text string) (tui.Fact, error) {
	v, rel, err := b.vault()
	if err != nil {
		return tui.Fact{}, err
	}
	defer rel()
	f, err := v.Remember(text)
	return tui.Fact{ID: f.ID, Text: f.Text}, err
}

func (b *Backend) Forget(ctx context.Context, idOrText string) ([]tui.Fact, error) {
	v, rel, err := b.vault()
	if err != nil {
		return nil, err
	}
	defer rel()
	q, all := strings.CutPrefix(strings.TrimSpace(idOrText), "--all ")
	match, byID, err := app.FactsMatching(v, q)
	if errors.Is(err, vault.ErrNotFound) {
		return nil, hint.New(err, "/forget without text lists the facts and their ids")
	}
	if err != nil {
		return nil, err
	}
	if !byID && len(match) > 1 && !all {
		var ls []string
		for _, f := range match {
			ls = append(ls, f.ID+" "+f.Text)
		}
		return nil, hint.New(fmt.Errorf("%d facts hold %q: %s", len(match), q, strings.Join(ls, "; ")),
			fmt.Sprintf("/forget ID removes one; /forget --all %s removes these %d", q, len(match)))
	}
	fs, _, err := app.ForgetFacts(v, match)
	return facts(fs), err
}

func (b *Backend) Facts(ctx context.Context) ([]tui.Fact, error) {
	v, rel, err := b.vault()
	if err != nil {
		return nil, err
	}
	defer rel()
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
// `nook plug show ID`). Asking retries a plugin host that failed to open.
func (b *Backend) Plugins(ctx context.Context) ([]string, error) {
	states, problems := b.a.PluginStates(ctx)
	var out []string
	for _, p := range problems {
		out = append(out, "problem: "+p.Error())
	}
	now := time.Now()
	for _, st := range states {
		m := st.Manifest
		var scopes []string
		for _, s := range st.Scopes {
			switch {
			case st.Unknown != nil:
				scopes = append(scopes, s.Scope)
			case s.Err != nil:
				scopes = append(scopes, s.Scope+" unknown ("+plugins.Explain(s.Err)+")")
			case s.Granted:
				scopes = append(scopes, s.Scope+" "+app.Expiry(s.Expires, now))
			default:
				scopes = append(scopes, s.Scope+" not granted ("+s.Reason+"): nook plug grant "+m.ID+" "+s.Scope+" --for 30d")
			}
		}
		line := fmt.Sprintf("%s %s: %s", m.ID, m.Version, strings.Join(scopes, "; "))
		if st.Unknown != nil {
			line += " (grants unknown: " + plugins.Explain(st.Unknown) + ")"
		}
		out = append(out, line)
	}
	return out, nil
}

// Sync syncs the vault with the identity's other devices now (/sync).
func (b *Backend) Sync(ctx context.Context) (string, error) {
	return b.a.SyncNow(ctx)
}

// Services reports the ledger and sync states without starting anything.
func (b *Backend) Services(ctx context.Context) tui.Services {
	st := b.a.Status()
	return tui.Services{Ledger: st.Ledger, Sync: st.Sync}
}

// ModelChoices: the installed chat models, then the catalog's with their
// download sizes (app.ModelChoices).
func (b *Backend) ModelChoices(ctx context.Context) ([]tui.ModelChoice, error) {
	cs, err := b.a.ModelChoices()
	if err != nil {
		return nil, err
	}
	out := make([]tui.ModelChoice, 0, len(cs))
	for _, c := range cs {
		var parts []string
		if c.Recommended {
			parts = append(parts, "recommended")
		}
		if c.Installed {
			where := "installed"
			if c.Where == "ollama" {
				where = "in the Ollama store"
			}
			parts = append(parts, where+", "+models.HumanBytes(c.Size))
		} else {
			parts = append(parts, "download "+models.HumanBytes(c.Size))
		}
		if c.TooBig {
			parts = append(parts, "needs more memory than this machine has")
		}
		if c.About != "" {
			parts = append(parts, c.About)
		}
		out = append(out, tui.ModelChoice{Name: c.Name, Installed: c.Installed, Size: models.HumanBytes(c.Size), Note: strings.Join(parts, " · ")})
	}
	return out, nil
}

// RememberModel saves name as model in the config file.
func (b *Backend) RememberModel(ctx context.Context, name string) (string, error) {
	if err := b.a.RememberModel(name); err != nil {
		return "", err
	}
	return fmt.Sprintf("model = %q in %s", name, b.a.Config().Path), nil
}

// CreateVault makes the vault with passphrase; it is unlocked after.
func (b *Backend) CreateVault(ctx context.Context, pass []byte) (string, error) {
	_, rel, err := b.a.InitVault(pass)
	if err != nil {
		return "", err
	}
	rel()
	return b.a.Config().VaultDir(), nil
}

// PassphraseWarning is app.PassphraseWarning.
func (b *Backend) PassphraseWarning(pass []byte) string { return app.PassphraseWarning(pass) }

// holdsWords reports whether text holds a word of query (case-insensitive,
// as a word or the start of one: "deposit" in "deposits"), so that /search
// can tell passages found by their words from those near in meaning.
func holdsWords(text, query string) bool {
	isWord := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	words := strings.FieldsFunc(strings.ToLower(text), isWord)
	for _, q := range strings.FieldsFunc(strings.ToLower(query), isWord) {
		if len([]rune(q)) < 2 {
			continue
		}
		for _, w := range words {
			if strings.HasPrefix(w, q) {
				return true
			}
		}
	}
	return false
}
