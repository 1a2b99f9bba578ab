package serve

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

// ragChat asks model (nook:rag answers from the vault) a question.
func ragChat(ctx context.Context, c *api.Client, model string) (string, error) {
	req := &api.ChatRequest{Model: model, Messages: []api.Message{{Role: "user", Content: "When is the dentist appointment?"}}, Options: greedy(8)}
	text, _, err := chatOnce(ctx, c, req)
	return text, err
}

func TestAnAppWithoutAGrantGetsNothingOfTheVault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat, ScopeEmbed}})
	app, key := e.app(t, "notes-app", ScopeChat)
	c := ollamaClient(t, e, key)
	ctx := t.Context()

	if _, err := ragChat(ctx, c, RAGModel); statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "vault:read") {
		t.Fatalf("nook:rag with chat only: %v; want 403 naming vault:read", err)
	}
	keyless := ollamaClient(t, e, "")
	if _, err := ragChat(ctx, keyless, RAGModel); statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "never served without an app key") {
		t.Fatalf("nook:rag without a key, chat open: %v; want 403, the vault is never open", err)
	}
	if text, err := ragChat(ctx, c, storiesModel); err != nil || text == "" {
		t.Fatalf("plain chat with the chat grant: %q, %v", text, err)
	}

	e.grant(t, app, ScopeVaultRead)
	if _, err := ragChat(ctx, c, RAGModel); err != nil {
		t.Fatalf("nook:rag with vault:read: %v", err)
	}
	// Revoked while the app keeps its connection: refused on the next request.
	e.revoke(t, app, ScopeChat)
	if _, err := ragChat(ctx, c, storiesModel); statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("chat after the revoke: %v; want 403 saying the grant ended", err)
	}
	e.idle(t)
}

func TestKeysAreCheckedBeforeAnything(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Open: []string{ScopeChat}})
	a, key := e.app(t, "editor", ScopeChat)
	ctx := t.Context()
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"an unknown nook key is refused, not taken as keyless", "nook_not-a-real-key", http.StatusForbidden},
		{"a foreign token is keyless, and keyless chat is open", "ollama", 0},
		{"the app's key works", key, 0},
	} {
		_, err := ragChat(ctx, ollamaClient(t, e, tc.key), storiesModel)
		if statusOf(err) != tc.want {
			t.Errorf("%s: %v, want status %d", tc.name, err, tc.want)
		}
	}
	// A removed app's key stops working at once in this process.
	if err := e.reg.Remove(a.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := ragChat(ctx, ollamaClient(t, e, key), storiesModel); statusOf(err) != http.StatusForbidden {
		t.Errorf("the key of a removed app: %v, want refused", err)
	}
}

func TestBoundOffLoopbackEveryRequestNeedsAKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Addr: "0.0.0.0:11435", Open: []string{ScopeChat}})
	_, key := e.app(t, "remote", ScopeChat)
	if _, err := ragChat(t.Context(), ollamaClient(t, e, ""), storiesModel); statusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "needs an app key on every request") {
		t.Errorf("keyless on a server bound to 0.0.0.0: %v; want refused even with chat opened", err)
	}
	if _, err := ragChat(t.Context(), ollamaClient(t, e, key), storiesModel); err != nil {
		t.Errorf("with a key: %v", err)
	}
	banner := strings.Join(e.srv.Banner("0.0.0.0:11435"), "\n")
	if !strings.Contains(banner, "every request needs an app key") {
		t.Errorf("banner:\n%s\nwant it to say keys are required", banner)
	}
}
