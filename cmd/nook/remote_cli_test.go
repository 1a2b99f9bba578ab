package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/remote/remotetest"
)

// remoteEnv is a NOOK_HOME whose config names an Ollama server (and no
// local model at all), written from cfg.
func remoteEnv(t *testing.T, cfg string) map[string]string {
	t.Helper()
	env := map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": cliPass}
	writeConfig(t, env, cfg)
	return env
}

func writeConfig(t *testing.T, env map[string]string, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(env["NOOK_HOME"], "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteEnginesGetNothingBySurprise(t *testing.T) {
	srv := remotetest.NewOllama(t, enginetest.New(enginetest.Text("The dog is called Sam.")), "chatty")
	base := fmt.Sprintf("[remote]\nkind = \"ollama\"\nurl = %q\nmodel = \"chatty\"\n", srv.URL)
	env := remoteEnv(t, base)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	notes := cliNotes(t, "sourdough.md", "tomatoes.md", "bike-tire.md")
	n.mustRun(t, 0, "add", notes)
	if got := len(srv.To("/api/embed")); got != 0 {
		t.Fatalf("a server set for chat got %d embedding requests at `nook add`", got)
	}
	out := n.mustRun(t, 0, "ask", "what is the dog called?")
	if !strings.Contains(out, "using the ollama server at "+srv.URL) || !strings.Contains(out, "your documents stay here") {
		t.Errorf("the first use does not say what is sent:\n%s", out)
	}
	if len(srv.To("/api/chat")) == 0 {
		t.Fatal("the question never reached the server")
	}
	if out := n.mustRun(t, 0, "ask", "and the duck?"); strings.Contains(out, "using the ollama server") {
		t.Errorf("the notice came twice:\n%s", out)
	}
	if got := len(srv.To("/api/embed")); got != 0 {
		t.Fatalf("%d embedding requests without remote.embed", got)
	}
	// Embeddings go there when the config says so, and the notice says it.
	writeConfig(t, env, base+"embed = true\n")
	out = n.mustRun(t, 0, "add", cliNotes(t, "lisbon.md"))
	if len(srv.To("/api/embed")) == 0 {
		t.Error("remote.embed = true sent no embedding request")
	}
	if !strings.Contains(out, "the text of every document you add") {
		t.Errorf("the notice for embeddings:\n%s", out)
	}
	// Plain HTTP to another machine is refused at once.
	writeConfig(t, env, "[remote]\nkind = \"ollama\"\nurl = \"http://192.0.2.7:11434\"\nmodel = \"chatty\"\n")
	start := time.Now()
	out = n.mustRun(t, 1, "ask", "hello?")
	if !strings.Contains(out, "plain HTTP") || !strings.Contains(out, "allow_http") {
		t.Errorf("plain HTTP off loopback:\n%s", out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the refusal took %s", d)
	}
}

// Escape sequences in a note, a file name and a model's answer are shown as
// placeholders: the terminal's clipboard (OSC 52) and title (OSC 0) are
// never set by them.
func TestUntrustedTextIsShownNotObeyed(t *testing.T) {
	const osc52, title = "\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07"
	srv := remotetest.NewOllama(t, enginetest.New(enginetest.Reply{Tokens: []string{"Sam", " " + osc52[:3], osc52[3:], " " + title}}), "chatty")
	env := remoteEnv(t, fmt.Sprintf("[remote]\nkind = \"ollama\"\nurl = %q\nmodel = \"chatty\"\n", srv.URL))
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "evil"+title+".md"), []byte("# Clipboard "+title+"\n\nthe zanzibar clipboard "+osc52+" trick\n"), 0o644)
	n.mustRun(t, 0, "add", notes)
	for _, args := range [][]string{{"search", "zanzibar"}, {"ask", "what about zanzibar?"}, {"forget", "--list"}} {
		out := n.mustRun(t, 0, args...)
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("nook %s printed an escape sequence: %q", args[0], out)
		}
		if args[0] != "forget" && !strings.Contains(out, "␛]52;c;") {
			t.Errorf("nook %s does not show the sequence as placeholders: %q", args[0], out)
		}
	}
}
