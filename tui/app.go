package tui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/tui/commands"
	"github.com/nook-ai/nook/tui/components/chat"
	"github.com/nook-ai/nook/tui/components/editor"
	"github.com/nook-ai/nook/tui/components/picker"
	"github.com/nook-ai/nook/tui/components/prompt"
	"github.com/nook-ai/nook/tui/components/sources"
	"github.com/nook-ai/nook/tui/components/status"
	"github.com/nook-ai/nook/tui/styles"
)

// Options configure New.
type Options struct {
	// Styles to draw with; nil = dark theme on a renderer without colours.
	Styles *styles.Styles
	// Clipboard copies text (OSC 52 in cmd/nook); nil = /copy says it
	// cannot.
	Clipboard func(string) error
	// Model is the chat model to load at start ("" = the configured one).
	Model string
	// Continue resumes the most recent session once the vault is open
	// (`nook -c`).
	Continue bool
	// Mouse: the program reports the mouse (Run turns it on): the wheel
	// scrolls the chat or the sources, and /mouse turns it off for the
	// terminal's own selection.
	Mouse bool
}

// Layout constants.
const (
	sideMinWidth = 90 // narrower terminals get the sources below the chat
	minWidth     = 20
	minHeight    = 8
)

// overlay is what covers the transcript.
type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayPicker
	overlayPassphrase
)

// Model is the root of the app.
type Model struct {
	ctx     context.Context
	backend Backend
	opts    Options
	st      *styles.Styles
	keys    KeyMap
	cmds    commands.Set

	width, height int

	chat    chat.Model
	editor  editor.Model
	panel   sources.Model
	status  status.Model
	help    help.Model
	spinner spinner.Model
	ticking bool
	// servicesTicking: a status-bar refresh of the services is scheduled.
	servicesTicking bool

	overlay    overlay
	helpView   viewport.Model
	picker     picker.Model
	passphrase prompt.Model

	// model
	modelLoading bool
	modelName    string
	modelErr     error
	announce     bool // say so when the model is loaded (/model)
	modelInfo    engine.ModelInfo
	// want is the model being loaded by name ("" the configured one);
	// remember: save it in the config once loaded (the user picked it).
	want     string
	remember bool
	// choices are the last ModelChoices by name.
	choices map[string]ModelChoice

	// pending overlays wait for the one open to close (the first run may
	// ask for a vault passphrase and a model at once).
	pending []func(*Model)
	// creating is the step of creating the vault in the app: 1 choose the
	// passphrase, 2 type it again (0 none); firstPass is step 1's.
	creating  int
	firstPass []byte

	// vault
	vault VaultState

	// the turn in progress
	gen       int
	cancel    context.CancelFunc
	streaming bool
	stopping  bool
	question  string
	answer    string
	turnSrc   []Source
	// consent is the answer channel of the tool call waiting for y/n
	// (nil = none), asking its tool's name.
	consent chan<- bool
	asking  string
	// usedTools: the turn called a tool.
	usedTools bool
	// activity is a running /add, /search... ("" = none).
	activity string

	session Session

	// system and temp are the session's /system and /temp (nil: default).
	system string
	temp   *float32
	// mouse: the terminal reports the mouse (wheel scrolling).
	mouse bool

	// addCancel stops the running /add; quitting: quit once it has
	// stopped (what it finished stays in the vault).
	addCancel context.CancelFunc
	quitting  bool

	// quitArmed: ctrl+c was pressed on an empty prompt once; a second
	// press (with nothing stopped in between) quits.
	quitArmed bool
}

// resumedMsg: the app runs again after a suspend (fg): redraw.
type resumedMsg struct{}

// New returns the app's root model. ctx bounds every backend call.
func New(ctx context.Context, b Backend, o Options) Model {
	st := o.Styles
	if st == nil {
		st = styles.New(lipgloss.NewRenderer(nil), styles.Dark())
	}
	cmds := commands.Default()
	m := Model{
		ctx: ctx, backend: b, opts: o, st: st, keys: DefaultKeyMap(), cmds: cmds,
		chat:   chat.New(st),
		editor: editor.New(st, cmds),
		panel:  sources.New(st),
		status: status.New(st),
		help:   help.New(),
		// Unstyled: the frame sits inside the status bar's styled items.
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot),
			spinner.WithStyle(st.Renderer.NewStyle())),
		modelLoading: true,
		session:      Session{ID: newSessionID()},
		mouse:        o.Mouse,
	}
	m.help.Styles = help.Styles{
		ShortKey: st.HelpKey, ShortDesc: st.HelpDesc, ShortSeparator: st.HelpSep,
		FullKey: st.HelpKey, FullDesc: st.HelpDesc, FullSeparator: st.HelpSep,
		Ellipsis: st.HelpSep,
	}
	m.chat.Empty = m.welcome
	m.status.Vault = status.VaultUnknown
	m.status.Loading = "loading model…"
	m.keys.Stop.SetEnabled(false)
	return m
}

// Init draws at once and starts the slow work in the background: the model,
// the vault, the service states.
func (m Model) Init() tea.Cmd {
	return tea.Batch(
		m.spinner.Tick,
		loadModelCmd(m.ctx, m.backend, m.opts.Model),
		// In order: the service states are cheap and shown by the time
		// the vault says anything.
		tea.Sequence(servicesCmd(m.ctx, m.backend), vaultCmd(m.ctx, m.backend)),
	)
}

func newSessionID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// busy reports whether the spinner should turn.
func (m Model) busy() bool {
	return m.modelLoading || m.streaming || m.activity != "" || m.vault.Exists && m.status.Vault == status.VaultUnlocking
}

// tick restarts the spinner when something became busy.
func (m *Model) tick() tea.Cmd {
	if m.ticking || !m.busy() {
		return nil
	}
	m.ticking = true
	return m.spinner.Tick
}

// Update switches on the message type; it never blocks.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil

	case spinner.TickMsg:
		if !m.busy() {
			m.ticking = false
			return m, nil
		}
		m.ticking = true
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		m.syncStatus()
		return m, cmd

	case tea.KeyMsg:
		return m.key(msg)

	case resumedMsg, tea.ResumeMsg:
		m.layout()
		return m, tea.ClearScreen

	case editor.SubmitMsg:
		return m.submit(msg.Text)

	case tea.MouseMsg:
		return m.mouseEvent(msg)

	case sources.OpenMsg:
		return m, openSourceCmd(msg.Item, msg.Edit)

	case externDoneMsg:
		if msg.err != nil {
			m.errLine(fmt.Errorf("%s: %w", msg.what, msg.err), "set $PAGER or $EDITOR to a program that takes +LINE FILE (less, vi, nano, emacs)")
		}
		m.layout()
		return m, nil

	case promptEditedMsg:
		if msg.err != nil {
			m.errLine(msg.err, "set $EDITOR (or $VISUAL) to your editor, e.g. export EDITOR=nano")
		}
		m.editor.SetValue(msg.text)
		m.layout()
		return m, nil

	case pathCompletedMsg:
		if m.editor.Value() == msg.from { // not typed on since
			m.editor.SetValue(msg.to)
			m.layout()
		}
		return m, nil

	case attachedMsg:
		for _, n := range msg.notes {
			m.note(n)
		}
		return m.ask(msg.shown, msg.text)

	case commands.Invoked:
		return m.command(msg)

	case ModelResultMsg:
		m.modelLoading, m.modelErr, m.modelInfo = false, nil, msg.Info
		m.modelName = msg.Info.Name
		if m.announce {
			m.announce = false
			m.note(fmt.Sprintf("loaded %s (%s, context %d)", msg.Info.Name, msg.Info.Backend, msg.Info.ContextLength))
		}
		if o, ok := m.backend.(Onboarder); ok && m.remember && m.want != "" {
			cmds = append(cmds, rememberModelCmd(m.ctx, o, m.want))
		}
		m.remember = false

	case ModelChoicesMsg:
		choices := msg.Choices
		m.choices = map[string]ModelChoice{}
		var items []picker.Item
		for _, c := range choices {
			m.choices[c.Name] = c
			note := c.Note
			if c.Name == m.modelName && m.modelName != "" {
				note = "loaded · " + note
			}
			items = append(items, picker.Item{ID: c.Name, Label: c.Name, Note: note})
		}
		title := "Pick a model"
		if msg.first {
			title = "No model yet: pick one to start (nothing downloads until you do)"
		}
		m.open(func(m *Model) {
			m.picker = picker.New(m.st, "model", title, items)
			m.overlay = overlayPicker
		})

	case ModelSavedMsg:
		m.note("saved as the model for next time: " + msg.Where)

	case VaultCreatedMsg:
		m.vault = VaultState{Exists: true}
		m.status.Vault = status.VaultUnlocked
		m.note("vault created in " + msg.Where + " and unlocked: /add FOLDER puts your notes in it; chats are saved from now on")
		cmds = append(cmds, servicesCmd(m.ctx, m.backend))

	case ModelsResultMsg:
		if len(msg.Names) == 0 {
			m.errLine(errors.New("no local models installed"), "pull one with `nook pull NAME` in a shell, or set NOOK_MODEL to a GGUF file")
			break
		}
		var items []picker.Item
		for _, n := range msg.Names {
			note := ""
			if n == m.modelName {
				note = "loaded"
			}
			items = append(items, picker.Item{ID: n, Label: n, Note: note})
		}
		m.picker = picker.New(m.st, "model", "Pick a model", items)
		m.overlay = overlayPicker

	case VaultResultMsg:
		m.vault = msg.State
		switch {
		case !msg.State.Exists:
			m.status.Vault = status.VaultNone
			if _, ok := m.backend.(Onboarder); ok {
				m.open(func(m *Model) { m.createVault("") })
				break
			}
			m.note("no vault yet: chats are not saved and answers use no notes. Run `nook init` in a shell, then restart nook.")
		case msg.State.NeedPassphrase:
			m.status.Vault = status.VaultLocked
			m.askPassphrase("")
		default:
			m.status.Vault = status.VaultUnlocking
			cmds = append(cmds, unlockCmd(m.ctx, m.backend, nil))
		}

	case prompt.SubmitMsg:
		if m.creating != 0 {
			cmds = append(cmds, m.createStep(msg.Value))
			break
		}
		m.closeOverlay()
		m.status.Vault = status.VaultUnlocking
		cmds = append(cmds, unlockCmd(m.ctx, m.backend, msg.Value))

	case prompt.CancelMsg:
		switch m.creating {
		case 2:
			m.createVault("")
		case 1:
			m.creating = 0
			m.closeOverlay()
			m.note("no vault: chats are not saved and answers use no notes. /unlock creates one when you want it.")
		default:
			m.closeOverlay()
			m.note("vault locked: chats are not saved and answers use no notes. /unlock when you want them.")
		}

	case UnlockResultMsg:
		m.status.Vault = status.VaultUnlocked
		if m.opts.Continue {
			m.opts.Continue = false
			cmds = append(cmds, lastSessionCmd(m.ctx, m.backend))
		}
		// The ledger's state may depend on what the vault holds.
		cmds = append(cmds, servicesCmd(m.ctx, m.backend))

	case ServicesResultMsg:
		m.status.Ledger, m.status.Sync = msg.Services.Ledger, msg.Services.Sync
		if !m.servicesTicking {
			// Background sync changes the status bar on its own: look again
			// every half minute.
			m.servicesTicking = true
			cmds = append(cmds, tea.Tick(servicesEvery, func(time.Time) tea.Msg { return servicesTickMsg{} }))
		}

	case servicesTickMsg:
		m.servicesTicking = false
		cmds = append(cmds, servicesCmd(m.ctx, m.backend))

	case TurnStartedMsg:
		if msg.gen != m.gen {
			break
		}
		m.turnSrc = msg.Sources
		m.panel.SetAnswer(items(msg.Sources))
		if msg.Remembered != "" {
			m.note("remembered: " + msg.Remembered)
		}
		if msg.Notice != "" {
			m.note(msg.Notice)
		}
		m.layout()
		cmds = append(cmds, waitStream(msg.gen, msg.stream))

	case StreamMsg:
		if msg.gen != m.gen || !m.streaming {
			break
		}
		for _, ev := range msg.Tools {
			m.toolEvent(ev)
		}
		if msg.Text != "" {
			m.answer += msg.Text
			m.chat.Append(msg.Text)
		}
		if msg.Stats != nil {
			m.status.TokPerSec = msg.Stats.DecodeRate()
			m.status.CtxUsed, m.status.CtxLen = msg.Stats.ContextUsed, msg.Stats.ContextLength
		}
		if !msg.Done {
			cmds = append(cmds, waitStream(msg.gen, msg.stream))
			break
		}
		stopped := m.stopping || msg.Reason == "cancel" || errors.Is(msg.Err, context.Canceled)
		if msg.Err != nil && !stopped {
			m.chat.Finish(false)
			m.endTurn()
			m.showErr("turn", msg.Err)
			break
		}
		if msg.Reason == "length" && !stopped {
			m.chat.Cut(cutNote(msg.Stats))
		}
		m.chat.Finish(stopped)
		cmds = append(cmds, m.finishTurn())
		if len(msg.Tools) > 0 || m.usedTools {
			m.usedTools = false
			// Tools may have started the ledger.
			cmds = append(cmds, servicesCmd(m.ctx, m.backend))
		}

	case SessionSavedMsg:
		// Saved after every turn; nothing to show.

	case SessionsResultMsg:
		if len(msg.Sessions) == 0 {
			m.note("no saved sessions yet")
			break
		}
		var its []picker.Item
		for _, s := range msg.Sessions {
			its = append(its, picker.Item{ID: s.ID, Label: orDefault(s.Title, "(untitled)"), Note: fmt.Sprintf("%s · %d messages", s.Updated, s.Messages)})
		}
		m.picker = picker.New(m.st, "session", "Resume a session", its)
		m.overlay = overlayPicker

	case SessionResultMsg:
		m.resume(msg.Session)

	case picker.ChosenMsg:
		m.closeOverlay()
		switch msg.Kind {
		case "model":
			if c, ok := m.choices[msg.Item.ID]; ok && !c.Installed {
				m.note("downloading " + c.Name + " (" + c.Size + "): the status bar shows the progress")
			}
			cmds = append(cmds, m.loadModel(msg.Item.ID))
		case "session":
			cmds = append(cmds, loadSessionCmd(m.ctx, m.backend, msg.Item.ID))
		}

	case picker.CanceledMsg:
		m.closeOverlay()
		if msg.Kind == "model" && m.modelName == "" && !m.modelLoading {
			m.note("no model loaded: /model lists them again; nothing was downloaded")
		}

	case AddResultMsg:
		m.activity, m.addCancel = "", nil
		m.note(msg.Summary)
		if m.quitting {
			return m, tea.Quit
		}

	case SearchResultMsg:
		m.activity = ""
		m.panel.SetSearch("Search: "+msg.Query, items(msg.Sources))
		m.note(searchNote(msg.Query, msg.Sources))
		m.layout()

	case RememberResultMsg:
		m.note(fmt.Sprintf("remembered %s: %s", msg.Fact.ID, msg.Fact.Text))

	case ForgetResultMsg:
		var ts []string
		for _, f := range msg.Facts {
			ts = append(ts, f.Text)
		}
		m.note(fmt.Sprintf("forgot %d: %s", len(msg.Facts), strings.Join(ts, "; ")))

	case FactsResultMsg:
		if len(msg.Facts) == 0 {
			m.note("nothing remembered yet: /remember TEXT keeps a fact")
			break
		}
		lines := []string{"remembered facts (/forget ID removes one):"}
		for _, f := range msg.Facts {
			lines = append(lines, fmt.Sprintf("%s  %s", f.ID, f.Text))
		}
		m.note(strings.Join(lines, "\n"))

	case PluginsResultMsg:
		if len(msg.Names) == 0 {
			m.note("no plugins installed: add one with `nook plug add PATH` in a shell")
		} else {
			m.note("plugins:\n" + strings.Join(msg.Names, "\n"))
		}

	case SyncResultMsg:
		m.activity = ""
		m.note(msg.Summary)
		cmds = append(cmds, servicesCmd(m.ctx, m.backend))

	case CopyResultMsg:
		m.note(fmt.Sprintf("copied the last answer (%d characters)", msg.Chars))

	case ErrMsg:
		cmds = append(cmds, m.onErr(msg))
	}
	m.syncStatus()
	cmds = append(cmds, m.tick())
	return m, tea.Batch(cmds...)
}

func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if k.String() != "ctrl+c" {
		m.quitArmed = false
	}
	if k.String() == "ctrl+z" {
		return m, suspendSelf
	}
	// Esc and Ctrl+C stop an answer first, whatever has the focus.
	if m.streaming && key.Matches(k, m.keys.Stop) {
		if !m.stopping && m.cancel != nil {
			m.stopping = true
			m.cancel()
		}
		m.quitArmed = false // a second ctrl+c to stop must not quit
		return m, nil
	}
	// A tool call waits for the user's y/n.
	if m.consent != nil && m.overlay == overlayNone {
		switch k.String() {
		case "y", "Y":
			m.answerConsent(true)
			return m, nil
		case "n", "N":
			m.answerConsent(false)
			return m, nil
		}
	}
	switch m.overlay {
	case overlayPicker:
		var cmd tea.Cmd
		m.picker, cmd = m.picker.Update(k)
		return m, cmd
	case overlayPassphrase:
		var cmd tea.Cmd
		m.passphrase, cmd = m.passphrase.Update(k)
		return m, cmd
	case overlayHelp:
		switch k.String() {
		case "esc", "q", "f1", "ctrl+c", "enter":
			m.overlay = overlayNone
		default:
			m.helpView, _ = m.helpView.Update(k)
		}
		return m, nil
	}
	if m.panel.Focused() {
		if key.Matches(k, m.panel.Keys().Leave) {
			m.panel.Blur()
			return m, nil
		}
		if !key.Matches(k, m.keys.Sources, m.keys.Quit, m.keys.Clear, m.keys.Help) {
			var cmd tea.Cmd
			m.panel, cmd = m.panel.Update(k)
			return m, cmd
		}
	}
	switch {
	case key.Matches(k, m.keys.Editor.Complete) && atPath(m.editor.Value()) != "":
		return m, completePathCmd(m.editor.Value())
	case key.Matches(k, m.keys.Focus) && !strings.HasPrefix(m.editor.Value(), "/") && m.panel.Focus():
		m.layout()
		return m, nil
	case key.Matches(k, m.keys.EditPrompt):
		return m, editPromptCmd(m.editor.Value())
	case key.Matches(k, m.keys.Clear):
		if m.editor.Value() != "" {
			m.editor.Reset()
			m.layout()
			return m, nil
		}
		if m.stopping || !m.quitArmed {
			// One ctrl+c too many after stopping an answer must not quit.
			m.quitArmed = true
			m.note("press ctrl+c again to quit (or ctrl+d)")
			return m, nil
		}
		return m.quit()
	case key.Matches(k, m.keys.Quit) && m.editor.Value() == "":
		return m.quit()
	case key.Matches(k, m.keys.Sources):
		m.panel.Toggle()
		m.layout()
		return m, nil
	case key.Matches(k, m.keys.Copy):
		return m.command(commands.Invoked{ID: "copy"})
	case key.Matches(k, m.keys.New):
		return m.command(commands.Invoked{ID: "new"})
	case key.Matches(k, m.keys.Help):
		return m.command(commands.Invoked{ID: "help"})
	case key.Matches(k, m.keys.Chat.PageUp, m.keys.Chat.PageDown, m.keys.Chat.Top, m.keys.Chat.Bottom):
		var cmd tea.Cmd
		m.chat, cmd = m.chat.Update(k)
		return m, cmd
	}
	h := m.editor.Height()
	var cmd tea.Cmd
	m.editor, cmd = m.editor.Update(k)
	if m.editor.Height() != h {
		m.layout()
	}
	return m, cmd
}

// submit handles Enter: a command, or a question for the model.
func (m Model) submit(text string) (tea.Model, tea.Cmd) {
	if name, args, ok := commands.Parse(text); ok {
		c, found := m.cmds.Find(name)
		if !found {
			m.errLine(fmt.Errorf("unknown command /%s", name), "/help lists the commands; start a message with // to send a slash")
			return m, nil
		}
		return m, func() tea.Msg { return c.Handler(args) }
	}
	if strings.HasPrefix(strings.TrimSpace(text), "//") {
		text = strings.Replace(text, "//", "/", 1)
	}
	if why := m.cannotAsk(); why != "" {
		m.editor.SetValue(text)
		m.note(why)
		m.layout()
		return m, nil
	}
	if hasAttach(text) {
		// Reading files is I/O: a tea.Cmd does it, then ask goes on.
		return m, attachCmd(text)
	}
	return m.ask(text, text)
}

// ask sends a question: shown in the chat as typed, text to the model
// (with the @path files attached).
func (m Model) ask(shown, text string) (tea.Model, tea.Cmd) {
	if why := m.cannotAsk(); why != "" {
		m.editor.SetValue(shown)
		m.note(why)
		m.layout()
		return m, nil
	}
	m.gen++
	ctx, cancel := context.WithCancel(m.ctx)
	m.cancel, m.streaming, m.stopping = cancel, true, false
	m.question = text
	m.answer = ""
	m.keys.Stop.SetEnabled(true)
	m.chat.Add(chat.Entry{Kind: chat.User, Text: shown})
	m.chat.Add(chat.Entry{Kind: chat.Assistant, Streaming: true})
	in := TurnInput{Text: text, History: append([]engine.Message(nil), m.session.Messages...), Session: m.session.ID,
		System: m.system, Temperature: m.temp}
	m.syncStatus()
	return m, tea.Batch(turnCmd(ctx, m.backend, m.gen, in), m.tick())
}

// cannotAsk says why a question cannot be sent now, or "".
func (m Model) cannotAsk() string {
	switch {
	case m.streaming:
		return "an answer is still coming: wait, or press esc to stop it"
	case m.modelLoading:
		return "the model is still loading: your message is kept, press enter again in a moment"
	case m.modelErr != nil:
		return "no model is loaded: pick one with /model, or set NOOK_MODEL to a GGUF file and restart"
	case m.activity != "":
		return m.activity + ": wait for it to finish"
	case m.status.Vault == status.VaultUnlocking:
		return "the vault is unlocking: press enter again in a moment"
	}
	return ""
}

// toolEvent shows a tool call of the turn; one that needs consent waits
// for y/n.
func (m *Model) toolEvent(ev ToolEvent) {
	e := chat.Entry{Tool: ev.Name, Text: ev.Args, Done: ev.Done, Result: ev.Result}
	if ev.Err != "" {
		e.Failed, e.Result = true, ev.Err
	}
	if ev.Consent != nil && !ev.Done {
		if m.consent != nil {
			m.answerConsent(false) // one question at a time
		}
		e.Asking = true
		m.consent, m.asking = ev.Consent, ev.Name
	}
	m.usedTools = true
	m.chat.SetTool(e)
}

// answerConsent sends the user's answer to the waiting tool call.
func (m *Model) answerConsent(allow bool) {
	if m.consent == nil {
		return
	}
	select {
	case m.consent <- allow:
	default: // already answered (the channel holds one answer)
	}
	note := "declined"
	if allow {
		note = "allowed"
	}
	m.chat.SetTool(chat.Entry{Tool: m.asking, Note: note})
	m.consent, m.asking = nil, ""
}

func (m *Model) endTurn() {
	if m.consent != nil {
		m.answerConsent(false)
	}
	m.streaming, m.stopping = false, false
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	m.keys.Stop.SetEnabled(false)
}

// finishTurn records the answer in the session and saves it.
func (m *Model) finishTurn() tea.Cmd {
	answer := m.answer
	m.endTurn()
	m.panel.SetAnswer(items(markCited(answer, m.turnSrc)))
	m.session.Messages = append(m.session.Messages,
		engine.Message{Role: engine.RoleUser, Content: m.question},
		engine.Message{Role: engine.RoleAssistant, Content: answer})
	if m.session.Title == "" {
		m.session.Title = title(m.question)
	}
	m.layout()
	if m.status.Vault != status.VaultUnlocked {
		return nil
	}
	return saveSessionCmd(m.ctx, m.backend, m.session)
}

// command runs a slash command.
func (m Model) command(c commands.Invoked) (tea.Model, tea.Cmd) {
	needIdle := func() bool {
		if m.streaming {
			m.note("an answer is still coming: wait, or press esc to stop it")
			return false
		}
		if m.activity != "" {
			m.note(m.activity + ": wait for it to finish")
			return false
		}
		return true
	}
	needVault := func() bool {
		if m.status.Vault == status.VaultUnlocked {
			return true
		}
		m.errLine(errors.New("the vault is "+orDefault(m.status.Vault, "not open yet")), vaultHint(m.status.Vault))
		return false
	}
	needArgs := func(usage string) bool {
		if c.Args != "" {
			return true
		}
		m.errLine(fmt.Errorf("/%s needs an argument", c.ID), "usage: "+usage)
		return false
	}
	var cmd tea.Cmd
	switch c.ID {
	case "help":
		m.openHelp()
	case "quit":
		return m.quit()
	case "sources":
		m.panel.Toggle()
		if m.panel.On() && len(m.panel.Items()) == 0 {
			m.note("no sources yet: they appear with an answer that used your notes, or after /search")
		}
	case "new":
		if !needIdle() {
			break
		}
		m.session = Session{ID: newSessionID()}
		m.chat.Reset()
		m.panel.SetAnswer(nil)
		m.status.TokPerSec, m.status.CtxUsed, m.status.CtxLen = 0, 0, 0
	case "retry":
		if !needIdle() {
			break
		}
		n := len(m.session.Messages)
		if n < 2 || m.session.Messages[n-2].Role != engine.RoleUser {
			m.note("nothing to retry yet")
			break
		}
		q := m.session.Messages[n-2].Content
		m.session.Messages = m.session.Messages[:n-2]
		m.note("asking again; the previous answer is left out of the conversation")
		return m.submit(q)
	case "copy":
		a := m.chat.LastAnswer()
		if a == "" {
			m.note("no answer to copy yet")
			break
		}
		cmd = copyCmd(m.opts.Clipboard, a)
	case "model":
		if !needIdle() {
			break
		}
		o, ok := m.backend.(Onboarder)
		switch {
		case c.Args != "":
			cmd = m.loadModel(c.Args)
		case ok:
			cmd = modelChoicesCmd(m.ctx, o, false)
		default:
			cmd = modelsCmd(m.ctx, m.backend)
		}
	case "add":
		if needArgs("/add PATH...") && needIdle() && needVault() {
			m.activity = "adding " + c.Args
			ctx, cancel := context.WithCancel(m.ctx)
			m.addCancel = cancel
			cmd = addCmd(ctx, m.backend, splitArgs(c.Args))
		}
	case "search":
		if needArgs("/search QUERY") && needIdle() && needVault() {
			m.activity = "searching"
			cmd = searchCmd(m.ctx, m.backend, c.Args)
		}
	case "remember":
		if needArgs("/remember TEXT") && needVault() {
			cmd = rememberCmd(m.ctx, m.backend, c.Args)
		}
	case "forget":
		if needVault() {
			cmd = forgetCmd(m.ctx, m.backend, c.Args)
		}
	case "sessions":
		if needIdle() && needVault() {
			cmd = sessionsCmd(m.ctx, m.backend)
		}
	case "unlock":
		switch m.status.Vault {
		case status.VaultUnlocked:
			m.note("the vault is already unlocked")
		case status.VaultNone:
			if _, ok := m.backend.(Onboarder); ok {
				m.open(func(m *Model) { m.createVault("") })
				break
			}
			m.errLine(errors.New("there is no vault"), vaultHint(status.VaultNone))
		default:
			m.askPassphrase("")
		}
	case "system":
		switch strings.ToLower(c.Args) {
		case "":
			if m.system == "" {
				m.note("no system prompt of this session: /system TEXT adds one to nook's")
			} else {
				m.note("system prompt of this session: " + m.system + " (/system off removes it)")
			}
		case "off", "reset", "-":
			m.system = ""
			m.note("system prompt removed: nook's own applies")
		default:
			m.system = c.Args
			m.note("system prompt set for this session: " + c.Args)
		}
	case "temp":
		switch strings.ToLower(c.Args) {
		case "":
			if m.temp == nil {
				m.note("temperature: the model's default (/temp N sets it, 0 to 2)")
			} else {
				m.note("temperature " + fmtTemp(*m.temp) + " (/temp off goes back to the default)")
			}
		case "off", "reset", "default", "-":
			m.temp = nil
			m.note("temperature: back to the model's default")
		default:
			t, err := strconv.ParseFloat(strings.TrimSpace(c.Args), 32)
			if err != nil || t < 0 || t > 2 {
				m.errLine(fmt.Errorf("/temp %s: not a temperature", c.Args), "usage: /temp N with N from 0 (always the likeliest word) to 2; /temp off for the default")
				break
			}
			f := float32(t)
			m.temp = &f
			m.note("temperature " + fmtTemp(f) + " for this session")
		}
	case "mouse":
		m.mouse = !m.mouse
		if m.mouse {
			m.note("mouse on: the wheel scrolls; hold shift to select text (/mouse turns it off)")
			cmd = tea.EnableMouseCellMotion
		} else {
			m.note("mouse off: the terminal selects text as usual; pgup/pgdn scroll (/mouse turns it on)")
			cmd = tea.DisableMouse
		}
	case "plugs":
		cmd = pluginsCmd(m.ctx, m.backend)
	case "sync":
		m.activity = "syncing"
		cmd = syncCmd(m.ctx, m.backend)
	}
	m.layout()
	m.syncStatus()
	return m, tea.Batch(cmd, m.tick())
}

// quit leaves the app; a running /add is stopped first and the app quits
// when it has written what it finished.
func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.addCancel == nil {
		return m, tea.Quit
	}
	if !m.quitting {
		m.quitting = true
		m.addCancel()
		m.note("stopping /add: the files it finished stay in the vault; nook quits when they are written")
	}
	return m, nil
}

// loadModel loads a model the user named or picked, and remembers it in
// the config once it has loaded.
func (m *Model) loadModel(name string) tea.Cmd {
	m.modelLoading, m.announce = true, true
	m.want, m.remember = name, true
	m.status.Loading = "loading " + name + "…"
	return loadModelCmd(m.ctx, m.backend, name)
}

// open shows an overlay now, or when the one open closes.
func (m *Model) open(f func(*Model)) {
	if m.overlay != overlayNone {
		m.pending = append(m.pending, f)
		return
	}
	f(m)
	m.layout()
}

// closeOverlay closes the overlay and opens the next one waiting.
func (m *Model) closeOverlay() {
	m.overlay = overlayNone
	if len(m.pending) > 0 {
		f := m.pending[0]
		m.pending = m.pending[1:]
		f(m)
	}
}

// createVault asks for the new vault's passphrase (step 1).
func (m *Model) createVault(note string) {
	if note == "" {
		note = "No vault yet. Choose a passphrase: it encrypts your notes and chats on this machine, and cannot be recovered if lost."
	}
	m.creating, m.firstPass = 1, nil
	m.passphrase = prompt.New(m.st, "Create your vault", note).WithFooter("enter continues · esc skips (chats are not saved)")
	m.overlay = overlayPassphrase
}

// createStep takes the passphrase of step 1 or 2 of creating the vault.
func (m *Model) createStep(pass []byte) tea.Cmd {
	o, ok := m.backend.(Onboarder)
	if !ok {
		m.creating = 0
		m.closeOverlay()
		return nil
	}
	if m.creating == 1 {
		m.creating, m.firstPass = 2, pass
		note := "Type it again."
		if w := o.PassphraseWarning(pass); w != "" {
			note = w + ". Type it again to use it anyway, or esc to choose another."
		}
		m.passphrase = prompt.New(m.st, "Create your vault: confirm the passphrase", note).WithFooter("enter creates the vault · esc goes back")
		return nil
	}
	if string(pass) != string(m.firstPass) {
		m.createVault("The two passphrases differ: choose one again.")
		return nil
	}
	m.creating, m.firstPass = 0, nil
	m.closeOverlay()
	m.status.Vault = status.VaultUnlocking
	return createVaultCmd(m.ctx, o, pass)
}

func (m *Model) askPassphrase(note string) {
	m.passphrase = prompt.New(m.st, "Unlock the vault", note)
	m.overlay = overlayPassphrase
}

// onErr shows a failed operation as a styled line saying what to do.
func (m *Model) onErr(e ErrMsg) tea.Cmd {
	switch e.Op {
	case "model":
		m.modelLoading, m.remember = false, false
		m.status.Loading = ""
		if o, ok := m.backend.(Onboarder); ok && errors.Is(e.Err, ErrNoModel) && m.modelName == "" {
			m.modelErr = e.Err
			m.note("no model on this machine yet: pick one to start with. Nothing is downloaded until you choose.")
			return modelChoicesCmd(m.ctx, o, true)
		}
		if m.modelName != "" {
			// The model in use still works: say why the other did not load.
			m.showErr(e.Op, e.Err)
			m.note("still using " + m.modelName)
			return nil
		}
		m.modelErr = e.Err
	case "create vault":
		m.status.Vault = status.VaultNone
	case "unlock":
		m.status.Vault = status.VaultLocked
		if isWrongPassphrase(e.Err) && m.vault.NeedPassphrase {
			m.askPassphrase("wrong passphrase: try again, or esc to go on without the vault")
			return nil
		}
	case "turn":
		m.chat.Finish(false)
		m.endTurn()
	case "add", "search", "sync":
		m.activity = ""
		if e.Op == "add" {
			m.addCancel = nil
			if m.quitting {
				return tea.Quit
			}
		}
	}
	m.showErr(e.Op, e.Err)
	return nil
}

func (m *Model) showErr(op string, err error) {
	h := hint.Of(err)
	if h == "" {
		h = defaultHint(op)
	}
	m.errLine(err, h)
}

func defaultHint(op string) string {
	switch op {
	case "model":
		return "pick another with /model, or set NOOK_MODEL to a GGUF file and restart"
	case "unlock":
		return "try /unlock again, or set NOOK_PASSPHRASE before starting nook"
	case "turn":
		return "ask again; /new starts a fresh session if the context is full"
	case "add":
		return "check the path; /add takes files or folders"
	case "save":
		return "the answer is shown but not saved; check the vault with `nook vault status`"
	case "copy":
		return "select the text with the mouse instead; OSC 52 needs a terminal (or tmux set-clipboard on) that allows it"
	}
	return ""
}

func vaultHint(state string) string {
	switch state {
	case status.VaultNone:
		return "run `nook init` in a shell, then restart nook"
	case status.VaultUnlocking:
		return "it is unlocking: try again in a moment"
	default:
		return "/unlock asks for the passphrase"
	}
}

// isWrongPassphrase matches vault.ErrWrongPassphrase by text: the tui does
// not import the vault.
func isWrongPassphrase(err error) bool {
	return strings.Contains(err.Error(), "wrong passphrase")
}

func (m *Model) errLine(err error, h string) {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	m.chat.Add(chat.Entry{Kind: chat.Error, Text: msg, Hint: h})
}

// note adds an info line.
func (m *Model) note(s string) { m.chat.Add(chat.Entry{Kind: chat.Info, Text: s}) }

func (m *Model) resume(s *Session) {
	m.session = *s
	m.chat.Reset()
	m.panel.SetAnswer(nil)
	for _, msg := range s.Messages {
		switch msg.Role {
		case engine.RoleUser:
			m.chat.Add(chat.Entry{Kind: chat.User, Text: msg.Content})
		case engine.RoleAssistant:
			m.chat.Add(chat.Entry{Kind: chat.Assistant, Text: msg.Content})
		}
	}
	m.note(fmt.Sprintf("resumed %q (%d messages)", orDefault(s.Title, "untitled"), len(s.Messages)))
}

func (m *Model) openHelp() {
	m.overlay = overlayHelp
	m.helpView = viewport.New(0, 0)
	m.layout()
	m.helpView.SetContent(m.helpContent())
}

// syncStatus copies the app's state into the status bar.
func (m *Model) syncStatus() {
	s := &m.status
	s.Model, s.Backend, s.ModelErr = m.modelName, m.modelInfo.Backend, m.modelErr != nil
	s.Loading = ""
	if m.modelLoading {
		name := "model"
		if m.opts.Model != "" && m.modelName == "" {
			name = m.opts.Model
		}
		s.Loading = m.spinner.View() + " loading " + name + "…"
		if pr, ok := m.backend.(ProgressReporter); ok {
			if p := pr.Progress(); p != "" {
				s.Loading = m.spinner.View() + " " + p
			}
		}
	}
	s.Activity = ""
	switch {
	case m.activity != "":
		s.Activity = m.spinner.View() + " " + m.activity + "…"
		if ar, ok := m.backend.(ActivityReporter); ok && strings.HasPrefix(m.activity, "adding") {
			if p := ar.Activity(); p != "" {
				s.Activity = m.spinner.View() + " adding " + p
			}
		}
	case m.streaming:
		s.Activity = m.spinner.View() + " answering"
	}
	var tune []string
	if m.temp != nil {
		tune = append(tune, "temp "+fmtTemp(*m.temp))
	}
	if m.system != "" {
		tune = append(tune, "system set")
	}
	s.Tuning = strings.Join(tune, " · ")
	if s.CtxLen == 0 && m.modelInfo.ContextLength > 0 {
		s.CtxLen = m.modelInfo.ContextLength
	}
}

// layout sizes the components for the window.
func (m *Model) layout() {
	w, h := max(m.width, minWidth), max(m.height, minHeight)
	m.editor.SetWidth(w)
	m.help.Width = w
	mainH := max(h-m.editor.Height()-2, 1) // status bar + help line
	chatW, chatH := w, mainH
	if m.panel.Visible() {
		if w >= sideMinWidth {
			chatW = w - m.panelWidth(w)
		} else {
			chatH = mainH - m.panelHeight(mainH)
		}
	}
	m.chat.SetSize(chatW, chatH)
	if m.panel.Visible() {
		if w >= sideMinWidth {
			m.panel.SetSize(m.panelWidth(w), mainH, true)
		} else {
			m.panel.SetSize(w, m.panelHeight(mainH), false)
		}
	}
	if m.overlay == overlayHelp {
		m.helpView.Width, m.helpView.Height = w, mainH
	}
}

func (m Model) panelWidth(w int) int { return min(max(w/3, 30), 56) }

func (m Model) panelHeight(mainH int) int {
	per := 3
	if m.panel.Focused() {
		per = 4
	}
	return min(mainH/2, per*len(m.panel.Items())+2)
}

// View draws the whole screen: exactly width×height cells.
func (m Model) View() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center,
			m.st.Hint.Render("make the window larger"))
	}
	w := m.width
	mainH := max(m.height-m.editor.Height()-2, 1)
	var main string
	switch m.overlay {
	case overlayHelp:
		main = m.helpView.View()
	case overlayPicker:
		main = lipgloss.Place(w, mainH, lipgloss.Center, lipgloss.Center, m.picker.View(w, mainH))
	case overlayPassphrase:
		main = lipgloss.Place(w, mainH, lipgloss.Center, lipgloss.Center, m.passphrase.View(w))
	default:
		main = m.chat.View()
		if m.panel.Visible() {
			if w >= sideMinWidth {
				pw := m.panelWidth(w)
				main = lipgloss.JoinHorizontal(lipgloss.Top, main, m.panel.View(pw, mainH, true))
			} else {
				ph := m.panelHeight(mainH)
				main = lipgloss.JoinVertical(lipgloss.Left, main, m.panel.View(w, ph, false))
			}
		}
	}
	return lipgloss.JoinVertical(lipgloss.Left,
		main,
		m.editor.View(),
		m.status.View(w),
		m.helpLine(),
	)
}

func (m Model) helpLine() string {
	var bs []key.Binding
	switch m.overlay {
	case overlayPicker:
		bs = m.picker.Keys().ShortHelp()
	case overlayPassphrase:
		bs = m.passphrase.Keys().ShortHelp()
	case overlayHelp:
		bs = []key.Binding{key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help")), m.keys.Chat.PageDown}
	default:
		bs = m.keys.ShortHelp()
		switch {
		case m.panel.Focused():
			bs = m.panel.Keys().ShortHelp()
		case m.panel.Visible():
			// Right after the panel's toggle: how to get into it.
			bs = append(bs[:4:4], append([]key.Binding{m.keys.Focus}, bs[4:]...)...)
		}
	}
	return m.st.Renderer.NewStyle().MaxWidth(m.width).Render(m.help.ShortHelpView(bs))
}

func (m Model) helpContent() string {
	var b strings.Builder
	b.WriteString(m.st.Title.Render("Commands") + "\n")
	uw := 0
	for _, c := range m.cmds {
		uw = max(uw, lipgloss.Width(c.Usage))
	}
	for _, c := range m.cmds {
		line := " " + m.st.HelpKey.Render(fmt.Sprintf("%-*s", uw, c.Usage)) + "  " + m.st.HelpDesc.Render(c.Title)
		if c.Shortcut != "" {
			line += m.st.Muted.Render(" (" + c.Shortcut + ")")
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + m.st.Title.Render("Keys") + "\n")
	hm := m.help
	hm.ShowAll = true
	// Two groups of keys side by side (one on narrow screens), so that
	// none is cut at the right edge.
	groups, per := m.keys.FullHelp(), 1
	if m.width >= 80 {
		per = 2
	}
	for i := 0; i < len(groups); i += per {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(hm.FullHelpView(groups[i:min(i+per, len(groups))]))
	}
	return m.st.Renderer.NewStyle().PaddingLeft(1).Width(max(m.width-1, 10)).Render(b.String())
}

func (m Model) welcome(w, h int) string {
	lines := []string{
		m.st.Title.Render("nook"),
		"",
		m.st.Muted.Render("Ask about your notes; answers cite them as [1], [2]."),
		m.st.Muted.Render("/ for commands · f1 for help · ctrl+d quits"),
	}
	return m.st.Renderer.NewStyle().Width(min(w, 60)).Align(lipgloss.Center).Render(strings.Join(lines, "\n"))
}

// mouseEvent scrolls what is under the wheel: the sources panel at the
// side (or below), else the chat.
func (m Model) mouseEvent(e tea.MouseMsg) (tea.Model, tea.Cmd) {
	if e.Action != tea.MouseActionPress || m.overlay != overlayNone {
		return m, nil
	}
	d := 0
	switch e.Button {
	case tea.MouseButtonWheelUp:
		d = -3
	case tea.MouseButtonWheelDown:
		d = 3
	default:
		return m, nil
	}
	if m.panel.Visible() {
		w := max(m.width, minWidth)
		mainH := max(max(m.height, minHeight)-m.editor.Height()-2, 1)
		side := w >= sideMinWidth
		if side && e.X >= w-m.panelWidth(w) && e.Y < mainH ||
			!side && e.Y >= mainH-m.panelHeight(mainH) && e.Y < mainH {
			m.panel.Scroll(d)
			return m, nil
		}
	}
	m.chat.Scroll(d)
	return m, nil
}

// searchNote says how many passages /search found, and how many of them
// hold the query's words (the rest are near in meaning).
func searchNote(q string, ss []Source) string {
	if len(ss) == 0 {
		return fmt.Sprintf("nothing in the vault matches %q", q)
	}
	words := 0
	for _, s := range ss {
		if s.Words {
			words++
		}
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var head string
	switch {
	case words == len(ss):
		head = plural(words, "passage holds", "passages hold") + fmt.Sprintf(" the words of %q", q)
	case words == 0:
		head = fmt.Sprintf("no passage holds the words of %q; %s near in meaning", q, plural(len(ss), "is", "are"))
	default:
		head = plural(words, "passage holds", "passages hold") + fmt.Sprintf(" the words of %q, %d more %s near in meaning", q, len(ss)-words, map[bool]string{true: "is", false: "are"}[len(ss)-words == 1])
	}
	return head + ": in the sources panel (tab focuses it, enter opens one)"
}

func fmtTemp(t float32) string { return strconv.FormatFloat(float64(t), 'g', -1, 32) }

// cutNote says why an answer ended at a length limit.
func cutNote(s *engine.Stats) string {
	if s != nil && s.ContextLength > 0 && s.ContextUsed >= s.ContextLength-8 {
		return fmt.Sprintf("cut off: the context (%d tokens) is full; /new starts a fresh session, or ask for the rest", s.ContextLength)
	}
	return "cut off at the answer's length limit; ask for the rest"
}

func items(ss []Source) []sources.Item {
	out := make([]sources.Item, len(ss))
	for i, s := range ss {
		out[i] = sources.Item{N: s.N, Path: s.Path, StartLine: s.StartLine, EndLine: s.EndLine, Text: s.Text, Cited: s.Cited}
	}
	return out
}

var citeRE = regexp.MustCompile(`\[(\d+)\]`)

// markCited sets Cited on the sources whose [n] appears in answer.
func markCited(answer string, src []Source) []Source {
	cited := map[int]bool{}
	for _, mm := range citeRE.FindAllStringSubmatch(answer, -1) {
		if n, err := strconv.Atoi(mm[1]); err == nil {
			cited[n] = true
		}
	}
	out := append([]Source(nil), src...)
	for i := range out {
		out[i].Cited = cited[out[i].N]
	}
	return out
}

func title(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return q
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// splitArgs splits on spaces, keeping "quoted parts" together.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case quote == 0 && r == ' ':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// Transcript returns the chat's entries (for tests and tools).
func (m Model) Transcript() []chat.Entry { return m.chat.Entries() }

// Input returns the text in the editor.
func (m Model) Input() string { return m.editor.Value() }
