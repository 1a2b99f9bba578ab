package plugins_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/plugins"
)

func TestToolCallNeedsAGrant(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	units := unitsManifest(t)
	logDir := filepath.Join(t.TempDir(), "logs")
	h, rec := newHost(t, ch, []*plugins.Manifest{units}, plugins.WithLogDir(logDir))
	args := map[string]any{"value": 3, "from": "km", "to": "mi"}

	_, err := call(t, h, "units__convert", args)
	var re *plugins.RefusedError
	if !errors.As(err, &re) || !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("without a grant: %v, want a refusal", err)
	}
	if got, want := plugins.Explain(err), `plugins: units: no grant for scope "tool" (no grant) — run: nook plug grant units tool --for 30d`; got != want {
		t.Errorf("refusal reads\n%s\nwant\n%s", got, want)
	}
	if hint.Of(err) != "run: nook plug grant units tool --for 30d" {
		t.Errorf("hint %q", hint.Of(err))
	}
	if tools, err := h.Tools(t.Context()); err != nil || len(tools) != 0 {
		t.Fatalf("tools without a grant: %v %v, want none", tools, err)
	}
	if n := rec.count("start"); n != 0 {
		t.Fatalf("the plugin was started %d times before any grant", n)
	}
	if _, err := os.Stat(filepath.Join(logDir, "units.log")); err == nil {
		t.Fatal("the plugin has a log before any grant: something was started")
	}

	ch.grant(t, units, "tool", 30*24*time.Hour)
	tools, err := h.Tools(t.Context())
	if err != nil || len(tools) != 1 || tools[0].Name != "units__convert" {
		t.Fatalf("tools with a grant: %+v %v", tools, err)
	}
	if props, _ := tools[0].Parameters["properties"].(map[string]any); props["value"] == nil || props["from"] == nil {
		t.Errorf("the tool's schema lost its properties: %v", tools[0].Parameters)
	}
	got, err := call(t, h, "units__convert", args)
	if err != nil {
		t.Fatal(err)
	}
	if got != "3 km = 1.8641 mi" {
		t.Fatalf("convert answered %q", got)
	}
	if _, err := call(t, h, "units__convert", map[string]any{"value": 1, "from": "kg", "to": "mi"}); err == nil || !strings.Contains(err.Error(), "cannot convert kg (mass) to mi (length)") {
		t.Fatalf("a tool error: %v", err)
	}
}

func TestGrantRevokedMidSessionStopsTheNextCall(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := misbehaveManifest(t)
	h, _ := newHost(t, ch, []*plugins.Manifest{m})
	ch.grant(t, m, "tool", 30*24*time.Hour)
	if got, err := call(t, h, "misbehave__count", nil); err != nil || got != "1" {
		t.Fatalf("first call: %q %v", got, err)
	}
	ch.revoke(t, m, "tool")
	_, err := call(t, h, "misbehave__count", nil)
	if !errors.Is(err, plugins.ErrRefused) || !strings.Contains(err.Error(), "revoked") && !strings.Contains(err.Error(), "ended") {
		t.Fatalf("after revoke: %v, want a refusal saying the grant ended", err)
	}
	// Granted again: the same process answers, and it counts 2, so the
	// refused call never reached it.
	ch.grant(t, m, "tool", 30*24*time.Hour)
	if got, err := call(t, h, "misbehave__count", nil); err != nil || got != "2" {
		t.Fatalf("after the new grant: %q %v, want 2 (the refused call was not sent)", got, err)
	}
}

func TestExpiredGrantIsRefused(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	units := unitsManifest(t)
	h, _ := newHost(t, ch, []*plugins.Manifest{units})
	ch.grant(t, units, "tool", time.Hour)
	if _, err := call(t, h, "units__convert", map[string]any{"value": 1, "from": "m", "to": "cm"}); err != nil {
		t.Fatal(err)
	}
	ch.lc.AdjustTime(t, 2*time.Hour)
	_, err := call(t, h, "units__convert", map[string]any{"value": 1, "from": "m", "to": "cm"})
	if !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("two hours after a one-hour grant: %v, want refused", err)
	}
}

func TestAScopeTheManifestDoesNotAskForIsRefusedEvenWithAGrant(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := signed(t, plugins.Manifest{ID: "reader", Description: "asks only for vault:read", Scopes: []string{"vault:read:notes"},
		Run: plugins.Run{Command: bin(t, "misbehave")}})
	ch.grant(t, m, "tool", 30*24*time.Hour) // granted, but not asked for: the signed manifest wins
	h, rec := newHost(t, ch, []*plugins.Manifest{m})
	if _, err := call(t, h, "reader__echo", map[string]any{"text": "hi"}); !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("err %v, want refused", err)
	}
	if rec.count("start") != 0 {
		t.Fatal("the plugin was started")
	}
}

// A plugin that crashes, hangs, or answers with too much or with garbage
// costs its call, not nook: the host stays up and the next call works on a
// fresh process.
func TestMisbehavingPluginsDoNotTakeNookDown(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := misbehaveManifest(t)
	ch.grant(t, m, "tool", 30*24*time.Hour)
	logDir := filepath.Join(t.TempDir(), "logs")
	h, rec := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithLogDir(logDir),
		plugins.WithCallTimeout(3*time.Second), plugins.WithMaxFrame(1<<20))

	// fresh checks that the plugin answers again, from a new process.
	fresh := func(t *testing.T) {
		t.Helper()
		got, err := call(t, h, "misbehave__count", nil)
		if err != nil || got != "1" {
			t.Fatalf("next call: %q %v, want 1 from a restarted plugin\nevents:\n%s", got, err, rec)
		}
	}
	tests := []struct {
		name    string
		tool    string
		args    map[string]any
		wantErr error
		say     string
	}{
		{"a crash mid-call is reported and the plugin restarts", "crash", nil, plugins.ErrCrashed, "exit status 3"},
		{"a hang is cut at the timeout and the plugin restarts", "hang", nil, plugins.ErrTimeout, "within 3s"},
		{"a line that is not JSON-RPC breaks the session and the plugin restarts", "malformed", nil, plugins.ErrCrashed, "starts again"},
		{"an answer over the frame limit breaks the session and the plugin restarts", "huge", map[string]any{"bytes": 3 << 20}, plugins.ErrCrashed, "starts again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := call(t, h, "misbehave__count", nil); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := call(t, h, "misbehave__"+tc.tool, tc.args)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("err %v, want %v saying %q", err, tc.wantErr, tc.say)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("the failure took %v", took)
			}
			if !strings.Contains(err.Error(), filepath.Join(logDir, "misbehave.log")) {
				t.Errorf("the error does not point at the log: %v", err)
			}
			fresh(t)
		})
	}
	t.Run("a big answer is cut and says so", func(t *testing.T) {
		got, err := call(t, h, "misbehave__huge", map[string]any{"bytes": 200 << 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > plugins.DefaultMaxOutput+100 || !strings.HasSuffix(got, "[nook: output cut at 65536 of 204800 bytes]") {
			t.Fatalf("%d bytes ending %q", len(got), got[max(0, len(got)-60):])
		}
	})
	t.Run("stderr goes to the plugin's log", func(t *testing.T) {
		if _, err := call(t, h, "misbehave__stderr", map[string]any{"text": "a line for the log"}); err != nil {
			t.Fatal(err)
		}
		data := waitForLog(t, filepath.Join(logDir, "misbehave.log"), "a line for the log")
		if !strings.Contains(string(data), "a line for the log") || !strings.Contains(string(data), "crashing as asked") {
			t.Fatalf("log:\n%s", data)
		}
	})
	if n := rec.count("crash"); n < 3 {
		t.Errorf("%d crash events, want at least 3\n%s", n, rec)
	}
	if n := rec.count("timeout"); n != 1 {
		t.Errorf("%d timeout events, want 1\n%s", n, rec)
	}
}

func TestPluginsThatFailToStartAreErrors(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"exit", "mute", "garbage"} {
		t.Run("mode "+mode, func(t *testing.T) {
			t.Parallel()
			ch := newChain(t)
			m := misbehaveManifest(t, "--mode", mode)
			ch.grant(t, m, "tool", 30*24*time.Hour)
			h, _ := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithCallTimeout(2*time.Second))
			start := time.Now()
			_, err := call(t, h, "misbehave__echo", map[string]any{"text": "hi"})
			if !errors.Is(err, plugins.ErrCrashed) || !strings.Contains(err.Error(), "start") {
				t.Fatalf("err %v, want a start failure", err)
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Fatalf("took %v", took)
			}
			tools, err := h.Tools(t.Context())
			if err != nil || len(tools) != 0 {
				t.Fatalf("tools of a plugin that does not start: %v %v", tools, err)
			}
		})
	}
}

func TestCloseStopsThePlugins(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := misbehaveManifest(t)
	ch.grant(t, m, "tool", 30*24*time.Hour)
	h, rec := newHost(t, ch, []*plugins.Manifest{m})
	if _, err := call(t, h, "misbehave__echo", map[string]any{"text": "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.count("stop") != 1 {
		t.Fatalf("events:\n%s", rec)
	}
	if _, err := call(t, h, "misbehave__echo", map[string]any{"text": "hi"}); !errors.Is(err, plugins.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestConsent(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := misbehaveManifest(t)
	ch.grant(t, m, "tool", 30*24*time.Hour)
	h, _ := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithSettings(plugins.Settings{"misbehave": {Consent: []string{"echo"}}}))
	if _, err := h.Tools(t.Context()); err != nil {
		t.Fatal(err)
	}
	for tool, want := range map[string]bool{"echo": true, "wipe": true, "count": false} {
		if got := h.NeedsConsent("misbehave__" + tool); got != want {
			t.Errorf("NeedsConsent(%s) = %v, want %v", tool, got, want)
		}
	}
}

// A plugin that is a streamable-HTTP MCP server (the units example with
// -http, a real process on loopback) is gated and called like a stdio one.
func TestStreamableHTTPPluginsAreGatedAndCalled(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(bin(t, "units"), "-http", addr)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("units -http did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ch := newChain(t)
	m := signed(t, plugins.Manifest{ID: "units", Description: "unit converter over HTTP", Scopes: []string{"tool"},
		Run: plugins.Run{URL: "http://" + addr + "/"}})
	h, _ := newHost(t, ch, []*plugins.Manifest{m})
	args := map[string]any{"value": 3, "from": "km", "to": "mi"}
	if _, err := call(t, h, "units__convert", args); !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("without a grant: %v, want a refusal", err)
	}
	ch.grant(t, m, "tool", time.Hour)
	got, err := call(t, h, "units__convert", args)
	if err != nil || got != "3 km = 1.8641 mi" {
		t.Fatalf("over HTTP: %q, %v", got, err)
	}
}
