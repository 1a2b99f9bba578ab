package tui

import (
	"time"

	"github.com/nook-ai/nook/engine"
)

// Messages the app's tea.Cmds return. I/O results come back as a
// …ResultMsg or as ErrMsg naming the operation.

// ErrMsg: the operation Op failed.
type ErrMsg struct {
	Op  string
	Err error
}

// VaultResultMsg: the vault's state before unlocking.
type VaultResultMsg struct{ State VaultState }

// UnlockResultMsg: the vault is open.
type UnlockResultMsg struct{}

// ModelResultMsg: the chat model is loaded.
type ModelResultMsg struct{ Info engine.ModelInfo }

// ModelsResultMsg: the installed models, for /model.
type ModelsResultMsg struct{ Names []string }

// TurnStartedMsg: the answer to turn gen has started streaming.
type TurnStartedMsg struct {
	gen        int
	Sources    []Source
	Remembered string
	Notice     string
	stream     <-chan streamEvent
}

// StreamMsg: text of turn gen arrived (several chunks merged), or it ended.
type StreamMsg struct {
	gen    int
	Text   string
	Done   bool
	Reason string
	Stats  *engine.Stats
	Err    error
	// Tools are the tool calls reported since the last StreamMsg, in order.
	Tools  []ToolEvent
	stream <-chan streamEvent
}

// SessionSavedMsg: the session was saved in the vault.
type SessionSavedMsg struct{ ID string }

// SessionsResultMsg: the saved sessions, for /sessions.
type SessionsResultMsg struct{ Sessions []SessionInfo }

// SessionResultMsg: a session to resume.
type SessionResultMsg struct{ Session *Session }

// AddResultMsg: /add finished.
type AddResultMsg struct{ Summary string }

// SearchResultMsg: /search results.
type SearchResultMsg struct {
	Query   string
	Sources []Source
}

// RememberResultMsg: /remember stored a fact.
type RememberResultMsg struct{ Fact Fact }

// ForgetResultMsg: /forget removed facts.
type ForgetResultMsg struct{ Facts []Fact }

// FactsResultMsg: /forget without arguments lists the facts.
type FactsResultMsg struct{ Facts []Fact }

// PluginsResultMsg: /plugs.
type PluginsResultMsg struct{ Names []string }

// SyncResultMsg: /sync.
type SyncResultMsg struct{ Summary string }

// ServicesResultMsg: ledger and sync states for the status bar.
type ServicesResultMsg struct{ Services Services }

// CopyResultMsg: the last answer went to the clipboard.
type CopyResultMsg struct{ Chars int }

// ModelChoicesMsg: the models to pick from (Onboarder); first: at start,
// because none is configured or installed.
type ModelChoicesMsg struct {
	Choices []ModelChoice
	first   bool
}

// ModelSavedMsg: the picked model is saved in the config.
type ModelSavedMsg struct{ Where string }

// VaultCreatedMsg: the vault was created in the app and is unlocked.
type VaultCreatedMsg struct{ Where string }

// servicesTickMsg: time to look at the services again (the status bar's
// sync state changes while sync runs in the background).
type servicesTickMsg struct{}

// servicesEvery is how often the status bar's services are refreshed.
const servicesEvery = 30 * time.Second
