package plugins_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/plugins"
)

// copyFile copies a built program into a plugin folder.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// publish is a plugin folder as a publisher ships it: the units program
// and its manifest, signed with SignFile (what `nook plug sign` runs).
func publish(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	copyFile(t, bin(t, "units"), filepath.Join(src, "units"))
	m := plugins.Manifest{ID: "units", Description: "units", Scopes: []string{"tool"}, Run: plugins.Run{Command: "./units"},
		Publisher: "0x0000000000000000000000000000000000000000"} // a template: sign fills it in
	data, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, plugins.ManifestFile), data, 0o644)
	signed, err := plugins.SignFile(t.Context(), src, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(signed.Run.SHA256) != 64 {
		t.Fatalf("sign recorded no program hash: %+v", signed.Run)
	}
	return src
}

// The attack run's item 8: the program could be swapped after install and
// nook ran it. Now the signature covers its SHA-256: a program swapped in
// the publisher's folder is not installed, and one swapped after install
// is refused at the next start, with a one-line error and a hint.
func TestASwappedProgramIsRefused(t *testing.T) {
	t.Parallel()
	evil := bin(t, "misbehave") // any other program

	t.Run("before add", func(t *testing.T) {
		t.Parallel()
		src := publish(t)
		copyFile(t, evil, filepath.Join(src, "units"))
		st := plugins.Store{Dir: filepath.Join(t.TempDir(), "plugins")}
		_, err := st.Install(t.Context(), src)
		if !errors.Is(err, plugins.ErrProgramChanged) || !strings.Contains(hint.Of(err), "nook plug add") {
			t.Fatalf("add of a swapped program: %v (hint %q)", err, hint.Of(err))
		}
		if _, err := os.Stat(filepath.Join(st.Dir, "units")); err == nil {
			t.Fatal("the plugin was installed anyway")
		}
	})

	t.Run("after add, at the next start", func(t *testing.T) {
		t.Parallel()
		st := plugins.Store{Dir: filepath.Join(t.TempDir(), "plugins")}
		m, err := st.Install(t.Context(), publish(t))
		if err != nil {
			t.Fatal(err)
		}
		ch := newChain(t)
		ch.grant(t, m, "tool", time.Hour)
		args := map[string]any{"value": 1, "from": "m", "to": "cm"}
		h1, _ := newHost(t, ch, []*plugins.Manifest{m})
		if got, err := call(t, h1, "units__convert", args); err != nil || got != "1 m = 100 cm" {
			t.Fatalf("before the swap: %q %v", got, err)
		}
		h1.Close()

		copyFile(t, evil, filepath.Join(st.Dir, "units", "units"))
		ms, problems := st.List() // the manifest itself is intact
		if len(ms) != 1 || len(problems) != 0 {
			t.Fatalf("list: %v %v", ms, problems)
		}
		h2, rec := newHost(t, ch, ms)
		_, err = call(t, h2, "units__convert", args)
		if !errors.Is(err, plugins.ErrProgramChanged) {
			t.Fatalf("after the swap: %v, want ErrProgramChanged", err)
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(hint.Of(err), "reinstall the plugin") {
			t.Errorf("error %q, hint %q: want one line and a hint", err, hint.Of(err))
		}
		if rec.count("start") != 0 || rec.count("refused") != 1 {
			t.Fatalf("events:\n%s", rec)
		}
	})
}

// signUnpinned signs m's canonical bytes as they are, without Sign
// recording the program: what a format-1 manifest amounts to.
func signUnpinned(t *testing.T, m *plugins.Manifest) {
	t.Helper()
	key := newKey(t)
	m.Publisher = crypto.PubkeyToAddress(key.PublicKey).Hex()
	m.Signature = ""
	sig, err := crypto.Sign(accounts.TextHash(m.Canonical()), key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	m.Signature = "0x" + hex.EncodeToString(sig)
}

func TestAManifestWhoseSignatureDoesNotCoverItsProgramIsRefused(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]plugins.Manifest{
		"a command without sha256":         {ID: "units", Description: "d", Scopes: []string{"tool"}, Run: plugins.Run{Command: "/bin/true"}},
		"an https url without its key pin": {ID: "remote", Description: "d", Scopes: []string{"tool"}, Run: plugins.Run{URL: "https://plugins.example/mcp"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			signUnpinned(t, &m)
			err := m.Verify()
			if !errors.Is(err, plugins.ErrNotPinned) || !strings.Contains(hint.Of(err), "nook plug sign") {
				t.Fatalf("verify: %v (hint %q)", err, hint.Of(err))
			}
		})
	}
}

// An https plugin is pinned to its server's key when signed: the same
// manifest pointed at a server with another key is refused.
func TestAnHTTPSPluginTalksOnlyToTheServerWhoseKeyWasSigned(t *testing.T) {
	t.Parallel()
	server := func() *httptest.Server {
		s := mcp.NewServer(&mcp.Implementation{Name: "remote", Version: "1"}, nil)
		mcp.AddTool(s, &mcp.Tool{Name: "ping", Description: "Answer pong."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "pong"}}}, nil, nil
		})
		srv := httptest.NewUnstartedServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}} // a key of its own
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	real, impostor := server(), server()
	ch := newChain(t)
	sign := func(id, url, pinFrom string) *plugins.Manifest {
		m := plugins.Manifest{ID: id, Description: "over https", Scopes: []string{"tool"}, Run: plugins.Run{URL: pinFrom}}
		if err := m.PinServer(t.Context()); err != nil {
			t.Fatal(err)
		}
		m.Run.URL = url
		s := signed(t, m)
		ch.grant(t, s, "tool", time.Hour)
		return s
	}
	good := sign("good", real.URL, real.URL)
	bad := sign("bad", impostor.URL, real.URL) // the key of real, the address of impostor
	if good.Run.TLSKey == "" || good.Run.TLSKey != bad.Run.TLSKey {
		t.Fatalf("pins %q %q", good.Run.TLSKey, bad.Run.TLSKey)
	}
	h, _ := newHost(t, ch, []*plugins.Manifest{good, bad})
	if got, err := call(t, h, "good__ping", nil); err != nil || got != "pong" {
		t.Fatalf("the pinned server: %q %v", got, err)
	}
	_, err := call(t, h, "bad__ping", nil)
	if !errors.Is(err, plugins.ErrProgramChanged) {
		t.Fatalf("a server with another key: %v, want ErrProgramChanged", err)
	}
}

// selfSigned is a new certificate for 127.0.0.1 with a new key.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// The attack run's item 9, for what passes through the host: a plugin's
// answer full of escape sequences reaches the caller with each shown as a
// visible placeholder, and so does what it writes to its log.
func TestAPluginsTextReachesTheTerminalSafe(t *testing.T) {
	t.Parallel()
	h, _, logDir := misbehaving(t)
	got, err := call(t, h, "misbehave__escape", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(got, "\x1b\x07\u009b\u202e") {
		t.Fatalf("escape sequences reached the caller: %q", got)
	}
	if !strings.Contains(got, "␛]52;c;") || !strings.Contains(got, "␛]0;pwned␇") {
		t.Fatalf("the sequences are not shown: %q", got)
	}
	if _, err := call(t, h, "misbehave__stderr", map[string]any{"text": "log \x1b]2;title\x07 line"}); err != nil {
		t.Fatal(err)
	}
	data := waitForLog(t, filepath.Join(logDir, "misbehave.log"), " line")
	if strings.ContainsAny(string(data), "\x1b\x07") || !strings.Contains(string(data), "log ␛]2;title␇ line") {
		t.Fatalf("log:\n%q", data)
	}
}

// The attack run's item 13, for plugin logs: the 1 MiB cap held only at
// start, so a plugin writing without end filled the disk. Now the log
// rotates while the plugin runs.
func TestAPluginLogRotatesWhileThePluginWrites(t *testing.T) {
	t.Parallel()
	h, _, logDir := misbehaving(t)
	chunk := strings.Repeat("z", 300<<10)
	for range 12 { // 3.6 MiB of stderr from one process
		if _, err := call(t, h, "misbehave__stderr", map[string]any{"text": chunk}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := call(t, h, "misbehave__stderr", map[string]any{"text": "the last line"}); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(logDir, "misbehave.log")
	var total int64
	waitForLog(t, log, "the last line")
	for _, p := range []string{log, log + ".1", log + ".2"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if fi.Size() > plugins.MaxLogSize {
			t.Errorf("%s has %d bytes, over the %d cap", p, fi.Size(), plugins.MaxLogSize)
		}
		total += fi.Size()
	}
	if _, err := os.Stat(log + ".3"); err == nil {
		t.Error("more than 2 old logs are kept")
	}
	if total > 3*plugins.MaxLogSize {
		t.Errorf("%d bytes of logs", total)
	}
}
