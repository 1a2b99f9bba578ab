package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/ollama/ollama/api"

	"github.com/nook-ai/nook/internal/testbin"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/serve"
	"github.com/nook-ai/nook/serve/servetest"
)

// The serve, mcp and apps commands as a user runs them: a vault with a
// note, an app with a key, grants given and taken away while the server
// (or the stdio MCP server) runs, and real clients: the MCP Go SDK and
// Ollama's Go client.

// serveHome is a NOOK_HOME with a vault holding one note, an identity, the
// small model installed as "stories", and an app "agent"; it returns the
// environment and the app's key.
func serveHome(t *testing.T) (map[string]string, string) {
	t.Helper()
	model := testmodels.Path(t, testmodels.Stories260K)
	env := map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": cliPass, "NOOK_EMBED_MODEL": model}
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "home.md"), []byte("# Home\n\nThe spare key is under the blue mat by the door.\n"), 0o644)
	mustNook(t, env, "init")
	mustNook(t, env, "import", model, "--name", "stories")
	mustNook(t, env, "add", notes)
	mustNook(t, env, "id", "create")
	key, _ := mustNook(t, env, "apps", "add", "agent")
	key = strings.TrimSpace(key)
	if !strings.HasPrefix(key, "nook_") {
		t.Fatalf("apps add printed %q, want a key", key)
	}
	return env, key
}

// lockedBuffer is a bytes.Buffer a running command writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var toolCall = servetest.CallTool

type searchResult struct {
	Hits []struct {
		Path string `json:"path"`
		Text string `json:"text"`
	} `json:"hits"`
}

func TestServeGivesAnAppWhatItsGrantsAllowAndNookAppsChangesThemWhileItRuns(t *testing.T) {
	env, key := serveHome(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		done <- execute(ctx, c, []string{"serve", "--addr", addr})
	}()
	stopped := false
	stop := func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("nook serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	for i := 0; ; i++ {
		if strings.Contains(stderr.String(), "listening on") {
			break
		}
		if i == 300 {
			t.Fatalf("nook serve did not start:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "every request needs an app key") {
		t.Errorf("the banner does not say who may use it:\n%s", stderr.String())
	}

	// Ollama's Go client, with the app's key: no grant, no chat.
	base, _ := url.Parse("http://" + addr)
	oc := api.NewClient(base, &http.Client{Transport: servetest.Key{Key: key}})
	tags, err := oc.List(t.Context())
	if err != nil || len(tags.Models) == 0 || !strings.HasPrefix(tags.Models[0].Name, "stories") {
		t.Fatalf("ollama list: %+v, %v", tags, err)
	}
	for _, m := range tags.Models[1:] {
		if m.Name != serve.RAGModel { // the default chat model, answering from the vault
			t.Fatalf("ollama list has %s: %+v", m.Name, tags)
		}
	}
	chat := func() (string, error) {
		var out strings.Builder
		no := false
		err := oc.Generate(t.Context(), &api.GenerateRequest{Model: "stories", Prompt: "Once upon a time", Stream: &no,
			Options: map[string]any{"num_predict": 8, "temperature": 0}}, func(r api.GenerateResponse) error {
			out.WriteString(r.Response)
			return nil
		})
		return out.String(), err
	}
	if _, err := chat(); err == nil || !strings.Contains(err.Error(), "nook apps grant agent chat") {
		t.Fatalf("generate without a grant: %v, want refused with the command to grant", err)
	}
	// The server holds the embedded chain: nook apps goes through its
	// control socket.
	mustNook(t, env, "apps", "grant", "agent", "chat", "--for", "1h")
	if text, err := chat(); err != nil || text == "" {
		t.Fatalf("generate with the grant: %q, %v", text, err)
	}

	// The MCP Go SDK over streamable HTTP: the vault needs vault:read, and
	// a revoke takes effect on the next call of the same session.
	mc := mcp.NewClient(&mcp.Implementation{Name: "cli-test", Version: "1"}, nil)
	s, err := mc.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: servetest.Key{Key: key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var res searchResult
	args := map[string]any{"query": "where is the spare key"}
	if msg := toolCall(t, s, "search", args, &res); !strings.Contains(msg, "vault:read") {
		t.Fatalf("search without vault:read: %q %+v, want refused", msg, res)
	}
	mustNook(t, env, "apps", "grant", "agent", "vault:read", "--for", "1h")
	if msg := toolCall(t, s, "search", args, &res); msg != "" || len(res.Hits) == 0 || !strings.Contains(res.Hits[0].Text, "blue mat") {
		t.Fatalf("search with vault:read: %q %+v", msg, res)
	}
	out, _ := mustNook(t, env, "apps", "ls")
	if !strings.Contains(out, "agent") || !strings.Contains(out, "vault:read") || !strings.Contains(out, "chat") {
		t.Errorf("apps ls while serving:\n%s", out)
	}
	mustNook(t, env, "apps", "revoke", "agent", "vault:read")
	if msg := toolCall(t, s, "search", args, &res); !strings.Contains(msg, "vault:read") {
		t.Fatalf("search after the revoke: %q, want refused", msg)
	}

	// nook apps rm revokes what is left; the key stops working.
	out, _ = mustNook(t, env, "apps", "rm", "agent")
	if !strings.Contains(out, "revoked chat") {
		t.Errorf("apps rm: %q", out)
	}
	if _, err := chat(); err == nil {
		t.Error("a removed app's key still chats")
	}

	if code := stop(); code != 0 {
		t.Fatalf("nook serve exited %d:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(env["NOOK_HOME"], "run", "serve.sock")); !os.IsNotExist(err) {
		t.Errorf("the control socket outlived the server: %v", err)
	}
	// With the server gone, nook apps opens the chain itself.
	code, _, errs := runNook(t, env, "", "apps", "grant", "agent", "chat")
	if code == 0 || !strings.Contains(errs, "no such app") {
		t.Errorf("grant to a removed app: exit %d, %q", code, errs)
	}
}

func TestNookMCPOverStdioFollowsTheAppsGrants(t *testing.T) {
	bin := testbin.Build(t, ".")
	env, key := serveHome(t)
	mustNook(t, env, "apps", "grant", "agent", "vault:read", "--for", "1h")

	cmd := exec.Command(bin, "mcp")
	cmd.Env = append(os.Environ(), "NOOK_HOME="+env["NOOK_HOME"], "NOOK_PASSPHRASE="+cliPass, "NOOK_EMBED_MODEL="+env["NOOK_EMBED_MODEL"], "NOOK_APP_KEY="+key)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	mc := mcp.NewClient(&mcp.Implementation{Name: "cli-test", Version: "1"}, nil)
	s, err := mc.Connect(t.Context(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	defer s.Close()
	tools, err := s.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "ask list_sources remember search" {
		t.Errorf("tools: %s", got)
	}
	var res searchResult
	args := map[string]any{"query": "where is the spare key"}
	if msg := toolCall(t, s, "search", args, &res); msg != "" || len(res.Hits) == 0 || !strings.Contains(res.Hits[0].Text, "blue mat") {
		t.Fatalf("search with vault:read: %q %+v\n%s", msg, res, stderr.String())
	}
	var facts map[string]any
	if msg := toolCall(t, s, "remember", map[string]any{"text": "the bike lock code is 4711"}, &facts); !strings.Contains(msg, "memory:write") {
		t.Errorf("remember without memory:write: %q", msg)
	}
	// nook mcp gives the embedded chain back between calls, so nook apps
	// can change the grants while it runs.
	mustNook(t, env, "apps", "revoke", "agent", "vault:read")
	if msg := toolCall(t, s, "search", args, &res); !strings.Contains(msg, "vault:read") {
		t.Fatalf("search after the revoke: %q, want refused", msg)
	}
}
