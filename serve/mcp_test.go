package serve

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/serve/servetest"
	"github.com/nook-ai/nook/vault"
	"github.com/nook-ai/nook/vault/vaulttest"
)

// mcpSession connects the MCP Go SDK's client to e's /mcp with key.
func mcpSession(t *testing.T, e *env, key string) (*mcp.ClientSession, error) {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: e.base + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: servetest.Key{Key: key}}}
	s, err := c.Connect(t.Context(), tr, nil)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// call calls a tool (servetest.CallTool).
var call = servetest.CallTool

func TestMCPToolsFollowTheAppsGrantsAndARevokeBitesOnTheNextCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	app, key := e.app(t, "agent")
	s, err := mcpSession(t, e, key)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := s.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if got := strings.Join(names, ","); got != "ask,list_sources,remember,search" {
		t.Errorf("tools %s, want ask, list_sources, remember, search", got)
	}

	// No grant: nothing of the vault.
	for tool, args := range map[string]map[string]any{
		"search":       {"query": "dentist"},
		"list_sources": {},
		"ask":          {"question": "When is the dentist?"},
		"remember":     {"text": "the cat is called Tom"},
	} {
		if msg := call(t, s, tool, args, nil); !strings.Contains(msg, "nook apps grant agent") {
			t.Errorf("%s without a grant: %q, want a refusal naming the grant to add", tool, msg)
		}
	}

	e.grant(t, app, ScopeVaultRead)
	var found SearchOut
	if msg := call(t, s, "search", map[string]any{"query": "dentist appointment"}, &found); msg != "" {
		t.Fatalf("search with vault:read: %s", msg)
	}
	if len(found.Hits) == 0 || !strings.HasSuffix(found.Hits[0].Source, "dentist.md") || found.Hits[0].StartLine < 1 {
		t.Fatalf("search hits %+v, want dentist.md first", found.Hits)
	}
	var listed ListSourcesOut
	call(t, s, "list_sources", nil, &listed)
	if len(listed.Sources) != 2 {
		t.Errorf("list_sources %+v, want both notes", listed.Sources)
	}

	e.grant(t, app, ScopeChat)
	var ans AskOut
	if msg := call(t, s, "ask", map[string]any{"question": "When is the dentist appointment?"}, &ans); msg != "" {
		t.Fatalf("ask: %s", msg)
	}
	if ans.Answer == "" || len(ans.Sources) == 0 || !strings.HasSuffix(ans.Sources[0].Path, "dentist.md") {
		t.Errorf("ask: %+v, want an answer with dentist.md among its sources", ans)
	}

	e.grant(t, app, ScopeMemoryWrite)
	var fact vault.Fact
	if msg := call(t, s, "remember", map[string]any{"text": "the cat is called Tom"}, &fact); msg != "" || fact.ID == "" {
		t.Fatalf("remember with memory:write: %q, %+v", msg, fact)
	}
	facts, _ := e.vault.Facts()
	if len(facts) != 1 || facts[0].Text != "the cat is called Tom" {
		t.Errorf("facts %+v, want the remembered one", facts)
	}

	// Revoked mid-session: the very next call is refused.
	e.revoke(t, app, ScopeVaultRead)
	if msg := call(t, s, "search", map[string]any{"query": "dentist"}, nil); !strings.Contains(msg, "expired or revoked") {
		t.Errorf("search after the revoke: %q, want refused as revoked", msg)
	}
}

func TestMCPAppWithATagGrantSeesOnlyThatTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	_, key := e.app(t, "health-app", ScopeTagPrefix+"health")
	s, err := mcpSession(t, e, key)
	if err != nil {
		t.Fatal(err)
	}
	var found SearchOut
	if msg := call(t, s, "search", map[string]any{"query": "tomatoes water morning", "k": 10}, &found); msg != "" {
		t.Fatalf("search: %s", msg)
	}
	for _, h := range found.Hits {
		if !strings.HasSuffix(h.Source, "dentist.md") {
			t.Errorf("a tag-scoped app got %s, a note without the tag", h.Source)
		}
	}
	var listed ListSourcesOut
	call(t, s, "list_sources", nil, &listed)
	if len(listed.Sources) != 1 || !strings.HasSuffix(listed.Sources[0].Source, "dentist.md") {
		t.Errorf("list_sources %+v, want only the health note", listed.Sources)
	}
	if msg := call(t, s, "search", map[string]any{"query": "x", "tag": "work"}, nil); !strings.Contains(msg, "vault:read:tag/work") {
		t.Errorf("search of another tag: %q, want refused naming vault:read:tag/work", msg)
	}
}

func TestMCPOverHTTPNeedsAKnownKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	for _, key := range []string{"", "nook_not-a-key", "ollama"} {
		if _, err := mcpSession(t, e, key); err == nil {
			t.Errorf("connecting with key %q worked; want 401", key)
		}
	}
}

func TestNotesAddedByAnotherProcessAreSearchedWithoutARestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	_, key := e.app(t, "agent", ScopeVaultRead)
	s, err := mcpSession(t, e, key)
	if err != nil {
		t.Fatal(err)
	}
	var before ListSourcesOut
	call(t, s, "list_sources", nil, &before)
	// `nook add` in another process: a second handle on the same vault.
	other, err := vault.Open(e.vault.Dir(), []byte("test pass"), vault.WithEmbedder(vaulttest.HashEmbedder{}), vault.WithEmbedModel("hash-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "boat.md"), []byte("# Boat\n\nThe ferry to the island leaves at noon.\n"), 0o600)
	if _, err := other.Add(t.Context(), []string{dir}, vault.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // the server catches up at most every 2 s
	var found SearchOut
	call(t, s, "search", map[string]any{"query": "ferry island noon"}, &found)
	if len(found.Hits) == 0 || !strings.HasSuffix(found.Hits[0].Source, "boat.md") {
		t.Errorf("hits %+v, want the note another process added (%d sources before)", found.Hits, len(before.Sources))
	}
}
