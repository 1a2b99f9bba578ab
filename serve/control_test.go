package serve

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
)

// chainLedger is AppLedger over a simulated chain (the server's
// *app.Ledger in nook serve).
type chainLedger struct{ ch *ledgertest.Chain }

func (l chainLedger) Identity() (common.Address, error) { return l.ch.Identity, nil }
func (l chainLedger) GrantApp(ctx context.Context, a common.Address, scope string, d time.Duration) (ledgerclient.Grant, error) {
	return l.ch.Client.GrantApp(ctx, l.ch.Owner, l.ch.Identity, a, scope, d)
}
func (l chainLedger) RevokeApp(ctx context.Context, a common.Address, scope string) error {
	return l.ch.Client.RevokeApp(ctx, l.ch.Owner, l.ch.Identity, a, scope)
}
func (l chainLedger) AppGrants(ctx context.Context) ([]ledgerclient.Grant, time.Time, error) {
	st, err := l.ch.Client.State(ctx, l.ch.Identity)
	if err != nil {
		return nil, time.Time{}, err
	}
	return st.AppGrants(), time.Now(), nil
}

func startControl(t *testing.T, ch *ledgertest.Chain) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nook-ctl-") // short: Unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := ControlPath(filepath.Join(dir, "run"))
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- ServeControl(ctx, ln, func(context.Context) (AppLedger, error) { return chainLedger{ch}, nil })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeControl: %v", err)
		}
	})
	for range 200 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return path
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the control socket did not come up")
	return ""
}

func TestTheControlSocketGrantsAndRevokesForTheIdentityOnly(t *testing.T) {
	t.Parallel()
	ch := ledgertest.New(t)
	path := startControl(t, ch)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want mode 0600", fi, err)
	}
	ctx := t.Context()
	app := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	owner := ControlClient{Path: path, Key: ch.Owner}
	rep, err := owner.Do(ctx, ControlRequest{Op: "grant", App: app, Scope: ScopeChat, For: 3600})
	if err != nil || rep.Grant == nil || rep.Grant.Scope != ScopeChat {
		t.Fatalf("grant: %+v, %v", rep, err)
	}
	if d, _ := ch.Client.CheckApp(ctx, ch.Identity, app, ScopeChat); !d.Allowed {
		t.Fatalf("after the grant: %+v", d)
	}
	rep, err = owner.Do(ctx, ControlRequest{Op: "grants"})
	if err != nil || len(rep.Grants) != 1 || rep.Grants[0].Plugin != app {
		t.Fatalf("grants: %+v, %v", rep, err)
	}
	if _, err := owner.Do(ctx, ControlRequest{Op: "revoke", App: app, Scope: ScopeChat}); err != nil {
		t.Fatal(err)
	}
	if d, _ := ch.Client.CheckApp(ctx, ch.Identity, app, ScopeChat); d.Allowed {
		t.Fatalf("after the revoke: %+v", d)
	}

	stranger := ControlClient{Path: path, Key: ledgertest.NewKey(t)}
	if _, err := stranger.Do(ctx, ControlRequest{Op: "grant", App: app, Scope: ScopeVaultRead, For: 60}); err == nil || !strings.Contains(err.Error(), "not signed by the identity") {
		t.Errorf("a request signed by another key: %v, want refused", err)
	}
	if _, err := owner.Do(ctx, ControlRequest{Op: "grant", App: app, Scope: "vault:everything", For: 60}); err == nil {
		t.Error("an unknown scope was granted")
	}
}

func TestTheControlSocketRefusesStaleAndReplayedRequests(t *testing.T) {
	t.Parallel()
	ch := ledgertest.New(t)
	path := startControl(t, ch)
	send := func(req ControlRequest, key *ecdsa.PrivateKey) (int, string) {
		sig, _ := crypto.Sign(accounts.TextHash(req.Message()), key)
		req.Sig = hex.EncodeToString(sig)
		b, _ := json.Marshal(req)
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}
		resp, err := hc.Post("http://nook-serve/control", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep ControlReply
		json.NewDecoder(resp.Body).Decode(&rep)
		return resp.StatusCode, rep.Error
	}
	stale := ControlRequest{Op: "grants", Time: time.Now().Add(-10 * time.Minute).Unix(), Nonce: rand.Text()}
	if code, msg := send(stale, ch.Owner); code != http.StatusForbidden || !strings.Contains(msg, "time") {
		t.Errorf("a stale request: %d %q", code, msg)
	}
	fresh := ControlRequest{Op: "grants", Time: time.Now().Unix(), Nonce: rand.Text()}
	if code, msg := send(fresh, ch.Owner); code != http.StatusOK {
		t.Fatalf("a fresh request: %d %q", code, msg)
	}
	if code, msg := send(fresh, ch.Owner); code != http.StatusForbidden || !strings.Contains(msg, "replayed") {
		t.Errorf("the same request again: %d %q", code, msg)
	}
	// Two requests alike, sent in one second by the client, are two
	// requests (a nonce each), not a replay.
	owner := ControlClient{Path: path, Key: ch.Owner}
	for i := range 2 {
		if _, err := owner.Do(t.Context(), ControlRequest{Op: "grants"}); err != nil {
			t.Fatalf("request %d of two alike: %v", i+1, err)
		}
	}
}

func TestOneServerPerHomeAndNoneMeansErrNoServer(t *testing.T) {
	t.Parallel()
	ch := ledgertest.New(t)
	path := startControl(t, ch)
	_, err := ListenControl(path)
	if err == nil || !strings.Contains(err.Error(), "another nook serve is running") {
		t.Errorf("a second server on the same socket: %v", err)
	}
	none := ControlClient{Path: filepath.Join(t.TempDir(), "none.sock"), Key: ch.Owner}
	if _, err := none.Do(t.Context(), ControlRequest{Op: "grants"}); err == nil || !strings.Contains(err.Error(), ErrNoServer.Error()) {
		t.Errorf("no server: %v, want ErrNoServer", err)
	}
}
