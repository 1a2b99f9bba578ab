package tui

import (
	"context"
	"errors"
	"iter"

	"github.com/nook-ai/nook/engine"
)

// Backend is what the terminal app needs from the rest of nook. Any method
// may block (disk, model loading, generation): the app calls them only from
// tea.Cmds. Errors may carry a hint (internal/hint) that the app shows as
// the line saying what to do.
type Backend interface {
	// Vault reports whether a vault exists and whether unlocking it needs a
	// passphrase typed in the app (none in the environment).
	Vault(ctx context.Context) (VaultState, error)
	// Unlock opens the vault; passphrase nil means the one from the
	// environment.
	Unlock(ctx context.Context, passphrase []byte) error
	// LoadModel loads the chat model: a name or GGUF path; "" = the
	// configured model.
	LoadModel(ctx context.Context, name string) (engine.ModelInfo, error)
	// Models lists the installed chat models by name.
	Models(ctx context.Context) ([]string, error)
	// Turn starts an answer to in.Text with the vault's sources (when
	// unlocked) and the session's history.
	Turn(ctx context.Context, in TurnInput) (*Turn, error)

	// Sessions: saved encrypted in the vault.
	SaveSession(ctx context.Context, s *Session) error
	LoadSession(ctx context.Context, id string) (*Session, error)
	Sessions(ctx context.Context) ([]SessionInfo, error)

	// Add ingests files or folders into the vault and summarises what it did.
	Add(ctx context.Context, paths []string) (string, error)
	// Search returns the vault passages that best match query.
	Search(ctx context.Context, query string) ([]Source, error)
	// Remember keeps a fact; Forget removes those matching an id or text
	// and returns their texts; Facts lists them.
	Remember(ctx context.Context, text string) (Fact, error)
	Forget(ctx context.Context, idOrText string) ([]Fact, error)
	Facts(ctx context.Context) ([]Fact, error)

	// Plugins lists the installed plugins (an empty list is not an error).
	Plugins(ctx context.Context) ([]string, error)
	// Sync replicates the vault with peers now and summarises the result.
	Sync(ctx context.Context) (string, error)
	// Services reports the ledger and sync state for the status bar.
	Services(ctx context.Context) Services
}

// ProgressReporter is implemented by backends that report the progress of
// a long LoadModel (a model pull: name, percent, rate, time left) as one
// line. While a model loads, the app shows it in the status bar, reading
// it on each spinner tick: Progress must return at once ("" = nothing to
// report).
type ProgressReporter interface {
	Progress() string
}

// ActivityReporter is implemented by backends that report the progress
// of a running Add ("12/40 files · notes/cat.md") as one line, read on
// each spinner tick: Activity must return at once ("" = nothing yet).
type ActivityReporter interface {
	Activity() string
}

// VaultState is what the app knows about the vault before unlocking it.
type VaultState struct {
	Exists         bool
	NeedPassphrase bool
}

// Services are the short ledger and sync states of the status bar ("off",
// "—", "3 peers").
type Services struct {
	Ledger string
	Sync   string
}

// TurnInput is one user message with the conversation so far.
type TurnInput struct {
	Text    string
	History []engine.Message
	// Session is the session id; the engine keeps its KV cache per session.
	Session string
	// System is the session's own instructions (/system), added to nook's
	// system prompt ("" none); Temperature its sampling temperature
	// (/temp; nil the model's default).
	System      string
	Temperature *float32
	// OnTool is set by the app: the backend reports each tool call of the
	// turn to it, in order with the chunks (call it from the goroutine that
	// runs Chunks, or before Turn returns). It blocks only until the app
	// has queued the event, or the turn's context is cancelled.
	OnTool func(ToolEvent)
}

// ToolEvent is one tool call of a turn: reported before it runs (Done
// false) and after (Done true, with Result or Err).
type ToolEvent struct {
	Name string
	// Args are the call's arguments as JSON.
	Args string
	Done bool
	// Result is what the tool returned; Err why it failed or was refused
	// (with the hint saying what to do).
	Result string
	Err    string
	// Consent, on an event before the call, asks the user whether it may
	// run: the app sends one answer (true = allow). Make it buffered (1);
	// the backend waits for the answer or the turn's cancellation.
	Consent chan<- bool
}

// Turn is an answer in progress.
type Turn struct {
	// Sources given to the model as [1], [2]...
	Sources []Source
	// Remembered is set when the message asked to remember something.
	Remembered string
	// Notice is an info line to show with the turn ("" = none), e.g. why
	// plugins' tools are not offered.
	Notice string
	// Chunks streams the answer; the app iterates it once, in a goroutine,
	// and cancels the Turn's context to stop it.
	Chunks iter.Seq2[engine.Chunk, error]
}

// Source is a vault passage an answer was given, marked [N] in the text.
type Source struct {
	N         int
	Path      string
	StartLine int
	EndLine   int
	Text      string
	Cited     bool
	// Words: the passage holds words of the query (a /search hit found by
	// meaning alone has it false).
	Words bool
}

// Session is a saved conversation.
type Session struct {
	ID       string
	Title    string
	Messages []engine.Message
}

// SessionInfo is a line of the session list.
type SessionInfo struct {
	ID       string
	Title    string
	Updated  string // already formatted for display
	Messages int
}

// Fact is a remembered fact.
type Fact struct {
	ID   string
	Text string
}

// Onboarder is implemented by backends that can set nook up from the app
// on a first run: the app then offers the models on the machine and the
// catalog when none is configured, creates the vault when there is none,
// and remembers the model the user picks.
type Onboarder interface {
	// ModelChoices lists the chat models to pick from: installed ones
	// first, then the catalog's with their download sizes. It downloads
	// nothing: LoadModel of a picked name does.
	ModelChoices(ctx context.Context) ([]ModelChoice, error)
	// RememberModel saves name as the model to load at the next start and
	// says where ("model = NAME in ~/.config/nook/config.toml").
	RememberModel(ctx context.Context, name string) (string, error)
	// CreateVault creates the vault with passphrase and unlocks it; it
	// returns where the vault is.
	CreateVault(ctx context.Context, passphrase []byte) (string, error)
	// PassphraseWarning says why a new passphrase is weak ("" if it is
	// not). It must return at once.
	PassphraseWarning(passphrase []byte) string
}

// ModelChoice is one line of the first-run model picker.
type ModelChoice struct {
	Name string
	// Note: "installed · 1.3 GB" or "download 2.0 GB · 3.2B, good for…".
	Note string
	// Installed: loading it downloads nothing; else Size is the download
	// ("398 MB").
	Installed bool
	Size      string
}

// ErrNoModel is matched (errors.Is) on LoadModel's error when no model is
// configured and none is installed: an Onboarder's app then offers the
// choice instead of the error.
var ErrNoModel = errors.New("no model configured or installed")
