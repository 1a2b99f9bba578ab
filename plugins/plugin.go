package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxLogSize: a plugin's log is moved to <id>.log.1 when it grows past this
// (checked at each start).
const maxLogSize = 1 << 20

// plugin is one plugin's lifecycle: stopped (run == nil) or running.
type plugin struct {
	h *Host
	m *Manifest

	mu  sync.Mutex // guards run; held while starting and stopping
	run *running
}

// running is one start of a plugin.
type running struct {
	sess   *mcp.ClientSession
	cmd    *exec.Cmd     // nil over HTTP
	exited chan struct{} // closed when the process has exited (never over HTTP)
	status error         // cmd.Wait's error, once exited is closed
	log    *os.File      // nil without a log dir
	pipes  []io.Closer   // nook's ends of the process's stdin and stdout
	tools  []ToolInfo    // listed once per start
	listed bool
	killed string // why nook stopped it, if it did
}

func (r *running) hasExited() bool {
	if r.exited == nil {
		return false
	}
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

func (p *plugin) logPath() string {
	if p.h.logDir == "" {
		return ""
	}
	return filepath.Join(p.h.logDir, p.m.ID+".log")
}

// session returns the running plugin, starting it (again) if needed. A
// plugin found dead is reported as a crash before it is restarted.
func (p *plugin) session(ctx context.Context) (*running, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.run; r != nil && r.hasExited() {
		p.h.emit(p.m.ID, "crash", "exited ("+exitText(r.status)+"); restarting")
		p.cleanup(r)
		p.run = nil
	}
	if p.run != nil {
		return p.run, nil
	}
	r, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	p.run = r
	return r, nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// env is what a plugin process inherits: no NOOK_* variable (no
// passphrase), no credentials, only what programs need to run.
func env() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "USER", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// commandPath resolves run.command: relative paths are in the plugin's
// folder, bare names are looked up in PATH.
func (p *plugin) commandPath() (string, error) {
	c := p.m.Run.Command
	switch {
	case filepath.IsAbs(c):
	case strings.ContainsRune(c, '/') || strings.ContainsRune(c, filepath.Separator):
		c = filepath.Join(p.m.Dir, c)
	default:
		lp, err := exec.LookPath(c)
		if err != nil {
			return "", fmt.Errorf("plugins: %s: command %q: %w", p.m.ID, c, err)
		}
		c = lp
	}
	if p.m.Run.SHA256 != "" {
		f, err := os.Open(c)
		if err != nil {
			return "", fmt.Errorf("plugins: %s: %w", p.m.ID, err)
		}
		defer f.Close()
		hs := sha256.New()
		if _, err := io.Copy(hs, f); err != nil {
			return "", fmt.Errorf("plugins: %s: hash %s: %w", p.m.ID, c, err)
		}
		if got := hex.EncodeToString(hs.Sum(nil)); !strings.EqualFold(got, p.m.Run.SHA256) {
			return "", fmt.Errorf("plugins: %s: %s has SHA-256 %s, the signed manifest says %s: refusing to start it", p.m.ID, c, got, p.m.Run.SHA256)
		}
	}
	return c, nil
}

func (p *plugin) openLog() *os.File {
	path := p.logPath()
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil
	}
	return f
}

func (r *running) note(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "nook %s: "+format+"\n", append([]any{time.Now().Format(time.RFC3339)}, a...)...)
	}
}

// start runs the plugin and opens its MCP session, within the call timeout.
func (p *plugin) start(ctx context.Context) (*running, error) {
	r := &running{log: p.openLog()}
	var transport mcp.Transport
	if p.m.Run.URL != "" {
		transport = &mcp.StreamableClientTransport{Endpoint: p.m.Run.URL, HTTPClient: &http.Client{}, MaxEventSize: p.h.maxFrame}
		r.note("connecting to %s", p.m.Run.URL)
	} else {
		path, err := p.commandPath()
		if err != nil {
			p.cleanup(r)
			return nil, err
		}
		t, err := p.spawn(r, path)
		if err != nil {
			p.cleanup(r)
			return nil, err
		}
		transport = t
	}
	cctx, cancel := context.WithTimeout(ctx, p.h.timeoutFor(p.m.ID))
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "nook", Version: "1"}, nil)
	sess, err := client.Connect(cctx, transport, nil)
	if err != nil {
		why := err.Error()
		if cctx.Err() != nil && ctx.Err() == nil {
			why = "no answer to initialize within " + p.h.timeoutFor(p.m.ID).String()
		}
		p.kill(r, "start failed: "+why)
		p.cleanup(r)
		return nil, fmt.Errorf("plugins: %s: start: %s%s: %w", p.m.ID, why, p.seeLog(), ErrCrashed)
	}
	r.sess = sess
	p.h.emit(p.m.ID, "start", p.describe(r))
	return r, nil
}

func (p *plugin) describe(r *running) string {
	if r.cmd != nil && r.cmd.Process != nil {
		return fmt.Sprintf("pid %d", r.cmd.Process.Pid)
	}
	return p.m.Run.URL
}

func (p *plugin) seeLog() string {
	if l := p.logPath(); l != "" {
		return " (its log: " + l + ")"
	}
	return ""
}

// spawn starts the process with its stdin and stdout on pipes nook owns
// (so that Wait never closes them under the reader) and its stderr on the
// log.
func (p *plugin) spawn(r *running, path string) (mcp.Transport, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: %w", p.m.ID, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("plugins: %s: %w", p.m.ID, err)
	}
	cmd := exec.Command(path, p.m.Run.Args...)
	cmd.Dir = p.m.Dir
	cmd.Env = env()
	cmd.Stdin, cmd.Stdout = inR, outW
	if r.log != nil {
		cmd.Stderr = r.log
	}
	setProcessGroup(cmd)
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("plugins: %s: start %s: %w", p.m.ID, path, err)
	}
	r.cmd = cmd
	r.exited = make(chan struct{})
	r.note("started %s (pid %d)", path, cmd.Process.Pid)
	go func() {
		r.status = cmd.Wait()
		r.note("exited: %s", exitText(r.status))
		close(r.exited)
	}()
	r.pipes = []io.Closer{outR, inW}
	return &mcp.IOTransport{Reader: outR, Writer: inW, MaxLineLength: p.h.maxFrame}, nil
}

// kill stops r at once (the process group, then the session).
func (p *plugin) kill(r *running, why string) {
	if r.killed == "" {
		r.killed = why
	}
	r.note("stopping it: %s", why)
	if r.cmd != nil && r.cmd.Process != nil && !r.hasExited() {
		killProcessGroup(r.cmd)
	}
	if r.sess != nil {
		r.sess.Close()
	}
	if r.exited != nil {
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
		}
	}
}

func (p *plugin) cleanup(r *running) {
	for _, c := range r.pipes {
		c.Close()
	}
	r.pipes = nil
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
}

// drop kills r if it is still the running instance, so the next use
// starts the plugin again.
func (p *plugin) drop(r *running, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kill(r, why)
	if p.run == r {
		p.cleanup(r)
		p.run = nil
	}
}

// stop ends the plugin politely: close its stdin, wait a little, then kill.
func (p *plugin) stop(why string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.run
	if r == nil {
		return nil
	}
	p.run = nil
	defer p.cleanup(r)
	r.note("stopping: %s", why)
	if r.sess != nil {
		r.sess.Close()
	}
	if r.exited != nil {
		select {
		case <-r.exited:
		case <-time.After(2 * time.Second):
			killProcessGroup(r.cmd)
			<-r.exited
		}
	}
	p.h.emit(p.m.ID, "stop", why)
	return nil
}

// failure turns a failed request on r into the error to return, stopping
// the plugin unless it answered with a JSON-RPC error.
func (p *plugin) failure(ctx, cctx context.Context, r *running, what string, err error) error {
	var wire *jsonrpc.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("plugins: %s: %s: %w", p.m.ID, what, ctx.Err())
	case errors.As(err, &wire):
		return fmt.Errorf("plugins: %s: %s: %w", p.m.ID, what, err)
	case cctx.Err() != nil:
		d := p.h.timeoutFor(p.m.ID)
		p.drop(r, "no answer within "+d.String())
		p.h.emit(p.m.ID, "timeout", what)
		return fmt.Errorf("plugins: %s: %s: %w within %s; stopped it, it starts again on the next call%s", p.m.ID, what, ErrTimeout, d, p.seeLog())
	}
	// The connection broke: the process died, or wrote what is not
	// JSON-RPC (or too much of it).
	if r.exited != nil {
		select {
		case <-r.exited:
		case <-time.After(200 * time.Millisecond):
		}
	}
	why := err.Error()
	if r.hasExited() {
		why = exitText(r.status)
	}
	p.drop(r, "broken session: "+err.Error())
	p.h.emit(p.m.ID, "crash", what+": "+why)
	return fmt.Errorf("plugins: %s: %s: %w (%s); it starts again on the next call%s", p.m.ID, what, ErrCrashed, oneLine(why), p.seeLog())
}

// call runs one tool call on the plugin (started if needed).
func (p *plugin) call(ctx context.Context, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	r, err := p.session(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, p.h.timeoutFor(p.m.ID))
	defer cancel()
	if args == nil {
		args = map[string]any{}
	}
	res, err := r.sess.CallTool(cctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, p.failure(ctx, cctx, r, "call "+tool, err)
	}
	return res, nil
}

// tools lists the plugin's tools (once per start), after the grant.
func (p *plugin) tools(ctx context.Context) ([]ToolInfo, error) {
	if err := p.h.gate(ctx, p, ScopeTool); err != nil {
		return nil, err
	}
	r, err := p.session(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if r.listed {
		ts := r.tools
		p.mu.Unlock()
		return ts, nil
	}
	p.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, p.h.timeoutFor(p.m.ID))
	defer cancel()
	var out []ToolInfo
	for t, err := range r.sess.Tools(cctx, nil) {
		if err != nil {
			return nil, p.failure(ctx, cctx, r, "list tools", err)
		}
		params, _ := t.InputSchema.(map[string]any)
		if params == nil {
			params = map[string]any{"type": "object"}
		}
		ti := ToolInfo{Name: p.m.ID + ToolSep + t.Name, Plugin: p.m.ID, Tool: t.Name, Description: t.Description, Parameters: params}
		ti.Consent = p.h.settings.needsConsent(p.m.ID, t.Name) || (t.Annotations != nil && t.Annotations.DestructiveHint != nil && *t.Annotations.DestructiveHint)
		out = append(out, ti)
		if len(out) > 256 {
			break
		}
	}
	p.mu.Lock()
	r.tools, r.listed = out, true
	p.mu.Unlock()
	return out, nil
}

// destructive reports whether the (already listed) tool says it destroys.
func (p *plugin) destructive(tool string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return false
	}
	for _, t := range p.run.tools {
		if t.Tool == tool {
			return t.Consent
		}
	}
	return false
}
