package plugins

import (
	"errors"
	"fmt"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
)

// Sentinel errors callers branch on (with errors.Is).
var (
	// ErrRefused: the ledger holds no valid grant for the scope; nothing was
	// sent to the plugin. The error is a *RefusedError.
	ErrRefused = errors.New("no grant")
	// ErrTimeout: the plugin did not answer within the call timeout; it was
	// stopped and starts again on the next call.
	ErrTimeout = errors.New("no answer in time")
	// ErrCrashed: the plugin exited or broke the protocol during the call;
	// it starts again on the next call.
	ErrCrashed = errors.New("plugin stopped")
	// ErrUnknownTool: no granted plugin offers a tool of that name.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrClosed: the host was closed.
	ErrClosed = errors.New("plugin host closed")
)

// RefusedError says which grant is missing. Its hint is the command that
// adds it.
type RefusedError struct {
	Plugin string // the plugin's id
	Scope  string
	Reason string // the ledger's reason: never granted, expired, revoked...
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("plugins: %s: no grant for scope %q", e.Plugin, e.Scope)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Command is the command that grants the missing scope.
func (e *RefusedError) Command() string {
	return fmt.Sprintf("nook plug grant %s %s --for 30d", e.Plugin, e.Scope)
}

func refused(id, scope, reason string) error {
	e := &RefusedError{Plugin: id, Scope: scope, Reason: reason}
	return hint.New(e, "run: "+e.Command())
}

// Explain is err on one line with its hint, for the model and the TUI:
// `plugins: units: no grant for scope "tool" — run: nook plug grant units tool --for 30d`.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if h := hint.Of(err); h != "" {
		return err.Error() + " — " + h
	}
	return err.Error()
}

// safeError shows err (which carries a plugin's words) on one
// terminal-safe line; errors.Is and errors.As still reach err.
type safeError struct{ err error }

func (e *safeError) Error() string { return termsafe.Line(e.err.Error()) }
func (e *safeError) Unwrap() error { return e.err }
