package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/internal/harden"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/logfile"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/plugins/internal/sandbox"
)

// A plugin's log (<logs>/<id>.log, its stderr and nook's notes) is moved
// to <id>.log.1 (the older to .2) when a write would take it past
// MaxLogSize, while the plugin runs.
const (
	MaxLogSize = 1 << 20
	keepLogs   = 2
)

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
	cmd    *exec.Cmd        // nil over HTTP
	exited chan struct{}    // closed when the process has exited (never over HTTP)
	status error            // cmd.Wait's error, once exited is closed
	log    *logfile.Writer  // nil without a log dir
	stderr *termsafe.Writer // the process's stderr on its way to log
	tmp    string           // its private temp folder, removed after it
	pipes  []io.Closer      // nook's ends of the process's stdin and stdout
	tools  []ToolInfo       // listed once per start
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

func (p *plugin) openLog() *logfile.Writer {
	path := p.logPath()
	if path == "" {
		return nil
	}
	w, err := logfile.Open(path, MaxLogSize, keepLogs)
	if err != nil {
		return nil
	}
	return w
}

func (r *running) note(format string, a ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "nook %s: %s\n", time.Now().Format(time.RFC3339), termsafe.Line(fmt.Sprintf(format, a...)))
	}
}

// start runs the plugin and opens its MCP session, within the call timeout.
func (p *plugin) start(ctx context.Context) (*running, error) {
	r := &running{log: p.openLog()}
	var transport mcp.Transport
	if p.m.Run.URL != "" {
		transport = &mcp.StreamableClientTransport{Endpoint: p.m.Run.URL, HTTPClient: p.m.pinnedClient(), MaxEventSize: p.h.maxFrame}
		r.note("connecting to %s", p.m.Run.URL)
	} else {
		path, err := p.m.VerifyProgram()
		if err != nil {
			r.note("not started: %v", err)
			p.h.emit(p.m.ID, "refused", termsafe.Line(err.Error()))
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
		why := termsafe.Line(err.Error())
		if cctx.Err() != nil && ctx.Err() == nil {
			why = "no answer to initialize within " + p.h.timeoutFor(p.m.ID).String()
		}
		p.kill(r, "start failed: "+why)
		p.cleanup(r)
		if errors.Is(err, ErrProgramChanged) {
			return nil, hint.New(fmt.Errorf("plugins: %s: start: %s: %w", p.m.ID, why, ErrProgramChanged),
				"the server's key changed since the plugin was signed: ask its publisher for a newly signed manifest")
		}
		return nil, fmt.Errorf("plugins: %s: start: %s%s: %w", p.m.ID, why, p.seeLog(), ErrCrashed)
	}
	r.sess = sess
	p.h.emit(p.m.ID, "start", p.describe(r))
	return r, nil
}

func (p *plugin) describe(r *running) string {
	if r.cmd != nil && r.cmd.Process != nil {
		return fmt.Sprintf("pid %d, sandbox %s", r.cmd.Process.Pid, sandbox.Current())
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
	closePipes := func() {
		inR.Close()
		outW.Close()
		inW.Close()
		outR.Close()
	}
	spec, tmp, err := p.sandboxSpec(path)
	if err != nil {
		closePipes()
		return nil, err
	}
	r.tmp = tmp
	cmd, err := sandbox.Command(spec, p.m.Run.Args...)
	if err != nil {
		closePipes()
		return nil, fmt.Errorf("plugins: %s: %w", p.m.ID, err)
	}
	cmd.Dir = p.m.Dir
	cmd.Env = append(harden.PluginEnv(p.m.Sandbox.Env), "TMPDIR="+tmp)
	cmd.Stdin, cmd.Stdout = inR, outW
	if r.log != nil {
		// Through a pipe nook reads: what the plugin writes is made safe
		// for a terminal (cat, tail -f) and the log rotates as it grows.
		r.stderr = termsafe.NewWriter(r.log)
		cmd.Stderr = r.stderr
		cmd.WaitDelay = 2 * time.Second // a child it left holding stderr
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
	r.note("started %s (pid %d) in sandbox %s", path, cmd.Process.Pid, sandbox.Current())
	go func() {
		r.status = cmd.Wait()
		if r.stderr != nil {
			r.stderr.Close()
		}
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
	release := func() {
		if r.log != nil {
			r.log.Close()
		}
		if r.tmp != "" {
			os.RemoveAll(r.tmp)
		}
	}
	switch {
	case r.cmd == nil || r.hasExited():
		release()
	default: // kill gave up waiting: release once it is gone
		go func() {
			<-r.exited
			release()
		}()
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
	what = termsafe.Line(what) // it may name a plugin's resource
	var wire *jsonrpc.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("plugins: %s: %s: %w", p.m.ID, what, ctx.Err())
	case errors.As(err, &wire): // the plugin's own words: shown safe
		return &safeError{fmt.Errorf("plugins: %s: %s: %w", p.m.ID, what, err)}
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
		ti := ToolInfo{Name: p.m.ID + ToolSep + t.Name, Plugin: p.m.ID, Tool: t.Name, Description: termsafe.String(t.Description), Parameters: params}
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

// sandboxSpec is what the plugin's process may reach: its program, its
// folder (read), a new private temp folder (read and write) and what its
// manifest's [sandbox] declares, none of it reaching the host's private
// folders (NOOK_HOME, the config folder) but for the plugin's own folder.
func (p *plugin) sandboxSpec(program string) (sandbox.Spec, string, error) {
	spec := sandbox.Spec{Exec: program, Net: p.m.Sandbox.Net}
	if p.m.Dir != "" {
		spec.Read = append(spec.Read, p.m.Dir)
	}
	resolve := func(list []string) ([]string, error) {
		var out []string
		for _, d := range list {
			abs, err := p.m.sandboxPath(d)
			if err != nil {
				return nil, err
			}
			out = append(out, abs)
		}
		return out, nil
	}
	read, err := resolve(p.m.Sandbox.Read)
	if err != nil {
		return spec, "", err
	}
	write, err := resolve(p.m.Sandbox.Write)
	if err != nil {
		return spec, "", err
	}
	spec.Read = append(spec.Read, read...)
	spec.Write = append(spec.Write, write...)
	for _, a := range slices.Concat([]string{program}, spec.Read, spec.Write, sandbox.SystemRead()) {
		if err := p.h.checkPrivate(p.m, a); err != nil {
			return spec, "", err
		}
	}
	tmp, err := os.MkdirTemp("", "nook-plugin-"+p.m.ID+"-")
	if err != nil {
		return spec, "", fmt.Errorf("plugins: %s: temp folder: %w", p.m.ID, err)
	}
	spec.Write = append(spec.Write, tmp)
	return spec, tmp, nil
}
