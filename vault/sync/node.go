package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	stdsync "sync"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/nook-ai/nook/vault"
)

// Config configures a Node. Zero values take the defaults.
type Config struct {
	// Listen are the multiaddrs to listen on. Empty: DefaultListen once
	// the vault is paired (a never-paired vault listens nowhere).
	Listen []string
	// Peers are multiaddrs (ending in /p2p/<peer ID>) to dial besides the
	// peers this device remembers.
	Peers []string
	// MDNS finds peers on the local network (only while the node runs).
	MDNS bool
	// Secrets sends and asks for objects of the "secret" namespace; they
	// travel only between two devices that both enable it.
	Secrets bool
	// Ledger lists the identity's devices. Nil: the chain kept at pairing
	// (Paired) — for the embedded chain of another device, its JSON-RPC
	// over libp2p.
	Ledger DeviceSource
	// ServeChain is this device's embedded chain, offered to paired
	// devices as /nook/chain (nil: none).
	ServeChain *rpc.Client
	// Refresh and MaxStale: the device list (DefaultRefresh,
	// DefaultMaxStale).
	Refresh, MaxStale time.Duration
	// Interval between background syncs with every peer (default 1 min;
	// a local change or a peer's request syncs sooner).
	Interval time.Duration
	// Manual runs no background loop: the node syncs only when asked
	// (SyncNow, or a peer's Pull) — for one-shot commands and benchmarks.
	Manual bool
	// Logger gets refusals and failures, one line each (default: discard).
	Logger *slog.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Node is one device's sync service: a libp2p host keyed by the device key,
// the gate, the protocol handlers, and a background loop. Its methods are
// safe for concurrent use.
type Node struct {
	v       *vault.Vault
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	devices *deviceCache
	self    string // this device

	mu        stdsync.Mutex
	st        *state
	seen      seen
	host      host.Host
	mdns      mdns.Service
	guests    map[peer.ID]bool
	window    *pairWindow
	chainHost string
	refusals  map[peer.ID]int
	streams   map[peer.ID]int // inbound streams, any protocol
	fetched   map[string]int  // object name → times received whole
	bad       map[string]bool // object names a peer sent corrupt this run
	lastSync  time.Time
	lastErr   error
	syncing   bool
	ledger    DeviceSource
	served    int             // objects sent whole
	ctx       context.Context // the node's, cancelled by Close

	// Tests: tap sees every frame written; testHook sees events.
	tap      func([]byte)
	testHook func(event string, count int)

	pullMu stdsync.Mutex
	kick   chan struct{}
	cancel context.CancelFunc
	wg     stdsync.WaitGroup
}

// New makes a node for an unlocked vault. It opens no socket: Start does,
// and only for a vault that was paired or has listen or peer addresses
// configured.
func New(v *vault.Vault, cfg Config) (*Node, error) {
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.MaxStale <= 0 {
		cfg.MaxStale = DefaultMaxStale
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := loadState(v)
	if err != nil {
		return nil, err
	}
	sn, err := loadSeen(v)
	if err != nil {
		return nil, err
	}
	n := &Node{
		v: v, cfg: cfg, log: cfg.Logger, now: cfg.Now, self: v.Device(),
		st: st, seen: sn, guests: map[peer.ID]bool{}, refusals: map[peer.ID]int{},
		streams: map[peer.ID]int{}, fetched: map[string]int{}, bad: map[string]bool{},
		kick: make(chan struct{}, 1), chainHost: st.Chain.Host,
	}
	n.devices = newDeviceCache(v, cfg.MaxStale, cfg.Now, cfg.Logger)
	n.devices.src = n.deviceSource
	n.devices.changed = n.dropRefused
	n.ledger = cfg.Ledger
	return n, nil
}

// Enabled reports whether Start would start anything: the vault was
// paired, or listen or peer addresses are configured.
func (n *Node) Enabled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.st.Paired || len(n.cfg.Listen) > 0 || len(n.cfg.Peers) > 0
}

// Start starts the host (listening, dialing the peers) and the background
// loop. A vault that was never paired gets ErrNotPaired and no socket.
func (n *Node) Start(ctx context.Context) error {
	if !n.Enabled() {
		return ErrNotPaired
	}
	listen := n.cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen
	}
	return n.start(listen, !n.cfg.Manual)
}

// StartManual is Start without the background sync loop (the device
// list is still refreshed): for one-shot commands that call SyncNow.
func (n *Node) StartManual(ctx context.Context) error {
	n.mu.Lock()
	n.cfg.Manual = true
	n.mu.Unlock()
	return n.Start(ctx)
}

// start makes the host; background runs the loops.
func (n *Node) start(listen []string, background bool) error {
	n.mu.Lock()
	if n.host != nil {
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	key, err := hostKey(n.v)
	if err != nil {
		return err
	}
	h, err := newHost(key, listen, &gater{n: n})
	if err != nil && slices.Equal(listen, DefaultListen) {
		// The default port is taken (another nook on this machine): any.
		h, err = newHost(key, []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}, &gater{n: n})
	}
	if err != nil {
		return err
	}
	h.SetStreamHandler(ProtocolSync, n.handleSync)
	h.SetStreamHandler(ProtocolPair, n.handlePair)
	if n.cfg.ServeChain != nil {
		h.SetStreamHandler(ProtocolChain, n.handleChain)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) { n.connected(c.RemotePeer()) },
		DisconnectedF: func(_ network.Network, c network.Conn) {
			if background {
				n.lost(ctx, c.RemotePeer())
			}
		},
	})
	n.mu.Lock()
	n.host, n.cancel, n.ctx = h, cancel, ctx
	st := n.st
	for _, p := range st.Peers {
		n.addAddrs(p.ID, p.Addrs)
	}
	if st.Chain.HostID != "" {
		n.addAddrs(st.Chain.HostID, nil)
	}
	n.mu.Unlock()
	for _, a := range n.cfg.Peers {
		if _, err := n.AddPeer(a); err != nil {
			n.log.Warn("sync: peer address", "addr", a, "err", err)
		}
	}
	if n.cfg.MDNS {
		svc := mdns.NewMdnsService(h, mdnsService, mdnsNotifee{n})
		if err := svc.Start(); err != nil {
			n.log.Warn("sync: mDNS", "err", err)
		} else {
			n.mu.Lock()
			n.mdns = svc
			n.mu.Unlock()
		}
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.refreshLoop(ctx)
	}()
	if background {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.syncLoop(ctx)
		}()
	}
	return nil
}

// mdnsService is the DNS-SD service name nook devices announce.
const mdnsService = "_nook-sync._udp"

type mdnsNotifee struct{ n *Node }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	dev, err := DeviceOf(ai.ID)
	if err != nil || dev == n.self {
		return
	}
	if ok, _ := n.devices.allowed(dev); !ok {
		return // not one of ours: never dialled
	}
	n.rememberPeer(dev, ai.ID, ai.Addrs)
	n.Kick()
}

// Close stops the loops and the host and keeps what it learned.
func (n *Node) Close() error {
	n.mu.Lock()
	h, cancel, svc := n.host, n.cancel, n.mdns
	n.host, n.mdns = nil, nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if svc != nil {
		svc.Close()
	}
	var err error
	if h != nil {
		err = h.Close()
	}
	n.wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	return errors.Join(err, saveState(n.v, n.st))
}

// Host is the libp2p host (nil before Start).
func (n *Node) Host() host.Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.host
}

// Addrs are the multiaddrs this device listens on, each ending in its
// peer ID.
func (n *Node) Addrs() []string {
	h := n.Host()
	if h == nil {
		return nil
	}
	var out []string
	for _, a := range h.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.ID().String())
	}
	return out
}

// AddPeer remembers a peer by a multiaddr ending in /p2p/<peer ID> and
// returns its device address. The peer is dialled at the next sync, and
// only if the ledger lists it as a device.
func (n *Node) AddPeer(addr string) (string, error) {
	ai, dev, err := parsePeerDevice(addr)
	if err != nil {
		return "", err
	}
	if dev == n.self {
		return "", fmt.Errorf("sync: %s is this device", addr)
	}
	n.rememberPeer(dev, ai.ID, ai.Addrs)
	return dev, nil
}

// ReplacePeerAddrs makes addr (ending in /p2p/<peer ID>) the only address
// remembered for its peer (a peer that moved), and returns its device.
func (n *Node) ReplacePeerAddrs(addr string) (string, error) {
	ai, dev, err := parsePeerDevice(addr)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	if r := n.st.Peers[dev]; r != nil {
		r.Addrs = nil
	}
	h := n.host
	n.mu.Unlock()
	if h != nil {
		h.Peerstore().ClearAddrs(ai.ID)
	}
	n.rememberPeer(dev, ai.ID, ai.Addrs)
	return dev, nil
}

// parsePeerDevice parses a peer's multiaddr and the device its key names.
func parsePeerDevice(addr string) (*peer.AddrInfo, string, error) {
	ai, err := parsePeerAddr(addr)
	if err != nil {
		return nil, "", err
	}
	dev, err := DeviceOf(ai.ID)
	return ai, dev, err
}

func parsePeerAddr(addr string) (*peer.AddrInfo, error) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		return nil, fmt.Errorf("sync: peer address %q: %w", addr, err)
	}
	ai, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		return nil, fmt.Errorf("sync: peer address %q must end in /p2p/<peer ID>: %w", addr, err)
	}
	return ai, nil
}

// rememberPeer records a peer's addresses (kept at Close and after syncs).
func (n *Node) rememberPeer(dev string, id peer.ID, addrs []ma.Multiaddr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.st.Peers[dev]
	if p == nil {
		p = &PeerRecord{Device: dev}
		n.st.Peers[dev] = p
	}
	p.ID = id.String()
	for _, a := range addrs {
		if s := a.String(); !slices.Contains(p.Addrs, s) {
			p.Addrs = append(p.Addrs, s)
		}
	}
	if len(p.Addrs) > maxAddrs {
		p.Addrs = p.Addrs[len(p.Addrs)-maxAddrs:]
	}
	if n.host != nil && len(addrs) > 0 {
		n.host.Peerstore().AddAddrs(id, addrs, peerstore.PermanentAddrTTL)
	}
}

// addAddrs puts remembered addresses in the peerstore. n.mu is held.
func (n *Node) addAddrs(id string, addrs []string) {
	pid, err := peer.Decode(id)
	if err != nil || n.host == nil {
		return
	}
	var ms []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			ms = append(ms, m)
		}
	}
	n.host.Peerstore().AddAddrs(pid, ms, peerstore.PermanentAddrTTL)
}

// Kick asks the background loop to sync now.
func (n *Node) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// connected is called for every new connection.
func (n *Node) connected(p peer.ID) {
	dev, err := DeviceOf(p)
	if err != nil {
		return
	}
	if ok, _ := n.devices.allowed(dev); ok {
		n.mu.Lock()
		if r := n.st.Peers[dev]; r != nil {
			r.LastSeen = n.now()
		}
		n.mu.Unlock()
	}
}

// Connections to devices stay open between syncs (a sync over an open
// connection moves only nook's frames: no handshake, no identify): the
// connection manager never trims them (protected once a sync succeeded),
// the muxer's keep-alives hold them, and the running service redials a
// device whose connection was lost (lost).
const (
	protectTag  = "nook-device"
	redialDelay = 2 * time.Second
	redialLimit = 20 * time.Second
)

// lost redials an admitted device whose last connection closed, after a
// short delay (both sides may notice at once; one dial is enough), so
// that the next sync finds it open. A device that is not admitted, or
// cannot be reached, is left for the next sync.
func (n *Node) lost(ctx context.Context, p peer.ID) {
	if n.isGuest(p) {
		return
	}
	dev, ok := n.isDevice(p)
	if !ok || dev == n.self {
		return
	}
	if ctx.Err() != nil {
		return // closing
	}
	// Not in n.wg: Close cancels ctx first, and this returns at once.
	go func() {
		t := time.NewTimer(redialDelay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := n.Host()
		if h == nil || h.Network().Connectedness(p) == network.Connected {
			return
		}
		if _, ok := n.isDevice(p); !ok {
			return
		}
		dctx, cancel := context.WithTimeout(ctx, redialLimit)
		defer cancel()
		if err := h.Connect(dctx, peer.AddrInfo{ID: p}); err != nil && ctx.Err() == nil {
			n.log.Debug("sync: redial a device whose connection was lost", "peer", p.String(), "device", dev, "err", err)
		}
	}()
}

// dropRefused closes connections to peers the device list no longer
// admits (a device removed or expired since it connected).
func (n *Node) dropRefused() {
	h := n.Host()
	if h == nil {
		return
	}
	for _, p := range h.Network().Peers() {
		if n.isGuest(p) {
			continue
		}
		dev, err := DeviceOf(p)
		if err != nil {
			continue
		}
		if ok, why := n.devices.allowed(dev); !ok && !(dev == n.chainHost && n.devices.stale()) {
			h.ConnManager().Unprotect(p, protectTag)
			n.log.Warn("sync: closed the connection of a device no longer admitted", "peer", p.String(), "device", dev, "reason", why)
			h.Network().ClosePeer(p)
		}
	}
}

// RemoveDevice refuses device at once (it was revoked from this device),
// closing its connections; other devices learn it from the chain.
func (n *Node) RemoveDevice(device string) {
	n.devices.remove(device)
	n.mu.Lock()
	delete(n.st.Peers, device)
	n.mu.Unlock()
}

// RefreshDevices reads the device list from the chain now.
func (n *Node) RefreshDevices(ctx context.Context) error { return n.devices.refresh(ctx) }

func (n *Node) refreshLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		if err := n.devices.refresh(rctx); err != nil && ctx.Err() == nil {
			n.log.Debug("sync: device list", "err", err)
		}
		cancel()
		t.Reset(n.cfg.Refresh)
	}
}

func (n *Node) syncLoop(ctx context.Context) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	own := n.v.Heads()[n.self]
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.kick:
		case <-poll.C:
			h := n.v.Heads()[n.self]
			if h == own {
				continue
			}
		}
		own = n.v.Heads()[n.self]
		if _, err := n.SyncNow(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errNoPeers) {
			n.log.Debug("sync: background sync", "err", err)
		}
		t.Reset(n.cfg.Interval)
	}
}

// deviceSource is the ledger the device list is read from.
func (n *Node) deviceSource() DeviceSource {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ledger == nil && n.st.Chain.Host != "" && n.st.Chain.HostID != "" {
		n.ledger = &chainLedger{n: n, chain: n.st.Chain}
	}
	return n.ledger
}

// isDevice reports whether p is a device admitted now (not a pairing
// guest, not the chain host admitted for the chain only).
func (n *Node) isDevice(p peer.ID) (string, bool) {
	dev, err := DeviceOf(p)
	if err != nil {
		return "", false
	}
	ok, _ := n.devices.allowed(dev)
	return dev, ok
}

func (n *Node) addGuest(p peer.ID) {
	n.mu.Lock()
	n.guests[p] = true
	n.mu.Unlock()
}

func (n *Node) isGuest(p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.guests[p]
}

func (n *Node) countRefusal(p peer.ID) {
	n.mu.Lock()
	n.refusals[p]++
	n.mu.Unlock()
}

func (n *Node) countStream(p peer.ID) {
	n.mu.Lock()
	n.streams[p]++
	n.mu.Unlock()
}

// Status is what `nook sync status` shows.
type Status struct {
	Enabled     bool         `json:"enabled"`
	Running     bool         `json:"running"`
	Device      string       `json:"device"`
	PeerID      string       `json:"peer_id"`
	Addrs       []string     `json:"addrs,omitempty"`
	Connected   int          `json:"connected"`
	Peers       []PeerRecord `json:"peers"`
	LastSync    time.Time    `json:"last_sync,omitzero"`
	LastError   string       `json:"last_error,omitempty"`
	InSync      bool         `json:"in_sync"`
	DeviceList  time.Time    `json:"device_list_read,omitzero"`
	ChainError  string       `json:"chain_error,omitempty"`
	Missing     int          `json:"missing_objects"`
	Conflicts   int          `json:"conflicts"`
	Chain       Chain        `json:"chain"`
	Syncing     bool         `json:"syncing"`
	Refusals    int          `json:"refusals"`
	MaxStale    string       `json:"device_list_max_age"`
	Secrets     bool         `json:"secrets"`
	Fetched     int          `json:"objects_received"`
	Remembered  int          `json:"peers_remembered"`
	ListenNotes string       `json:"note,omitempty"`
}

// Status reports the node's state.
func (n *Node) Status() Status {
	fetched, lastErr := n.devices.info()
	pid, _ := PeerIDOf(n.v)
	s := Status{Enabled: n.Enabled(), Device: n.self, PeerID: pid.String(), DeviceList: fetched,
		MaxStale: n.cfg.MaxStale.String(), Secrets: n.cfg.Secrets,
		Missing: len(n.v.MissingObjects()), Conflicts: len(n.v.Conflicts())}
	if lastErr != nil {
		s.ChainError = lastErr.Error()
	}
	s.Addrs = n.Addrs()
	n.mu.Lock()
	defer n.mu.Unlock()
	s.Running = n.host != nil
	if n.host != nil {
		for _, p := range n.host.Network().Peers() {
			if !n.guests[p] {
				s.Connected++
			}
		}
	}
	s.Peers = n.st.sortedPeers()
	s.Remembered = len(s.Peers)
	s.LastSync, s.Syncing, s.Chain = n.lastSync, n.syncing, n.st.Chain
	if n.lastErr != nil {
		s.LastError = n.lastErr.Error()
	}
	s.InSync = !n.lastSync.IsZero() && n.lastErr == nil
	for _, p := range s.Peers {
		if !p.InSync {
			s.InSync = false
		}
	}
	for _, c := range n.refusals {
		s.Refusals += c
	}
	for _, c := range n.fetched {
		s.Fetched += c
	}
	return s
}

// Report is what one SyncNow did.
type Report struct {
	Peers []PeerReport `json:"peers"`
}

// PeerReport is one peer's part of a sync.
type PeerReport struct {
	Device     string `json:"device"`
	Peer       string `json:"peer"`
	Entries    int    `json:"entries"`  // applied here
	Objects    int    `json:"objects"`  // received and stored here
	Bytes      int64  `json:"bytes"`    // object and entry bytes received
	Rejected   int    `json:"rejected"` // corrupt objects dropped
	Missing    int    `json:"missing"`  // objects still missing here
	InSync     bool   `json:"in_sync"`  // same heads on both sides after the sync
	RolledBack bool   `json:"rolled_back,omitempty"`
	Err        string `json:"error,omitempty"`
	err        error
}

var errNoPeers = errors.New("sync: no peer to sync with: pair a device (`nook sync pair`) or add one (`nook sync add ADDR`)")

// SyncNow syncs with every peer it can reach: it pulls what each holds
// and this device lacks, then asks each to pull back. It returns the
// first peer error (after trying every peer).
func (n *Node) SyncNow(ctx context.Context) (Report, error) {
	h := n.Host()
	if h == nil {
		return Report{}, fmt.Errorf("sync: %w", ErrNotPaired)
	}
	n.mu.Lock()
	targets := map[peer.ID]string{}
	for dev, p := range n.st.Peers {
		if id, err := peer.Decode(p.ID); err == nil {
			targets[id] = dev
		}
	}
	n.syncing = true
	n.mu.Unlock()
	for _, p := range h.Network().Peers() {
		if dev, ok := n.isDevice(p); ok {
			targets[p] = dev
		}
	}
	ids := make([]peer.ID, 0, len(targets))
	for id, dev := range targets {
		if ok, _ := n.devices.allowed(dev); ok && dev != n.self {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var rep Report
	var first error
	for _, id := range ids {
		pr := n.SyncPeer(ctx, id)
		rep.Peers = append(rep.Peers, pr)
		if pr.err != nil && first == nil {
			first = pr.err
		}
	}
	if len(ids) == 0 {
		first = errNoPeers
		if n.devices.stale() {
			_, lastErr := n.devices.info()
			first = fmt.Errorf("sync: no peer admitted: the device list could not be read from the chain: %v", lastErr)
		}
	}
	n.mu.Lock()
	n.syncing = false
	n.lastSync, n.lastErr = n.now(), first
	saveState(n.v, n.st)
	n.mu.Unlock()
	return rep, first
}

// SetLedger gives a node made without one its device list and, for the
// device that holds the embedded chain, the chain to offer paired devices
// (serve may be nil). It must come before Start or Pair: a running node
// keeps what it started with.
func (n *Node) SetLedger(src DeviceSource, serve *rpc.Client) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.host != nil {
		return errors.New("sync: the device list is set before the node starts")
	}
	n.ledger, n.cfg.ServeChain = src, serve
	return nil
}
