package sync

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/nook-ai/nook/ledgerclient/ledgertest"
	"github.com/nook-ai/nook/vault"
	"github.com/nook-ai/nook/vault/vaulttest"
)

var testPass = []byte("correct horse battery staple")

func vaultOpts() []vault.Option {
	return []vault.Option{vault.WithScryptWorkFactor(10), vault.WithEmbedder(vaulttest.HashEmbedder{}), vault.WithEmbedModel("hash-test")}
}

// logBuf collects a node's log lines.
type logBuf struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// device is one test device: its vault folder, vault, node and log.
type device struct {
	name string
	dir  string
	rec  string // X25519 recipient
	v    *vault.Vault
	n    *Node
	log  *logBuf
	cfg  Config
	// conns counts connections the network reported, by peer.
	mu    stdsync.Mutex
	conns map[peer.ID]int
}

// cluster is n devices of one vault on one simulated chain, each with a
// libp2p host on 127.0.0.1 (TCP or QUIC), knowing the others' addresses.
type cluster struct {
	t     *testing.T
	chain *ledgertest.Chain
	net   string // "tcp" or "quic"
	devs  []*device
}

func listenAddr(netw string) string {
	if netw == "quic" {
		return "/ip4/127.0.0.1/udp/0/quic-v1"
	}
	return "/ip4/127.0.0.1/tcp/0"
}

func newCluster(t *testing.T, count int, netw string) *cluster {
	t.Helper()
	c := &cluster{t: t, chain: ledgertest.New(t), net: netw}
	for i := range count {
		c.addDevice(fmt.Sprintf("d%d", i), true)
	}
	for _, d := range c.devs {
		c.startNode(d)
	}
	c.introduce()
	// A joined device writes only after its first sync brings the entry
	// that records its key epoch (as after pairing).
	for _, d := range c.devs[1:] {
		if rep := d.n.SyncPeer(t.Context(), peerOf(t, c.devs[0])); rep.err != nil {
			t.Fatalf("%s: first sync: %v\n%s", d.name, rep.err, d.log)
		}
	}
	return c
}

// addDevice makes a device: the first inits the vault, the others join it
// (keys, wraps) the way pairing does; registered puts it on the chain.
func (c *cluster) addDevice(name string, registered bool) *device {
	t := c.t
	t.Helper()
	d := &device{name: name, dir: filepath.Join(t.TempDir(), name), log: &logBuf{}, conns: map[peer.ID]int{}}
	if len(c.devs) == 0 {
		v, err := vault.Init(d.dir, testPass, vaultOpts()...)
		if err != nil {
			t.Fatal(err)
		}
		d.v, d.rec = v, v.DeviceRecipient()
	} else {
		first := c.devs[0].v
		dev, rec, err := vault.NewDevice(d.dir, testPass, first.ID(), vaultOpts()...)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.WrapFor(dev, rec); err != nil {
			t.Fatal(err)
		}
		ws, err := first.Wraps()
		if err != nil {
			t.Fatal(err)
		}
		if err := vault.AddWraps(d.dir, ws); err != nil {
			t.Fatal(err)
		}
		d.v = c.open(d.dir)
		d.rec = rec
	}
	t.Cleanup(func() {
		if d.n != nil {
			d.n.Close()
		}
		d.v.Close()
	})
	if registered {
		c.register(d)
	}
	c.devs = append(c.devs, d)
	return d
}

func (c *cluster) open(dir string) *vault.Vault {
	c.t.Helper()
	v, err := vault.Open(dir, testPass, vaultOpts()...)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func (c *cluster) register(d *device) {
	c.t.Helper()
	if err := RegisterDevice(c.t.Context(), c.chain.Client, c.chain.Owner, c.chain.Identity, d.v.Device(), d.rec); err != nil {
		c.t.Fatal(err)
	}
	for _, o := range c.devs {
		if o.n != nil {
			if err := o.n.RefreshDevices(c.t.Context()); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// startNode starts d's node with no background loop: tests sync by hand.
func (c *cluster) startNode(d *device) { c.startNodeWith(d, false) }

// startNodeWith starts d's node, as the running service does when
// background is set (the sync loop every hour: tests still sync by hand).
func (c *cluster) startNodeWith(d *device, background bool) {
	c.t.Helper()
	d.cfg = Config{
		Listen: []string{listenAddr(c.net)},
		Ledger: LedgerDevices{Client: c.chain.Client, Identity: c.chain.Identity},
		Logger: slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if background {
		d.cfg.Interval = time.Hour
	}
	n, err := New(d.v, d.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := n.start(d.cfg.Listen, background); err != nil {
		c.t.Fatal(err)
	}
	if err := n.RefreshDevices(c.t.Context()); err != nil {
		c.t.Fatal(err)
	}
	n.Host().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, cn network.Conn) {
		d.mu.Lock()
		d.conns[cn.RemotePeer()]++
		d.mu.Unlock()
	}})
	d.n = n
}

// stopNode closes d's host (the vault stays open).
func (c *cluster) stopNode(d *device) {
	c.t.Helper()
	if err := d.n.Close(); err != nil {
		c.t.Fatal(err)
	}
	d.n = nil
}

// introduce tells every node every other's address.
func (c *cluster) introduce() {
	c.t.Helper()
	for _, a := range c.devs {
		for _, b := range c.devs {
			if a != b && a.n != nil && b.n != nil {
				c.tell(a, b)
			}
		}
	}
}

// tell gives a b's addresses.
func (c *cluster) tell(a, b *device) {
	c.t.Helper()
	for _, addr := range b.n.Addrs() {
		if _, err := a.n.AddPeer(addr); err != nil {
			c.t.Fatal(err)
		}
	}
}

// syncAll syncs every node with the others, rounds times.
func (c *cluster) syncAll(rounds int) {
	c.t.Helper()
	for range rounds {
		for _, d := range c.devs {
			if d.n == nil {
				continue
			}
			if _, err := d.n.SyncNow(c.t.Context()); err != nil {
				c.t.Fatalf("%s: sync: %v\nlog:\n%s", d.name, err, d.log)
			}
		}
	}
}

// requireConverged checks that the running devices hold byte-identical
// state: the same heads and the same state digest.
func (c *cluster) requireConverged(devs ...*device) {
	c.t.Helper()
	if len(devs) == 0 {
		devs = c.devs
	}
	want, err := devs[0].v.StateDigest()
	if err != nil {
		c.t.Fatal(err)
	}
	heads := devs[0].v.Heads()
	for _, d := range devs[1:] {
		got, err := d.v.StateDigest()
		if err != nil {
			c.t.Fatal(err)
		}
		if got != want {
			c.t.Errorf("%s's state differs from %s's:\n%v\n%v", d.name, devs[0].name, d.v.Heads(), heads)
		}
		if len(d.v.MissingObjects()) != 0 {
			c.t.Errorf("%s still misses %d objects", d.name, len(d.v.MissingObjects()))
		}
	}
}

func addNote(t *testing.T, v *vault.Vault, name, text string) {
	t.Helper()
	if _, err := v.AddDocument(context.Background(), "note://"+name, []byte(text), nil); err != nil {
		t.Fatal(err)
	}
}

// finds reports whether a search on v finds the note.
func finds(t *testing.T, v *vault.Vault, query, name string) bool {
	t.Helper()
	hs, err := v.Search(context.Background(), query, vault.SearchOptions{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if strings.Contains(h.Source, name) {
			return true
		}
	}
	return false
}

// peerOf is d's peer ID.
func peerOf(t *testing.T, d *device) peer.ID {
	t.Helper()
	id, err := PeerIDOf(d.v)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// socketCount counts this process's open sockets.
func socketCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting sockets: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func mustAddr(t *testing.T, s string) ma.Multiaddr {
	t.Helper()
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func commonAddr(s string) common.Address { return common.HexToAddress(s) }

func protocolID(s string) protocol.ID { return protocol.ID(s) }
