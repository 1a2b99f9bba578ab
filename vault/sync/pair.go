package sync

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/crypto/scrypt"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
	"github.com/nook-ai/nook/vault/internal/format"
)

// Pairing (/nook/pair/1.0.0). The pairing device opens a window: a
// one-time code of 8 base-32 characters (40 bits), valid PairTTL, used at
// most once, closed after PairAttempts wrong codes. While it is open the
// gate admits unknown peers for this protocol only. The joining device
// connects with an ephemeral libp2p key, to the multiaddr the pairing
// device printed (its peer ID pins it) or to nook devices found by mDNS.
//
// Both prove knowledge of the code without sending it: the key is
// scrypt(code, both peer IDs) — memory-hard, so that a proof captured by a
// peer posing as the pairing device cannot be brute-forced within the
// window — and each side sends HMAC-SHA256(key, role ‖ both peer IDs ‖
// both nonces), the joiner first. Then the joiner makes its device keys
// (vault.NewDevice) and sends its address and X25519 recipient; the
// pairing device registers it on the ledger, wraps every key epoch to it
// and sends the wraps, the chain coordinates and the peers to sync with.

// Pairing defaults.
const (
	PairTTL      = 10 * time.Minute
	PairAttempts = 3
	pairTimeout  = 2 * time.Minute
	pairAckWait  = 10 * time.Second // for the joiner to close after PairDone
)

// PairConfig is what the pairing device needs besides its node.
type PairConfig struct {
	// Register makes the new device a nook/device delegate of the
	// identity with its recipient published (RegisterDevice with the
	// identity's key). Required.
	Register func(ctx context.Context, device, recipient string) error
	// Chain is where the devices are listed. With RPC empty, the joiner
	// reads this device's embedded chain over libp2p (Config.ServeChain
	// must be set) — or, when this device itself joined another one's
	// chain, that device's.
	Chain Chain
	// TTL and Attempts default to PairTTL and PairAttempts.
	TTL      time.Duration
	Attempts int
}

// Pairing is an open pairing window.
type Pairing struct {
	Code    string    // "XXXX-XXXX"
	Addrs   []string  // the multiaddrs to give `nook sync join`
	Expires time.Time // the window closes then
	w       *pairWindow
}

type pairResult struct {
	device string
	err    error
}

type pairWindow struct {
	code     string // normalised
	expires  time.Time
	attempts int
	max      int
	used     bool
	closed   bool
	cfg      PairConfig
	done     chan pairResult
}

// Pair opens a pairing window (starting the host on the configured or
// default listen addresses if it is not running). Wait for its outcome.
func (n *Node) Pair(ctx context.Context, pc PairConfig) (*Pairing, error) {
	if pc.Register == nil {
		return nil, errors.New("sync: pair: no way to register the new device on the ledger")
	}
	if pc.Chain.RPC == "" && pc.Chain.Host == "" && n.cfg.ServeChain == nil {
		return nil, hint.New(errors.New("sync: pair: this device cannot offer its chain to the new device"),
			"set ledger.rpc to a chain both devices reach, or pair from the device that holds the embedded chain")
	}
	if pc.TTL <= 0 {
		pc.TTL = PairTTL
	}
	if pc.Attempts <= 0 {
		pc.Attempts = PairAttempts
	}
	if n.Host() == nil {
		listen := n.cfg.Listen
		if len(listen) == 0 {
			listen = DefaultListen
		}
		if err := n.start(listen, false); err != nil {
			return nil, err
		}
	}
	code, err := newPairCode()
	if err != nil {
		return nil, err
	}
	w := &pairWindow{code: normalizeCode(code), expires: n.now().Add(pc.TTL), max: pc.Attempts, cfg: pc, done: make(chan pairResult, 1)}
	n.mu.Lock()
	if old := n.window; old != nil && !old.closed {
		old.closed = true
		old.done <- pairResult{err: fmt.Errorf("sync: %w: another pairing window was opened", ErrPairClosed)}
	}
	n.window = w
	n.mu.Unlock()
	return &Pairing{Code: code, Addrs: n.Addrs(), Expires: w.expires, w: w}, nil
}

// Wait returns the new device's address once it has joined, or why the
// window closed (expired, too many wrong codes, ctx).
func (p *Pairing) Wait(ctx context.Context, n *Node) (string, error) {
	t := time.NewTimer(time.Until(p.Expires))
	defer t.Stop()
	defer n.closeWindow(p.w)
	select {
	case r := <-p.w.done:
		return r.device, r.err
	case <-t.C:
		return "", hint.New(fmt.Errorf("sync: %w: the code expired", ErrPairClosed), "run `nook sync pair` again")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (n *Node) closeWindow(w *pairWindow) {
	n.mu.Lock()
	w.closed = true
	if n.window == w {
		n.window = nil
	}
	guests := n.guests
	n.guests = map[peer.ID]bool{}
	h := n.host
	n.mu.Unlock()
	if h != nil {
		for p := range guests {
			h.Network().ClosePeer(p)
		}
	}
}

// pairingOpen reports whether a window admits a new joiner now.
func (n *Node) pairingOpen() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.window
	return w != nil && !w.closed && !w.used && n.now().Before(w.expires) && w.attempts < w.max
}

// codeAlphabet is Crockford's base 32 (no I, L, O, U).
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func newPairCode() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[c&31])
	}
	return string(out), nil
}

// normalizeCode reads a code as typed: case, dashes and spaces do not
// matter, and O, I, L read as 0, 1, 1.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func validCode(s string) bool {
	if len(s) != 8 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(codeAlphabet, r) {
			return false
		}
	}
	return true
}

// pairKey derives the proof key from the code and both peer IDs.
func pairKey(code string, hostID, joinerID peer.ID) ([]byte, error) {
	salt := []byte("nook pair v1\x00" + string(hostID) + "\x00" + string(joinerID))
	return scrypt.Key([]byte(code), salt, 1<<15, 8, 1, 32)
}

func pairMAC(key []byte, role string, hostID, joinerID peer.ID, nonceH, nonceJ []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(role + "\x00" + string(hostID) + "\x00" + string(joinerID) + "\x00"))
	m.Write(nonceH)
	m.Write(nonceJ)
	return m.Sum(nil)
}

func (n *Node) handlePair(s network.Stream) {
	p := s.Conn().RemotePeer()
	n.countStream(p)
	x := n.newExchange(s)
	defer x.close()
	if err := s.Scope().SetService(serviceName); err != nil {
		s.Reset()
		return
	}
	s.SetDeadline(time.Now().Add(streamTimeout))
	n.mu.Lock()
	w := n.window
	open := w != nil && !w.closed && !w.used && n.now().Before(w.expires) && w.attempts < w.max
	n.mu.Unlock()
	if !open {
		x.fail(fmt.Errorf("%w", ErrPairClosed))
		return
	}
	m, err := x.recv()
	if err != nil {
		n.badPeer(p, "", err)
		return
	}
	if st, err := expect[*PairStart](m); err != nil || st.Version != 1 {
		x.fail(fmt.Errorf("%w: pairing version", ErrProtocol))
		return
	}
	nonceH := make([]byte, 32)
	rand.Read(nonceH)
	m, err = x.call(&PairChallenge{Nonce: nonceH})
	if err != nil {
		return
	}
	proof, err := expect[*PairProof](m)
	if err != nil {
		x.fail(err)
		return
	}
	self := s.Conn().LocalPeer()
	key, err := pairKey(w.code, self, p)
	if err != nil {
		x.fail(fmt.Errorf("%w: %v", ErrInternal, err))
		return
	}
	ok := hmac.Equal(proof.MAC, pairMAC(key, "joiner", self, p, nonceH, proof.Nonce))
	n.mu.Lock()
	usable := !w.closed && !w.used && w.attempts < w.max
	if ok && usable {
		w.used = true // one use: no second device on this code
	} else if usable {
		w.attempts++
		if w.attempts >= w.max {
			w.closed = true
			w.done <- pairResult{err: hint.New(fmt.Errorf("sync: %w: %d wrong codes: the pairing window was closed", ErrPairCode, w.max), "run `nook sync pair` again")}
		}
	}
	n.mu.Unlock()
	if !usable {
		x.fail(ErrPairClosed)
		return
	}
	if !ok {
		n.log.Warn("sync: pairing: wrong code", "peer", p.String())
		x.fail(ErrPairCode)
		return
	}
	finish := func(dev string, err error) {
		select {
		case w.done <- pairResult{device: dev, err: err}:
		default:
		}
	}
	chain := w.cfg.Chain
	if chain.RPC == "" && chain.Host == "" {
		chain.Host, chain.HostID = n.self, self.String()
	}
	accept := &PairAccept{MAC: pairMAC(key, "host", self, p, nonceH, proof.Nonce), Vault: n.v.ID(),
		Identity: chain.Identity, ChainID: chain.ChainID, Registry: chain.Registry, ChainRPC: chain.RPC,
		ChainHost: chain.Host, Host: n.self}
	if chain.Host == "" {
		accept.ChainHost = n.self
	}
	m, err = x.call(accept)
	if err != nil {
		finish("", fmt.Errorf("sync: pairing: %w", err))
		return
	}
	nd, err := expect[*PairDevice](m)
	if err == nil && !format.ValidAddress(nd.Device) {
		err = fmt.Errorf("%w: not a device address", ErrProtocol)
	}
	if err == nil {
		_, err = age.ParseX25519Recipient(nd.Recipient)
	}
	if err != nil {
		x.fail(fmt.Errorf("%w: %v", ErrProtocol, err))
		finish("", fmt.Errorf("sync: pairing: %w", err))
		return
	}
	s.SetDeadline(time.Now().Add(pairTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), pairTimeout)
	defer cancel()
	if err := w.cfg.Register(ctx, nd.Device, nd.Recipient); err != nil {
		x.fail(fmt.Errorf("%w: registering the device on the ledger failed", ErrInternal))
		finish("", fmt.Errorf("sync: pairing: register %s: %w", nd.Device, err))
		return
	}
	if err := n.v.WrapFor(nd.Device, nd.Recipient); err != nil {
		x.fail(fmt.Errorf("%w: wrapping the vault key failed", ErrInternal))
		finish("", err)
		return
	}
	ws, err := n.v.Wraps()
	if err != nil {
		x.fail(ErrInternal)
		finish("", err)
		return
	}
	if err := n.devices.refresh(ctx); err != nil {
		n.log.Warn("sync: pairing: device list", "err", err)
	}
	peers := []PeerAddrs{{Device: n.self, Addrs: n.Addrs()}}
	n.mu.Lock()
	n.st.Paired = true
	if w.cfg.Chain.Identity != "" {
		n.st.Chain.Identity, n.st.Chain.ChainID, n.st.Chain.Registry, n.st.Chain.RPC = chain.Identity, chain.ChainID, chain.Registry, chain.RPC
	}
	for dev, r := range n.st.Peers {
		var addrs []string
		for _, a := range r.Addrs {
			addrs = append(addrs, a+"/p2p/"+r.ID)
		}
		if len(addrs) > maxAddrs {
			addrs = addrs[:maxAddrs]
		}
		peers = append(peers, PeerAddrs{Device: dev, Addrs: addrs})
	}
	serr := saveState(n.v, n.st)
	n.mu.Unlock()
	if serr != nil {
		n.log.Warn("sync: pairing: keep state", "err", serr)
	}
	if len(peers) > maxDevices {
		peers = peers[:maxDevices]
	}
	if err := x.send(&PairDone{Wraps: ws, Peers: peers}); err == nil && x.flush() == nil {
		// Wait until the joiner has read it and closed its side: a pairing
		// command that exits at once would otherwise cut the last frame.
		x.s.CloseWrite()
		x.s.SetReadDeadline(time.Now().Add(pairAckWait))
		io.Copy(io.Discard, io.LimitReader(x.s, 1<<10))
	}
	n.log.Info("sync: paired a new device", "device", nd.Device)
	finish(nd.Device, nil)
	n.Kick()
}

// JoinConfig is what Join needs.
type JoinConfig struct {
	// Dir is the new device's vault folder (no vault in it yet).
	Dir        string
	Passphrase []byte
	// Code as `nook sync pair` printed it.
	Code string
	// Addr is a multiaddr `nook sync pair` printed (ending in /p2p/<peer
	// ID>, which pins the pairing device); empty: find nook devices on
	// the local network by mDNS and try each.
	Addr         string
	VaultOptions []vault.Option
	Logger       *slog.Logger
}

// Joined is what Join did.
type Joined struct {
	Vault     *vault.Vault // open; the caller closes it
	Device    string
	Recipient string
	Host      string // the device it paired with
	Chain     Chain
}

// Join makes Dir a new device of the vault of the device whose pairing
// window Code opens, then leaves it ready for a first sync: it holds its
// keys and the key-epoch wraps and knows its peers and its chain. On
// failure nothing it created in Dir is left.
func Join(ctx context.Context, jc JoinConfig) (*Joined, error) {
	log := jc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	code := normalizeCode(jc.Code)
	if !validCode(code) {
		return nil, hint.New(fmt.Errorf("sync: join: %q is not a pairing code", jc.Code), "type the 8 characters `nook sync pair` printed, e.g. K7QF-3MZP")
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	var targets []peer.AddrInfo
	var pinned peer.ID
	if jc.Addr != "" {
		ai, err := parsePeerAddr(jc.Addr)
		if err != nil {
			return nil, hint.New(err, "copy the whole address `nook sync pair` printed")
		}
		targets, pinned = []peer.AddrInfo{*ai}, ai.ID
	}
	listen := []string(nil)
	if pinned == "" {
		listen = []string{"/ip4/0.0.0.0/tcp/0"} // mDNS announces only a listening host
	}
	h, err := newHost(key, listen, joinGater{pinned: pinned})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if pinned == "" {
		found, err := discover(ctx, h, 5*time.Second)
		if err != nil {
			return nil, err
		}
		targets = found
		if len(targets) == 0 {
			return nil, hint.New(errors.New("sync: join: no nook device found on the local network"),
				"give the address `nook sync pair` printed: `nook sync join CODE ADDR`")
		}
	}
	var lastErr error
	for _, ai := range targets {
		j, err := joinOne(ctx, h, ai, code, jc, log)
		if err == nil {
			return j, nil
		}
		lastErr = err
		if pinned != "" || !errors.Is(err, ErrPairCode) && !errors.Is(err, ErrPairClosed) && !isDialError(err) {
			break
		}
	}
	return nil, lastErr
}

func isDialError(err error) bool {
	var re *RemoteError
	return !errors.As(err, &re) && strings.Contains(err.Error(), "connect")
}

func joinOne(ctx context.Context, h host.Host, ai peer.AddrInfo, code string, jc JoinConfig, log *slog.Logger) (*Joined, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err := h.Connect(cctx, ai)
	cancel()
	if err != nil {
		return nil, hint.New(fmt.Errorf("sync: join: connect to %s: %w", ai.ID, err), "is `nook sync pair` still running on the other device, and is its address reachable from here?")
	}
	// The pairing device's gate admits an unknown key only while a window
	// is open: a connection it drops right away means none is.
	closed := func(err error) error {
		return hint.New(fmt.Errorf("sync: join: %w: the other device dropped the connection: %v", ErrPairClosed, err),
			"run `nook sync pair` there (again): a code works once, for 10 minutes")
	}
	s, err := h.NewStream(ctx, ai.ID, ProtocolPair)
	if err != nil {
		return nil, closed(err)
	}
	x := (&Node{}).newExchange(s)
	defer x.close()
	s.SetDeadline(time.Now().Add(streamTimeout))
	m, err := x.call(&PairStart{Version: 1})
	var re *RemoteError
	if err != nil && !errors.As(err, &re) {
		return nil, closed(err)
	}
	if err != nil {
		return nil, joinErr(err)
	}
	ch, err := expect[*PairChallenge](m)
	if err != nil {
		return nil, err
	}
	nonceJ := make([]byte, 32)
	rand.Read(nonceJ)
	key, err := pairKey(code, ai.ID, h.ID())
	if err != nil {
		return nil, err
	}
	m, err = x.call(&PairProof{Nonce: nonceJ, MAC: pairMAC(key, "joiner", ai.ID, h.ID(), ch.Nonce, nonceJ)})
	if err != nil {
		return nil, joinErr(err)
	}
	acc, err := expect[*PairAccept](m)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(acc.MAC, pairMAC(key, "host", ai.ID, h.ID(), ch.Nonce, nonceJ)) {
		return nil, fmt.Errorf("sync: join: %w: the other device does not know the code", ErrPairCode)
	}
	hostDev, _ := DeviceOf(ai.ID)
	if hostDev != acc.Host {
		return nil, fmt.Errorf("%w: the pairing device names itself %s, its key says %s", ErrProtocol, acc.Host, hostDev)
	}
	// The device's keys. On any failure from here, the folder goes.
	created := !holdsAnything(jc.Dir)
	dev, rec, err := vault.NewDevice(jc.Dir, jc.Passphrase, acc.Vault, jc.VaultOptions...)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Joined, error) {
		if created {
			os.RemoveAll(jc.Dir)
		}
		return nil, err
	}
	s.SetDeadline(time.Now().Add(pairTimeout))
	m, err = x.call(&PairDevice{Device: dev, Recipient: rec})
	if err != nil {
		return fail(joinErr(err))
	}
	done, err := expect[*PairDone](m)
	if err != nil {
		return fail(err)
	}
	s.Close() // tells the pairing device the last frame arrived
	if err := vault.AddWraps(jc.Dir, done.Wraps); err != nil {
		return fail(err)
	}
	v, err := vault.Open(jc.Dir, jc.Passphrase, jc.VaultOptions...)
	if err != nil {
		return fail(err)
	}
	st := &state{Paired: true, Peers: map[string]*PeerRecord{}, Chain: Chain{Identity: acc.Identity, ChainID: acc.ChainID,
		Registry: acc.Registry, RPC: acc.ChainRPC}}
	for _, pa := range done.Peers {
		for _, a := range pa.Addrs {
			pai, err := parsePeerAddr(a)
			if err != nil {
				continue
			}
			if d, err := DeviceOf(pai.ID); err != nil || d != pa.Device || d == dev {
				continue
			}
			r := st.Peers[pa.Device]
			if r == nil {
				r = &PeerRecord{Device: pa.Device, ID: pai.ID.String()}
				st.Peers[pa.Device] = r
			}
			for _, m := range pai.Addrs {
				r.Addrs = append(r.Addrs, m.String())
			}
		}
	}
	// The address it was reached at first.
	if r := st.Peers[hostDev]; r != nil {
		for _, m := range ai.Addrs {
			if s := m.String(); !containsStr(r.Addrs, s) {
				r.Addrs = append([]string{s}, r.Addrs...)
			}
		}
	} else {
		r := &PeerRecord{Device: hostDev, ID: ai.ID.String()}
		for _, m := range ai.Addrs {
			r.Addrs = append(r.Addrs, m.String())
		}
		st.Peers[hostDev] = r
	}
	if acc.ChainRPC == "" {
		st.Chain.Host = acc.ChainHost
		if r := st.Peers[acc.ChainHost]; r != nil {
			st.Chain.HostID = r.ID
		}
	}
	if err := saveState(v, st); err != nil {
		v.Close()
		return fail(err)
	}
	log.Info("sync: joined the vault", "device", dev, "host", hostDev)
	return &Joined{Vault: v, Device: dev, Recipient: rec, Host: hostDev, Chain: st.Chain}, nil
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func joinErr(err error) error {
	switch {
	case errors.Is(err, ErrPairCode):
		return hint.New(fmt.Errorf("sync: join: %w", err), "check the code; after 3 wrong codes run `nook sync pair` again")
	case errors.Is(err, ErrPairClosed):
		return hint.New(fmt.Errorf("sync: join: %w", err), "the code expired or was used: run `nook sync pair` again")
	}
	return fmt.Errorf("sync: join: %w", err)
}

func holdsAnything(dir string) bool {
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) > 0
}

// joinGater lets the joining device's ephemeral host dial out only (to the
// pinned peer when there is one) and accept nothing.
type joinGater struct{ pinned peer.ID }

func (g joinGater) InterceptPeerDial(p peer.ID) bool             { return g.pinned == "" || p == g.pinned }
func (g joinGater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }
func (g joinGater) InterceptAccept(network.ConnMultiaddrs) bool  { return false }
func (g joinGater) InterceptSecured(d network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return d == network.DirOutbound && (g.pinned == "" || p == g.pinned)
}
func (g joinGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// discover collects nook devices announced by mDNS for a while.
func discover(ctx context.Context, h host.Host, wait time.Duration) ([]peer.AddrInfo, error) {
	found := make(chan peer.AddrInfo, 16)
	svc := mdns.NewMdnsService(h, mdnsService, foundFunc(func(ai peer.AddrInfo) {
		select {
		case found <- ai:
		default:
		}
	}))
	if err := svc.Start(); err != nil {
		return nil, fmt.Errorf("sync: join: mDNS: %w", err)
	}
	defer svc.Close()
	t := time.NewTimer(wait)
	defer t.Stop()
	var out []peer.AddrInfo
	seen := map[peer.ID]bool{}
	for {
		select {
		case ai := <-found:
			if ai.ID != h.ID() && !seen[ai.ID] {
				seen[ai.ID] = true
				out = append(out, ai)
			}
		case <-t.C:
			return out, nil
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

type foundFunc func(peer.AddrInfo)

func (f foundFunc) HandlePeerFound(ai peer.AddrInfo) { f(ai) }
