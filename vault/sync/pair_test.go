package sync

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
	"github.com/nook-ai/nook/vault"
)

// pairHost is a first device on the embedded chain (a geth node in
// process, as nook runs it by default) that offers the chain over libp2p
// and can open pairing windows.
type pairHost struct {
	c        *ledgerclient.Client
	owner    *ecdsa.PrivateKey
	identity common.Address
	d        *device
	pc       PairConfig
}

func newPairHost(t *testing.T) *pairHost {
	t.Helper()
	d := &device{name: "host", dir: filepath.Join(t.TempDir(), "host"), log: &logBuf{}, conns: map[peer.ID]int{}}
	v, err := vault.Init(d.dir, testPass, vaultOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	d.v, d.rec = v, v.DeviceRecipient()
	ks := Keys(v)
	dc, err := ledgerclient.OpenDevChain(filepath.Join(t.TempDir(), "chain"), ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.n != nil {
			d.n.Close()
		}
		dc.Close()
		v.Close()
	})
	c, err := dc.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	owner, err := ledgerclient.CreateIdentity(ks)
	if err != nil {
		t.Fatal(err)
	}
	h := &pairHost{c: c, owner: owner, identity: ledgerclient.Address(owner), d: d}
	if err := RegisterDevice(t.Context(), c, owner, h.identity, v.Device(), d.rec); err != nil {
		t.Fatal(err)
	}
	d.cfg = Config{
		Listen:     []string{"/ip4/127.0.0.1/tcp/0"},
		Ledger:     LedgerDevices{Client: c, Identity: h.identity},
		ServeChain: dc.Backend().(*ethclient.Client).Client(),
		Logger:     slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	n, err := New(d.v, d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.start(d.cfg.Listen, false); err != nil {
		t.Fatal(err)
	}
	if err := n.RefreshDevices(t.Context()); err != nil {
		t.Fatal(err)
	}
	d.n = n
	h.pc = PairConfig{
		Register: func(ctx context.Context, dev, rec string) error {
			return RegisterDevice(ctx, c, owner, h.identity, dev, rec)
		},
		Chain: Chain{Identity: h.identity.Hex(), ChainID: ledgerclient.DevChainID, Registry: c.Registry().Hex()},
	}
	return h
}

func tcpAddr(t *testing.T, addrs []string) string {
	t.Helper()
	for _, a := range addrs {
		if strings.Contains(a, "/tcp/") {
			return a
		}
	}
	t.Fatalf("no TCP address in %v", addrs)
	return ""
}

func TestPairJoinAndSyncOverTheChainLink(t *testing.T) {
	t.Parallel()
	h := newPairHost(t)
	addNote(t, h.d.v, "from-host", "a note the new device must find: quiet orchard")
	p, err := h.d.n.Pair(t.Context(), h.pc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Code) != 9 || p.Code[4] != '-' {
		t.Fatalf("code %q", p.Code)
	}
	dir := filepath.Join(t.TempDir(), "joined")
	j, err := Join(t.Context(), JoinConfig{Dir: dir, Passphrase: testPass, Code: strings.ToLower(p.Code), Addr: tcpAddr(t, p.Addrs), VaultOptions: vaultOpts()})
	if err != nil {
		t.Fatalf("join: %v\nhost log:\n%s", err, h.d.log)
	}
	defer j.Vault.Close()
	dev, err := p.Wait(t.Context(), h.d.n)
	if err != nil || dev != j.Device {
		t.Fatalf("wait: %q, %v (joined %s)", dev, err, j.Device)
	}
	if j.Chain.Host != h.d.v.Device() || j.Chain.RPC != "" || j.Host != h.d.v.Device() {
		t.Fatalf("joined chain %+v", j.Chain)
	}
	recs, err := DeviceRecipients(t.Context(), h.c, h.identity)
	if err != nil || recs[j.Device] != j.Recipient {
		t.Fatalf("the ledger does not list the new device with its recipient: %v %v", recs, err)
	}
	// The new device: no ledger of its own, the host's chain over libp2p.
	blog := &logBuf{}
	nb, err := New(j.Vault, Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: slog.New(slog.NewTextHandler(blog, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	if !nb.Enabled() {
		t.Fatal("a joined device is not enabled")
	}
	if err := nb.start([]string{"/ip4/127.0.0.1/tcp/0"}, false); err != nil {
		t.Fatal(err)
	}
	if err := nb.RefreshDevices(t.Context()); err != nil {
		t.Fatalf("device list over the chain link: %v\n%s", err, blog)
	}
	if ok, why := nb.devices.allowed(h.d.v.Device()); !ok {
		t.Fatalf("the joined device does not admit its host: %s", why)
	}
	rep, err := nb.SyncNow(t.Context())
	if err != nil {
		t.Fatalf("first sync: %v %+v\n%s", err, rep, blog)
	}
	if !finds(t, j.Vault, "quiet orchard", "note://from-host") {
		t.Fatal("the joined device does not find the host's note")
	}
	// It writes, and its sync pushes to the host.
	addNote(t, j.Vault, "from-joined", "written on the new laptop: amber lantern")
	if rep, err := nb.SyncNow(t.Context()); err != nil || !rep.Peers[0].InSync {
		t.Fatalf("second sync: %v %+v", err, rep)
	}
	if !finds(t, h.d.v, "amber lantern", "note://from-joined") {
		t.Fatal("the host does not find the joined device's note")
	}
	// The chain link is read-only.
	lc, err := nb.Ledger(t.Context())
	if err != nil || lc == nil {
		t.Fatalf("ledger over the link: %v", err)
	}
	l := nb.deviceSource().(*chainLedger)
	rc, err := rpc.DialOptions(t.Context(), "http://nook-chain.invalid/", rpc.WithHTTPClient(l.httpClient()))
	if err != nil {
		t.Fatal(err)
	}
	var out any
	err = rc.CallContext(t.Context(), &out, "eth_sendRawTransaction", "0x00")
	var re rpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != -32601 {
		t.Fatalf("eth_sendRawTransaction over the chain link: %v", err)
	}
	// The code works once.
	if _, err := Join(t.Context(), JoinConfig{Dir: filepath.Join(t.TempDir(), "again"), Passphrase: testPass, Code: p.Code, Addr: tcpAddr(t, p.Addrs), VaultOptions: vaultOpts()}); !errors.Is(err, ErrPairClosed) {
		t.Fatalf("a second join with the same code: %v", err)
	}
}

func TestThreeWrongCodesCloseTheWindow(t *testing.T) {
	t.Parallel()
	h := newPairHost(t)
	p, err := h.d.n.Pair(t.Context(), h.pc)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "ZZZZ-ZZZZ"
	if p.Code == wrong {
		wrong = "YYYY-YYYY"
	}
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), "j")
		_, err := Join(t.Context(), JoinConfig{Dir: dir, Passphrase: testPass, Code: wrong, Addr: tcpAddr(t, p.Addrs), VaultOptions: vaultOpts()})
		if !errors.Is(err, ErrPairCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
		if holdsAnything(dir) {
			t.Fatal("a failed join left files")
		}
	}
	if _, err := p.Wait(t.Context(), h.d.n); !errors.Is(err, ErrPairCode) {
		t.Fatalf("wait: %v, want ErrPairCode", err)
	}
	_, err = Join(t.Context(), JoinConfig{Dir: filepath.Join(t.TempDir(), "j"), Passphrase: testPass, Code: p.Code, Addr: tcpAddr(t, p.Addrs), VaultOptions: vaultOpts()})
	if !errors.Is(err, ErrPairClosed) {
		t.Fatalf("the right code after three wrong ones: %v", err)
	}
	if !strings.Contains(h.d.log.String(), "wrong code") {
		t.Errorf("wrong codes are not logged:\n%s", h.d.log)
	}
}

func TestAnExpiredCodeIsRefused(t *testing.T) {
	t.Parallel()
	h := newPairHost(t)
	pc := h.pc
	pc.TTL = 300 * time.Millisecond
	p, err := h.d.n.Pair(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(t.Context(), h.d.n); !errors.Is(err, ErrPairClosed) {
		t.Fatalf("wait: %v", err)
	}
	_, err = Join(t.Context(), JoinConfig{Dir: filepath.Join(t.TempDir(), "j"), Passphrase: testPass, Code: p.Code, Addr: tcpAddr(t, p.Addrs), VaultOptions: vaultOpts()})
	if err == nil {
		t.Fatal("an expired code paired")
	}
}

func TestAPairingGuestGetsOnlyThePairingProtocol(t *testing.T) {
	t.Parallel()
	h := newPairHost(t)
	addNote(t, h.d.v, "x", "not for guests")
	p, err := h.d.n.Pair(t.Context(), h.pc)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newHost(key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ai, err := parsePeerAddr(tcpAddr(t, p.Addrs))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Connect(t.Context(), *ai); err != nil {
		t.Fatalf("a guest could not connect while the window is open: %v", err)
	}
	for _, proto := range []string{string(ProtocolSync), string(ProtocolChain)} {
		s, err := g.NewStream(t.Context(), ai.ID, protocolID(proto))
		if err != nil {
			continue // refused at negotiation: fine
		}
		s.Write(appendFrame(nil, &Hello{Vault: h.d.v.ID(), Device: devA}))
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		if n, err := s.Read(buf); err == nil || n > 0 {
			t.Fatalf("a guest got %d bytes on %s", n, proto)
		}
		s.Close()
	}
	// After the window, the guest cannot connect at all.
	h.d.n.closeWindow(p.w)
	g.Network().ClosePeer(ai.ID)
	waitFor(t, "the guest's connection to close", 5*time.Second, func() bool { return len(g.Network().ConnsToPeer(ai.ID)) == 0 })
	if err := g.Connect(t.Context(), *ai); err == nil {
		// TCP may report the dial done before the host's gate drops it.
		if s, err := g.NewStream(t.Context(), ai.ID, ProtocolPair); err == nil {
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := s.Read(make([]byte, 8)); err == nil || n > 0 {
				t.Fatal("an unknown peer opened a stream with no pairing window open")
			}
		}
	}
}

func TestTheDeviceListDeniesWhenStaleAndTheChainIsGone(t *testing.T) {
	t.Parallel()
	c := &cluster{t: t, chain: ledgertest.New(t)}
	d := c.addDevice("d0", true)
	now := time.Now()
	clock := func() time.Time { return now }
	n, err := New(d.v, Config{Ledger: LedgerDevices{Client: c.chain.Client, Identity: c.chain.Identity}, Now: clock, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.devices.allowed(d.v.Device()); ok {
		t.Fatal("admitted before the list was read")
	}
	if err := n.RefreshDevices(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ok, why := n.devices.allowed(d.v.Device()); !ok {
		t.Fatalf("refused a registered device: %s", why)
	}
	c.chain.Sim.Close() // the chain is gone
	now = now.Add(59 * time.Minute)
	if err := n.RefreshDevices(t.Context()); err == nil {
		t.Fatal("refreshed from a closed chain")
	}
	if ok, why := n.devices.allowed(d.v.Device()); !ok {
		t.Fatalf("refused within the staleness bound: %s", why)
	}
	now = now.Add(2 * time.Minute)
	ok, why := n.devices.allowed(d.v.Device())
	if ok || !strings.Contains(why, "cannot be reached") {
		t.Fatalf("past the staleness bound: %v %q", ok, why)
	}
	// A restarted node gates from the kept list (here: too old).
	n2, err := New(d.v, Config{Now: clock, MaxStale: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := n2.devices.allowed(d.v.Device()); !ok {
		t.Fatalf("a restarted node forgot the kept list: %s", why)
	}
}
