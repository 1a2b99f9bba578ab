package plugins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/ledgerclient"
)

// Checker answers whether identity granted plugin (its publisher's address)
// the scope; *ledgerclient.Client satisfies it.
type Checker interface {
	Check(ctx context.Context, identity, plugin common.Address, scope string) (ledgerclient.Decision, error)
}

var _ Checker = (*ledgerclient.Client)(nil)

// Defaults of the host's options.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultMaxOutput   = 64 << 10 // bytes of a tool result given back
	DefaultMaxFrame    = 4 << 20  // bytes of one JSON-RPC message read from a plugin
	// ToolSep joins a plugin's id and its tool's name in the names the
	// model sees: units__convert.
	ToolSep = "__"
)

// Event reports what happens to plugins, for the TUI and logs.
type Event struct {
	Plugin string
	// Kind: "start", "stop", "crash", "timeout", "refused", "call".
	Kind   string
	Detail string
}

// HostOption configures NewHost.
type HostOption func(*Host)

// WithLogDir sets the folder of plugin logs: <dir>/<id>.log gets each
// plugin's stderr. Default: stderr is discarded.
func WithLogDir(dir string) HostOption { return func(h *Host) { h.logDir = dir } }

// WithCallTimeout bounds each call (default DefaultCallTimeout).
func WithCallTimeout(d time.Duration) HostOption { return func(h *Host) { h.timeout = d } }

// WithMaxOutput caps the text of one result (default DefaultMaxOutput).
func WithMaxOutput(n int) HostOption { return func(h *Host) { h.maxOutput = n } }

// WithMaxFrame caps one JSON-RPC message from a plugin (default
// DefaultMaxFrame); a bigger one breaks the session and stops the plugin.
func WithMaxFrame(n int) HostOption { return func(h *Host) { h.maxFrame = n } }

// WithVault gives data plugs their gated way into the vault.
func WithVault(v Vault) HostOption { return func(h *Host) { h.vault = v } }

// WithEvents sets a function told about starts, stops, crashes, timeouts
// and refusals. It must not block.
func WithEvents(f func(Event)) HostOption { return func(h *Host) { h.events = f } }

// WithSettings sets the user's per-plugin settings (consent, timeouts).
func WithSettings(s Settings) HostOption { return func(h *Host) { h.settings = s } }

// WithPrivate names folders no plugin's sandbox may reach: nook passes
// NOOK_HOME and its config folder. A plugin whose [sandbox] declares one
// of them, a folder inside one (but its own folder) or a folder holding
// one is refused at start.
func WithPrivate(dirs ...string) HostOption {
	return func(h *Host) {
		for _, d := range dirs {
			if d == "" {
				continue
			}
			if abs, err := filepath.Abs(d); err == nil {
				if real, err := filepath.EvalSymlinks(abs); err == nil {
					abs = real
				}
				h.private = append(h.private, abs)
			}
		}
	}
}

// Host runs plugins for one identity. It is safe for concurrent use.
type Host struct {
	identity  common.Address
	checker   Checker
	logDir    string
	timeout   time.Duration
	maxOutput int
	maxFrame  int
	vault     Vault
	events    func(Event)
	settings  Settings
	private   []string // folders no sandbox reaches (WithPrivate)

	mu      sync.Mutex
	plugins map[string]*plugin // by id
	closed  bool
}

// NewHost returns a host for the plugins of manifests (already verified,
// e.g. by Store.List). Nothing starts until a plugin is used.
func NewHost(identity common.Address, checker Checker, manifests []*Manifest, opts ...HostOption) *Host {
	h := &Host{identity: identity, checker: checker, timeout: DefaultCallTimeout, maxOutput: DefaultMaxOutput,
		maxFrame: DefaultMaxFrame, plugins: map[string]*plugin{}}
	for _, o := range opts {
		o(h)
	}
	for _, m := range manifests {
		h.plugins[m.ID] = &plugin{h: h, m: m}
	}
	return h
}

// Manifests lists the host's plugins, by id.
func (h *Host) Manifests() []*Manifest {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Manifest
	for _, id := range slices.Sorted(maps.Keys(h.plugins)) {
		out = append(out, h.plugins[id].m)
	}
	return out
}

func (h *Host) emit(id, kind, detail string) {
	if h.events != nil {
		h.events(Event{Plugin: id, Kind: kind, Detail: detail})
	}
}

func (h *Host) plugin(id string) (*plugin, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	p := h.plugins[id]
	if p == nil {
		return nil, fmt.Errorf("plugins: %q: %w", id, ErrNotFound)
	}
	return p, nil
}

// gate asks the ledger for scope; nothing may be sent to p before it says
// yes.
func (h *Host) gate(ctx context.Context, p *plugin, scope string) error {
	if !slices.Contains(p.m.Scopes, scope) {
		return fmt.Errorf("plugins: %s: its manifest does not ask for scope %q: %w", p.m.ID, scope, ErrRefused)
	}
	if h.checker == nil {
		return refused(p.m.ID, scope, "no ledger")
	}
	d, err := h.checker.Check(ctx, h.identity, p.m.PublisherAddress(), scope)
	if err != nil {
		h.emit(p.m.ID, "refused", scope+": "+err.Error())
		return refused(p.m.ID, scope, "the ledger did not answer: "+err.Error())
	}
	if !d.Allowed {
		h.emit(p.m.ID, "refused", scope+": "+d.Reason)
		return refused(p.m.ID, scope, d.Reason)
	}
	return nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// checkPrivate refuses a sandbox path that reaches a private folder:
// one that holds it, or one inside it but m's own folder.
func (h *Host) checkPrivate(m *Manifest, path string) error {
	for _, priv := range h.private {
		own := m.Dir != "" && within(path, m.Dir)
		if within(priv, path) || within(path, priv) && !own {
			return hint.New(fmt.Errorf("plugins: %s: its sandbox would reach %s, which no plugin may: refusing to start it", m.ID, priv),
				"ask the plugin's publisher to narrow its [sandbox] paths, or keep NOOK_HOME and the config file out of them and out of the system folders plugins read (/usr, /etc…)")
		}
	}
	return nil
}

// ToolInfo is a plugin tool as listed by Host.ToolList.
type ToolInfo struct {
	Name        string // what the model sees: <id>__<tool>
	Plugin      string
	Tool        string
	Description string
	Parameters  map[string]any
	Consent     bool // the user confirms each call
}

// ToolList lists the tools of every plugin whose "tool" grant is valid,
// starting those plugins. Plugins without a grant are skipped and their
// refusals returned in refusedErrs; a plugin that fails to start is
// reported there too.
func (h *Host) ToolList(ctx context.Context) (tools []ToolInfo, problems []error) {
	for _, m := range h.Manifests() {
		if !slices.Contains(m.Scopes, ScopeTool) {
			continue
		}
		p, err := h.plugin(m.ID)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		ts, err := p.tools(ctx)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		tools = append(tools, ts...)
	}
	return tools, problems
}

// Tools lists the granted tools for the model (assistant.Toolbox). Plugins
// without a grant or that fail to start are left out: the model cannot
// call what it is not shown, and Call checks again anyway.
func (h *Host) Tools(ctx context.Context) ([]engine.Tool, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ts, _ := h.ToolList(ctx)
	out := make([]engine.Tool, 0, len(ts))
	for _, t := range ts {
		out = append(out, engine.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
	}
	return out, nil
}

// NeedsConsent says whether the user confirms each call of the tool
// (assistant.ConsentPolicy): the settings mark it, or the plugin marks it
// destructive.
func (h *Host) NeedsConsent(name string) bool {
	id, tool, ok := strings.Cut(name, ToolSep)
	if !ok {
		return true
	}
	if h.settings.needsConsent(id, tool) {
		return true
	}
	p, err := h.plugin(id)
	if err != nil {
		return true
	}
	return p.destructive(tool)
}

// Call calls the tool named <id>__<tool> with args (assistant.Toolbox).
// The "tool" grant is checked first; the result text is capped and made
// safe for a terminal (termsafe.String: escape sequences are shown, not
// run), and so are the errors that carry the plugin's words.
func (h *Host) Call(ctx context.Context, name string, args map[string]any) (string, error) {
	id, tool, ok := strings.Cut(name, ToolSep)
	if !ok || tool == "" {
		return "", fmt.Errorf("plugins: %q: %w (names are <plugin>%s<tool>)", name, ErrUnknownTool, ToolSep)
	}
	p, err := h.plugin(id)
	if err != nil {
		return "", err
	}
	if err := h.gate(ctx, p, ScopeTool); err != nil {
		return "", err
	}
	h.emit(id, "call", tool)
	res, err := p.call(ctx, tool, args)
	if err != nil {
		return "", err
	}
	text := h.untrusted(res)
	if res.IsError {
		return "", fmt.Errorf("plugins: %s: tool %q failed: %s", id, tool, oneLine(text))
	}
	return text, nil
}

// untrusted is a plugin's text as nook passes it on: capped and safe for
// a terminal (control characters and escape sequences shown, not run).
func (h *Host) untrusted(res *mcp.CallToolResult) string {
	return termsafe.String(h.capText(resultText(res)))
}

// capText cuts s to the host's output cap, saying so.
func (h *Host) capText(s string) string {
	if len(s) <= h.maxOutput {
		return s
	}
	cut := h.maxOutput
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[nook: output cut at %d of %d bytes]", cut, len(s))
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// oneLine is s on one terminal-safe line of at most 300 bytes.
func oneLine(s string) string {
	s = termsafe.Line(strings.Join(strings.Fields(s), " "))
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// resultText joins the text of a tool result; other content is named.
func resultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		switch c := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, c.Text)
		case *mcp.EmbeddedResource:
			if c.Resource != nil && c.Resource.Text != "" {
				parts = append(parts, c.Resource.Text)
			} else {
				parts = append(parts, "[resource]")
			}
		case *mcp.ImageContent:
			parts = append(parts, "[image "+c.MIMEType+"]")
		case *mcp.AudioContent:
			parts = append(parts, "[audio "+c.MIMEType+"]")
		case *mcp.ResourceLink:
			parts = append(parts, "[link "+c.URI+"]")
		}
	}
	return strings.Join(parts, "\n")
}

// Close stops every plugin. The host cannot be used after.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	ps := slices.Collect(maps.Values(h.plugins))
	h.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.stop("nook is closing"))
	}
	return errors.Join(errs...)
}
