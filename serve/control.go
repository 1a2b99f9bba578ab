package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/ledgerclient"
)

// The control socket: `nook apps grant|revoke|ls` while `nook serve` runs.
// The embedded chain is open in one process at a time, and a running
// server holds it; so the server listens on a Unix socket under the nook
// home (mode 0600, in a 0700 folder) and writes app grants to its chain
// for the commands. Each request is signed with the identity's key (EIP-191
// over a canonical line, within two minutes, never twice): only a process
// that unlocked the vault can sign, so the socket gives nothing to a
// process that merely runs as the same user.

// AppLedger is the ledger work the control socket does
// (*app.Ledger satisfies it).
type AppLedger interface {
	Identity() (common.Address, error)
	GrantApp(ctx context.Context, app common.Address, scope string, d time.Duration) (ledgerclient.Grant, error)
	RevokeApp(ctx context.Context, app common.Address, scope string) error
	AppGrants(ctx context.Context) ([]ledgerclient.Grant, time.Time, error)
}

// ControlRequest is one signed request on the control socket.
type ControlRequest struct {
	Op    string         `json:"op"` // "grant", "revoke", "grants"
	App   common.Address `json:"app"`
	Scope string         `json:"scope,omitempty"`
	For   int64          `json:"for,omitempty"` // seconds (-1: forever); grant only
	Time  int64          `json:"time"`          // unix seconds when signed
	Nonce string         `json:"nonce"`         // random hex, so that two same requests in one second differ
	Sig   string         `json:"sig"`           // hex r||s||v over Message
}

// Message is the line a ControlRequest's signature covers.
func (r *ControlRequest) Message() []byte {
	return fmt.Appendf(nil, "nook-serve-control v2|%s|%s|%s|%d|%d|%s", r.Op, r.App.Hex(), r.Scope, r.For, r.Time, r.Nonce)
}

// ControlReply is the answer.
type ControlReply struct {
	Grant  *ledgerclient.Grant  `json:"grant,omitempty"`
	Grants []ledgerclient.Grant `json:"grants,omitempty"`
	Now    time.Time            `json:"now,omitzero"`
	Error  string               `json:"error,omitempty"`
	Hint   string               `json:"hint,omitempty"`
}

const controlSkew = 2 * time.Minute

// ControlPath is the control socket under a run folder.
func ControlPath(runDir string) string { return filepath.Join(runDir, "serve.sock") }

// ListenControl makes the control socket at path (in a 0700 folder, mode
// 0600). It refuses when a server already answers there: one server per
// nook home.
func ListenControl(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("serve: control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, hint.New(fmt.Errorf("serve: %s: another nook serve is running", path), "stop it first (one server per nook home)")
	}
	os.Remove(path) // left by a server that crashed
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("serve: control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("serve: control socket: %w", err)
	}
	return ln, nil
}

// ServeControl answers control requests on ln (from ListenControl) until
// ctx ends, then closes it (removing the socket); ledger gives the ledger
// the server holds.
func ServeControl(ctx context.Context, ln net.Listener, ledger func(context.Context) (AppLedger, error)) error {
	c := &control{ledger: ledger, seen: map[string]time.Time{}}
	hs := &http.Server{Handler: http.HandlerFunc(c.handle), ReadHeaderTimeout: 5 * time.Second}
	stop := context.AfterFunc(ctx, func() { hs.Close() })
	defer stop()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

type control struct {
	ledger func(context.Context) (AppLedger, error)
	mu     sync.Mutex
	seen   map[string]time.Time // signatures already used, until they expire
}

func (c *control) handle(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, rep ControlReply) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(rep)
	}
	fail := func(status int, err error) {
		reply(status, ControlReply{Error: err.Error(), Hint: hint.Of(err)})
	}
	var req ControlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("serve: control: %w", err))
		return
	}
	l, err := c.ledger(r.Context())
	if err != nil {
		fail(http.StatusServiceUnavailable, err)
		return
	}
	if err := c.verify(&req, l); err != nil {
		fail(http.StatusForbidden, err)
		return
	}
	switch req.Op {
	case "grant":
		if err := ValidScope(req.Scope); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		d := time.Duration(req.For) * time.Second
		switch {
		case req.For < 0:
			d = ledgerclient.Forever
		case req.For == 0:
			fail(http.StatusBadRequest, errors.New("serve: control: a grant needs a validity"))
			return
		}
		g, err := l.GrantApp(r.Context(), req.App, req.Scope, d)
		if err != nil {
			fail(http.StatusBadGateway, err)
			return
		}
		reply(http.StatusOK, ControlReply{Grant: &g})
	case "revoke":
		if err := l.RevokeApp(r.Context(), req.App, req.Scope); err != nil {
			fail(http.StatusBadGateway, err)
			return
		}
		reply(http.StatusOK, ControlReply{})
	case "grants":
		gs, now, err := l.AppGrants(r.Context())
		if err != nil {
			fail(http.StatusBadGateway, err)
			return
		}
		reply(http.StatusOK, ControlReply{Grants: gs, Now: now})
	default:
		fail(http.StatusBadRequest, fmt.Errorf("serve: control: unknown op %q", req.Op))
	}
}

// verify checks that the identity signed req recently, and only once.
func (c *control) verify(req *ControlRequest, l AppLedger) error {
	id, err := l.Identity()
	if err != nil {
		return err
	}
	if d := time.Since(time.Unix(req.Time, 0)); d > controlSkew || d < -controlSkew {
		return errors.New("serve: control: the request's time is off by more than two minutes")
	}
	if len(req.Nonce) < 16 {
		return errors.New("serve: control: a request without a nonce")
	}
	sig, err := hex.DecodeString(req.Sig)
	if err != nil || len(sig) != 65 {
		return errors.New("serve: control: malformed signature")
	}
	pub, err := crypto.SigToPub(accounts.TextHash(req.Message()), sig)
	if err != nil || crypto.PubkeyToAddress(*pub) != id {
		return errors.New("serve: control: not signed by the identity's key")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for s, t := range c.seen {
		if now.Sub(t) > 2*controlSkew {
			delete(c.seen, s)
		}
	}
	if _, dup := c.seen[req.Sig]; dup {
		return errors.New("serve: control: a replayed request")
	}
	c.seen[req.Sig] = now
	return nil
}

// ErrNoServer: no nook serve listens on the control socket.
var ErrNoServer = errors.New("no nook serve is running")

// ControlClient sends signed requests to a running server's control
// socket; Key is the identity's key (from the vault).
type ControlClient struct {
	Path string
	Key  *ecdsa.PrivateKey
}

// Do signs req (filling Time and Sig) and sends it.
func (cc ControlClient) Do(ctx context.Context, req ControlRequest) (*ControlReply, error) {
	req.Time = time.Now().Unix()
	req.Nonce = rand.Text()
	sig, err := crypto.Sign(accounts.TextHash(req.Message()), cc.Key)
	if err != nil {
		return nil, fmt.Errorf("serve: control: sign: %w", err)
	}
	req.Sig = hex.EncodeToString(sig)
	body, _ := json.Marshal(req)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", cc.Path)
	}}}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://nook-serve/control", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("serve: %s: %w (%v)", cc.Path, ErrNoServer, err)
	}
	defer resp.Body.Close()
	var rep ControlReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("serve: control: %s: %w", resp.Status, err)
	}
	if rep.Error != "" {
		err := errors.New(rep.Error)
		if rep.Hint != "" {
			err = hint.New(err, rep.Hint)
		}
		return &rep, err
	}
	return &rep, nil
}
