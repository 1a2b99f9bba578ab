package sync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/nook-ai/nook/vault"
)

func TestANeverPairedVaultOpensNoSocket(t *testing.T) {
	// Not parallel: it counts the process's sockets.
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := vault.Init(dir, testPass, vaultOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	before := socketCount(t)
	n, err := New(v, Config{MDNS: true})
	if err != nil {
		t.Fatal(err)
	}
	if n.Enabled() {
		t.Fatal("a never-paired vault with no listen or peer address is enabled")
	}
	if err := n.Start(t.Context()); !errors.Is(err, ErrNotPaired) {
		t.Fatalf("Start: %v, want ErrNotPaired", err)
	}
	if _, err := n.SyncNow(t.Context()); !errors.Is(err, ErrNotPaired) {
		t.Fatalf("SyncNow: %v, want ErrNotPaired", err)
	}
	time.Sleep(100 * time.Millisecond)
	if after := socketCount(t); after != before {
		t.Fatalf("%d sockets before, %d after: a never-paired vault opened a socket", before, after)
	}
	if n.Host() != nil || len(n.Addrs()) != 0 {
		t.Fatal("a never-paired vault has a host")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestThreeDevicesConverge(t *testing.T) {
	t.Parallel()
	for _, netw := range []string{"tcp", "quic"} {
		t.Run(netw, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, 3, netw)
			for i, d := range c.devs {
				addNote(t, d.v, fmt.Sprintf("n%d", i), fmt.Sprintf("note %d about the %s harbour lighthouse", i, []string{"north", "south", "east"}[i]))
				if _, err := d.v.Remember(fmt.Sprintf("fact %d from %s", i, d.name)); err != nil {
					t.Fatal(err)
				}
				if err := d.v.SaveSession(&vault.Session{ID: vault.NewSessionID(), Title: "s" + d.name}); err != nil {
					t.Fatal(err)
				}
			}
			c.syncAll(1)
			c.requireConverged()
			for _, d := range c.devs {
				for i, dir := range []string{"north", "south", "east"} {
					if !finds(t, d.v, dir+" harbour lighthouse", fmt.Sprintf("n%d", i)) {
						t.Errorf("%s does not find n%d", d.name, i)
					}
				}
				st := d.n.Status()
				if !st.InSync || st.LastError != "" {
					t.Errorf("%s: status %+v", d.name, st)
				}
			}
			// A second sync moves nothing.
			before := c.fetchedTotal()
			rep, err := c.devs[0].n.SyncNow(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Peers {
				if p.Entries != 0 || p.Objects != 0 || p.Bytes != 0 || !p.InSync {
					t.Errorf("a second sync with nothing new: %+v", p)
				}
			}
			if c.fetchedTotal() != before {
				t.Error("a second sync fetched objects again")
			}
			// One more note: only it travels.
			addNote(t, c.devs[1].v, "late", "a late note about the west pier")
			rep, err = c.devs[2].n.SyncNow(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			objects := 0
			for _, p := range rep.Peers {
				objects += p.Objects
			}
			if objects != 1 {
				t.Errorf("the delta was %d objects, want 1: %+v", objects, rep)
			}
			c.syncAll(1)
			c.requireConverged()
		})
	}
}

func (c *cluster) fetchedTotal() int {
	n := 0
	for _, d := range c.devs {
		if d.n != nil {
			d.n.mu.Lock()
			for _, k := range d.n.fetched {
				n += k
			}
			d.n.mu.Unlock()
		}
	}
	return n
}

func TestAPartitionedDeviceCatchesUpWhenItReturns(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "tcp")
	d0, d1, d2 := c.devs[0], c.devs[1], c.devs[2]
	c.syncAll(1)
	c.stopNode(d2)
	addNote(t, d0.v, "a", "written while d2 is away, on d0")
	addNote(t, d1.v, "b", "written while d2 is away, on d1")
	addNote(t, d2.v, "c", "written on d2 while it is cut off")
	for _, d := range []*device{d0, d1} {
		rep, err := d.n.SyncNow(t.Context())
		if err == nil {
			t.Fatalf("%s synced with a stopped peer: %+v", d.name, rep)
		}
		for _, p := range rep.Peers {
			if p.Device == d2.v.Device() && (p.InSync || p.Err == "") {
				t.Errorf("%s reports the stopped peer %+v", d.name, p)
			}
		}
	}
	c.requireConverged(d0, d1)
	if st := d0.n.Status(); st.InSync {
		t.Error("d0 reports in sync while d2 is unreachable")
	}
	// Heal: d2 comes back on a new address.
	c.startNode(d2)
	c.introduce()
	c.syncAll(1)
	c.requireConverged()
	for _, d := range c.devs {
		for _, n := range []string{"a", "b", "c"} {
			if !finds(t, d.v, "written while away cut off "+n, "note://"+n) {
				t.Errorf("%s misses note %s", d.name, n)
			}
		}
	}
}

func TestRefusedDevicesGetNoStream(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0 := c.devs[0]
	unknown := c.addDevice("unknown", false)
	revoked := c.addDevice("revoked", true)
	expired := c.addDevice("expired", false)
	// expired: a delegate for one hour, then the chain's clock moves on.
	if err := c.chain.Client.AddDevice(t.Context(), c.chain.Owner, c.chain.Identity, commonAddr(expired.v.Device()), nil, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{unknown, revoked, expired} {
		c.startNode(d)
		// Their own gate admits d0 (they read the same chain), so they dial.
		// (A new map, as refresh makes one: the old one may be being
		// marshalled by a refresh that just finished.)
		d.n.devices.mu.Lock()
		devs := maps.Clone(d.n.devices.list.Devices)
		if devs == nil {
			devs = map[string]time.Time{}
		}
		devs[d0.v.Device()] = time.Now().Add(24 * time.Hour)
		d.n.devices.list.Devices = devs
		d.n.devices.mu.Unlock()
		c.tell(d, d0)
		c.tell(d0, d)
	}
	if err := RevokeDevice(t.Context(), c.chain.Client, c.chain.Owner, c.chain.Identity, revoked.v.Device()); err != nil {
		t.Fatal(err)
	}
	c.chain.AdjustTime(t, 2*time.Hour)
	if err := d0.n.RefreshDevices(t.Context()); err != nil {
		t.Fatal(err)
	}
	addNote(t, d0.v, "secret-plan", "nothing of this may reach a refused device")
	for _, tt := range []struct {
		d      *device
		reason string
	}{
		{unknown, "not a device of this identity"},
		{revoked, "revoked or expired"},
		{expired, "revoked or expired"},
	} {
		t.Run(tt.d.name, func(t *testing.T) {
			p := peerOf(t, tt.d)
			rep := tt.d.n.SyncPeer(t.Context(), peerOf(t, d0))
			if rep.err == nil {
				t.Fatalf("a %s device synced: %+v", tt.d.name, rep)
			}
			// d0 dials it too: refused before any connection.
			rep0 := d0.n.SyncPeer(t.Context(), p)
			if rep0.err == nil {
				t.Fatalf("d0 synced with a %s device", tt.d.name)
			}
			d0.n.mu.Lock()
			streams, refusals := d0.n.streams[p], d0.n.refusals[p]
			d0.n.mu.Unlock()
			d0.mu.Lock()
			conns := d0.conns[p]
			d0.mu.Unlock()
			if streams != 0 || conns != 0 {
				t.Fatalf("d0 got %d streams and %d connections from a %s device", streams, conns, tt.d.name)
			}
			if refusals < 2 {
				t.Errorf("d0 counted %d refusals, want one per direction", refusals)
			}
			log := d0.log.String()
			if !strings.Contains(log, "refused peer") || !strings.Contains(log, p.String()) || !strings.Contains(log, tt.reason) {
				t.Errorf("d0's log does not name the peer and %q:\n%s", tt.reason, log)
			}
			if len(tt.d.v.Heads()) != 0 || tt.d.v.HasObject("x") {
				t.Errorf("a %s device received entries: %v", tt.d.name, tt.d.v.Heads())
			}
		})
	}
}

func TestAKilledTransferResumesWithNothingFetchedTwice(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	const total = 1200 // more than the 4 streams' first answers (256 names each)
	src := filepath.Join(t.TempDir(), "bulk")
	os.MkdirAll(src, 0o755)
	for i := range total {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("bulk%04d.md", i)), []byte(fmt.Sprintf("bulk note %d: %s", i, strings.Repeat("filler words ", 50))), 0o644)
	}
	if rep, err := d0.v.Add(t.Context(), []string{src}, vault.AddOptions{}); err != nil || rep.Added != total {
		t.Fatalf("add: %+v %v", rep, err)
	}
	// Kill d0's host once d1 has stored the first answer.
	killed := make(chan struct{})
	var once stdsync.Once
	d1.n.testHook = func(event string, count int) {
		if event == "object-stored" && count > 0 {
			once.Do(func() {
				go func() {
					d0.n.Host().Close()
					close(killed)
				}()
			})
		}
	}
	rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0))
	<-killed
	if rep.err == nil {
		t.Fatalf("a transfer cut in the middle succeeded: %+v", rep)
	}
	got := len(d1.n.fetched)
	if got == 0 || got >= total {
		t.Fatalf("%d objects arrived before the cut, want some but not all", got)
	}
	// Both vaults are still openable after the cut.
	for _, d := range []*device{d0, d1} {
		v, err := vault.Open(d.dir, testPass, vaultOpts()...)
		if err != nil {
			t.Fatalf("%s after the cut: %v", d.name, err)
		}
		v.Close()
	}
	// d0 restarts; d1 resumes.
	d1.n.testHook = nil
	c.stopNode(d0)
	c.startNode(d0)
	c.tell(d1, d0)
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatal(rep.err)
	}
	c.requireConverged(d0, d1)
	for name, k := range d1.n.fetched {
		if k != 1 {
			t.Errorf("object %s was fetched %d times", name, k)
		}
	}
	if len(d1.n.fetched) != total {
		t.Errorf("%d objects fetched in all, want %d", len(d1.n.fetched), total)
	}
}

func TestATamperedObjectIsDroppedAndFetchedFromAnotherPeer(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "tcp")
	d0, d1, d2 := c.devs[0], c.devs[1], c.devs[2]
	addNote(t, d0.v, "t", "a note whose object gets damaged on one device")
	// d2 takes a good copy; then d0's copy is damaged on disk.
	if rep := d2.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatal(rep.err)
	}
	name := d2.n.lastFetched(t)
	path := filepath.Join(d0.dir, "objects", name[:2], name[2:])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0x55
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0))
	if !errors.Is(rep.err, ErrCorrupt) || rep.Rejected != 1 {
		t.Fatalf("pull from the damaged copy: %+v", rep)
	}
	if d1.v.HasObject(name) {
		t.Fatal("the damaged object was stored")
	}
	if !strings.Contains(d1.log.String(), "dropped a corrupt object") {
		t.Errorf("no log line for the dropped object:\n%s", d1.log)
	}
	if len(d1.n.Host().Network().ConnsToPeer(peerOf(t, d0))) != 0 {
		t.Error("the connection to the peer that sent a corrupt object is still open")
	}
	// Fetched again, from d2.
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d2)); rep.err != nil || rep.Objects != 1 {
		t.Fatalf("pull from d2: %+v", rep)
	}
	if !d1.v.HasObject(name) || !finds(t, d1.v, "damaged on one device", "note://t") {
		t.Fatal("the object did not arrive from the other peer")
	}
}

func (n *Node) lastFetched(t *testing.T) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for name := range n.fetched {
		return name
	}
	t.Fatal("nothing was fetched")
	return ""
}

// restore replaces d's vault folder with backup (taken by copyVault) and
// reopens it: a device restored from an older copy.
func (c *cluster) restore(d *device, backup string) {
	c.t.Helper()
	if d.n != nil {
		c.stopNode(d)
	}
	d.v.Close()
	if err := os.RemoveAll(d.dir); err != nil {
		c.t.Fatal(err)
	}
	if err := os.CopyFS(d.dir, os.DirFS(backup)); err != nil {
		c.t.Fatal(err)
	}
	d.v = c.open(d.dir)
	c.startNode(d)
	c.introduce()
}

func copyVault(t *testing.T, d *device) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "backup")
	if err := os.CopyFS(dst, os.DirFS(d.dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestARolledBackLogIsRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	addNote(t, d0.v, "one", "first note")
	backup := copyVault(t, d0)
	addNote(t, d0.v, "two", "second note")
	addNote(t, d0.v, "three", "third note")
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatal(rep.err)
	}
	// d0's folder is restored from the older copy: it offers an older
	// head for itself than it did.
	c.restore(d0, backup)
	rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0))
	if !errors.Is(rep.err, ErrRollback) {
		t.Fatalf("pull from a rolled-back peer: %+v", rep)
	}
	if !strings.Contains(d1.log.String(), "rolled-back") {
		t.Errorf("no log line:\n%s", d1.log)
	}
	// d0 pulls its own entries back from d1 (reported), then d1 accepts it.
	rep0 := d0.n.SyncPeer(t.Context(), peerOf(t, d1))
	if !rep0.RolledBack {
		t.Errorf("d0 did not report that its own entries came back: %+v", rep0)
	}
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatalf("after d0 caught up: %v", rep.err)
	}
	c.requireConverged()
}

func TestAForkedLogIsRefusedAsAPossibleKeyCompromise(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	addNote(t, d0.v, "base", "the common base")
	backup := copyVault(t, d0)
	addNote(t, d0.v, "left", "one branch")
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatal(rep.err)
	}
	// Restored, d0 writes another entry at the same sequence number.
	c.restore(d0, backup)
	addNote(t, d0.v, "right", "the other branch")
	rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0))
	if !errors.Is(rep.err, ErrFork) || !errors.Is(rep.err, vault.ErrFork) {
		t.Fatalf("pull from a forked log: %+v", rep)
	}
	if !strings.Contains(d1.log.String(), "POSSIBLE KEY COMPROMISE") {
		t.Errorf("the fork was not reported as a possible key compromise:\n%s", d1.log)
	}
	if finds(t, d1.v, "other branch", "note://right") {
		t.Error("the forked entry was applied")
	}
}

func TestMergeIsOrderIndependentOverTheNetwork(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "tcp")
	// Concurrent writes to the same keys on every device.
	for i, d := range c.devs {
		addNote(t, d.v, "shared", fmt.Sprintf("version %d of the shared note", i))
		addNote(t, d.v, fmt.Sprintf("own%d", i), "own note")
		if err := d.v.PutSecret("same-secret", []byte(d.name)); err != nil {
			t.Fatal(err)
		}
	}
	orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	var digests []string
	var conflicts [][]vault.Conflict
	// One new device per order, all made before any of them syncs (each
	// adds a key wrap to the vault).
	var observers []*device
	for _, order := range orders {
		obs := c.addDevice(fmt.Sprintf("observer%d%d%d", order[0], order[1], order[2]), true)
		c.startNode(obs)
		observers = append(observers, obs)
	}
	for k, order := range orders {
		obs := observers[k]
		for _, i := range order {
			c.tell(obs, c.devs[i])
			if rep := obs.n.SyncPeer(t.Context(), peerOf(t, c.devs[i])); rep.err != nil {
				t.Fatalf("order %v: %v", order, rep.err)
			}
		}
		dg, err := obs.v.StateDigest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, dg)
		conflicts = append(conflicts, obs.v.Conflicts())
	}
	for i := range orders {
		if digests[i] != digests[0] {
			t.Errorf("delivery order %v gives another state than %v", orders[i], orders[0])
		}
		if fmt.Sprint(conflicts[i]) != fmt.Sprint(conflicts[0]) {
			t.Errorf("order %v: conflicts %v, want %v", orders[i], conflicts[i], conflicts[0])
		}
	}
	if len(conflicts[0]) == 0 {
		t.Error("concurrent writes of one key gave no conflict")
	}
}

func TestARemovedDeviceIsRefusedAndCannotReadWhatFollows(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "tcp")
	d0, d1, d2 := c.devs[0], c.devs[1], c.devs[2]
	addNote(t, d0.v, "before", "written before the removal")
	c.syncAll(1)
	c.requireConverged()
	rem, err := RemoveDevice(t.Context(), d0.v, c.chain.Client, c.chain.Owner, c.chain.Identity, d2.v.Device(), d0.n)
	if err != nil {
		t.Fatal(err)
	}
	if rem.Epoch != 2 || !slices.Contains(rem.WrappedFor, d1.v.Device()) || slices.Contains(rem.WrappedFor, d2.v.Device()) {
		t.Fatalf("removal: %+v", rem)
	}
	// d0 refuses d2 at once: its connection is closed and it gets nothing.
	waitFor(t, "d2's connection to close", 5*time.Second, func() bool {
		return len(d0.n.Host().Network().ConnsToPeer(peerOf(t, d2))) == 0
	})
	addNote(t, d0.v, "after", "written after the removal, sealed to epoch two")
	if err := d1.n.RefreshDevices(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil {
		t.Fatal(rep.err)
	}
	if d1.v.Epoch() != 2 || !finds(t, d1.v, "sealed to epoch two", "note://after") {
		t.Fatalf("d1 (remaining) cannot read the new note (epoch %d)", d1.v.Epoch())
	}
	d0.n.mu.Lock()
	streamsBefore := d0.n.streams[peerOf(t, d2)]
	d0.n.mu.Unlock()
	if rep := d2.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err == nil {
		t.Fatal("the removed device synced")
	}
	d0.n.mu.Lock()
	streamsAfter := d0.n.streams[peerOf(t, d2)]
	d0.n.mu.Unlock()
	if streamsAfter != streamsBefore {
		t.Errorf("the removed device opened %d streams after its removal", streamsAfter-streamsBefore)
	}
	// Even holding the ciphertext, it cannot read what follows.
	var es []vault.RawEntry
	for dev, h := range d0.v.Heads() {
		got, err := d0.v.Entries(dev, d2.v.Heads()[dev].Seq+1, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		_ = h
		es = append(es, got...)
	}
	if _, err := d2.v.Import(es); !errors.Is(err, vault.ErrCorrupt) {
		t.Fatalf("the removed device imported entries sealed after its removal: %v", err)
	}
	for _, m := range d0.v.MissingObjects() {
		_ = m
	}
	newObj := ""
	for name := range d1.n.fetched {
		if !d2.v.HasObject(name) {
			newObj = name
		}
	}
	if newObj == "" {
		t.Fatal("no new object to try")
	}
	data, err := d0.v.ReadObject(newObj)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.v.WriteObject(newObj, data); err == nil {
		t.Fatal("the removed device accepted an object sealed after its removal")
	}
	if finds(t, d2.v, "sealed to epoch two", "note://after") {
		t.Fatal("the removed device reads the new note")
	}
}

func TestCanaryPlaintextNeverOnTheWire(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	const canary = "CANARY-7f3a91c2-plaintext-must-not-travel"
	addNote(t, d0.v, "canary", "my bank PIN hint: "+canary)
	if _, err := d0.v.Remember("remember " + canary); err != nil {
		t.Fatal(err)
	}
	// d1 reaches d0 through a loopback proxy that records every byte.
	proxy := newTapProxy(t, d0.n.Host().Addrs())
	var frames tapFrames
	d1.n.tap = frames.add
	d0.n.tap = frames.add
	d1.n.mu.Lock()
	delete(d1.n.st.Peers, d0.v.Device())
	d1.n.mu.Unlock()
	d1.n.Host().Network().ClosePeer(peerOf(t, d0))
	d1.n.Host().Peerstore().ClearAddrs(peerOf(t, d0))
	if _, err := d1.n.AddPeer(proxy.addr + "/p2p/" + peerOf(t, d0).String()); err != nil {
		t.Fatal(err)
	}
	if rep := d1.n.SyncPeer(t.Context(), peerOf(t, d0)); rep.err != nil || rep.Objects < 2 {
		t.Fatalf("sync through the proxy: %+v", rep)
	}
	if !finds(t, d1.v, "bank PIN hint", "note://canary") {
		t.Fatal("the note did not arrive")
	}
	wire := proxy.bytes()
	if len(wire) < 1000 {
		t.Fatalf("the proxy saw %d bytes: the sync did not go through it", len(wire))
	}
	if strings.Contains(string(wire), "CANARY") {
		t.Fatal("the canary is in the bytes on the wire")
	}
	written := frames.bytes()
	if len(written) < 1000 {
		t.Fatalf("nook wrote %d bytes into streams", len(written))
	}
	if strings.Contains(string(written), "CANARY") {
		t.Fatal("the canary is in what nook wrote into its streams")
	}
}

// tapFrames records every frame nook writes.
type tapFrames struct {
	mu stdsync.Mutex
	b  []byte
}

func (f *tapFrames) add(b []byte) {
	f.mu.Lock()
	f.b = append(f.b, b...)
	f.mu.Unlock()
}

func (f *tapFrames) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.b)
}

// tapProxy forwards TCP connections to a node's TCP address and records
// the bytes both ways.
type tapProxy struct {
	addr string
	mu   stdsync.Mutex
	buf  []byte
}

func newTapProxy(t *testing.T, addrs []ma.Multiaddr) *tapProxy {
	t.Helper()
	var target string
	for _, a := range addrs {
		if na, err := manet.ToNetAddr(a); err == nil && na.Network() == "tcp" {
			target = na.String()
		}
	}
	if target == "" {
		t.Fatal("no TCP address to proxy")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &tapProxy{addr: "/ip4/127.0.0.1/tcp/" + fmt.Sprint(l.Addr().(*net.TCPAddr).Port)}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go p.copy(out, in)
			go p.copy(in, out)
		}
	}()
	return p
}

func (p *tapProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.buf = append(p.buf, buf[:n]...)
			p.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

func (p *tapProxy) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.buf)
}

func TestSyncsReuseTheOpenConnectionAndRedialWhenItIsLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	p0, p1 := peerOf(t, d0), peerOf(t, d1)
	conns := func(d *device, p peer.ID) int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.conns[p]
	}
	for i := range 3 {
		addNote(t, d0.v, fmt.Sprintf("k%d", i), fmt.Sprintf("kept connection note %d", i))
		c.syncAll(1)
		c.requireConverged()
	}
	if a, b := conns(d1, p0), conns(d0, p1); a != 1 || b != 1 {
		t.Fatalf("three syncs opened %d and %d connections between the devices, want 1 each", a, b)
	}
	d1.n.Host().Network().ClosePeer(p0)
	waitFor(t, "the connection to close", 5*time.Second, func() bool {
		return len(d0.n.Host().Network().ConnsToPeer(p1)) == 0
	})
	addNote(t, d0.v, "after", "written after the connection was lost")
	if _, err := d1.n.SyncNow(t.Context()); err != nil {
		t.Fatalf("sync after the connection was lost: %v\n%s", err, d1.log)
	}
	c.requireConverged()
	if got := conns(d1, p0); got != 2 {
		t.Errorf("d1 opened %d connections to d0, want 2 (one redial)", got)
	}
}

func TestTheRunningServiceRedialsADeviceWhoseConnectionWasLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	c.stopNode(d1)
	c.startNodeWith(d1, true)
	c.tell(d1, d0)
	p0, p1 := peerOf(t, d0), peerOf(t, d1)
	if _, err := d1.n.SyncNow(t.Context()); err != nil {
		t.Fatalf("sync: %v\n%s", err, d1.log)
	}
	// Past the loop's first sync (2 s after start; the next is an hour
	// away), the other side drops the connection: d1's service dials
	// again.
	time.Sleep(3 * time.Second)
	d0.n.Host().Network().ClosePeer(p1)
	waitFor(t, "d1 to redial d0", 15*time.Second, func() bool {
		return len(d1.n.Host().Network().ConnsToPeer(p0)) > 0
	})
	d1.mu.Lock()
	dials := d1.conns[p0]
	d1.mu.Unlock()
	if dials < 2 {
		t.Errorf("d1 connected to d0 %d times, want a redial", dials)
	}
	// A revoked device is not redialled.
	d1.n.RemoveDevice(d0.v.Device())
	waitFor(t, "the connection to the removed device to close", 15*time.Second, func() bool {
		return len(d1.n.Host().Network().ConnsToPeer(p0)) == 0
	})
	time.Sleep(redialDelay + time.Second)
	if n := len(d1.n.Host().Network().ConnsToPeer(p0)); n != 0 {
		t.Errorf("d1 redialled a removed device (%d connections)", n)
	}
}

// A first sync's batches are stored as packs, and an object removed on
// the other device later is erased from its pack here.
func TestAFirstSyncStoresItsBatchesAsPacksAndErasesFromThem(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, "tcp")
	d0, d1 := c.devs[0], c.devs[1]
	for i := range 300 {
		addNote(t, d0.v, fmt.Sprintf("bulk%03d", i), fmt.Sprintf("bulk note %d: %s", i, strings.Repeat("filler words ", 20)))
	}
	addNote(t, d0.v, "canary", "the harbour gate code is quokka-lantern")
	c.syncAll(1)
	c.requireConverged(d0, d1)
	packs := func() []string {
		got, _ := filepath.Glob(filepath.Join(d1.dir, "objects", "pack", "*.pack"))
		return got
	}
	before := packs()
	loose, _ := filepath.Glob(filepath.Join(d1.dir, "objects", "[0-9a-f][0-9a-f]", "*"))
	if len(before) == 0 || len(loose) != 0 {
		t.Fatalf("after the first sync d1 holds %d packs and %d object files; want its batches in packs", len(before), len(loose))
	}
	if !finds(t, d1.v, "harbour gate code", "canary") {
		t.Fatal("d1 does not find the note it received in a pack")
	}
	st0, _ := d1.v.Status()
	if _, _, err := d0.v.RemoveDocuments([]string{"note://canary"}); err != nil {
		t.Fatal(err)
	}
	c.syncAll(1)
	c.requireConverged(d0, d1)
	st1, _ := d1.v.Status()
	if st1.Objects != st0.Objects-1 {
		t.Fatalf("d1 holds %d objects, held %d: the removed note's object was not erased", st1.Objects, st0.Objects)
	}
	if finds(t, d1.v, "harbour gate code", "canary") {
		t.Fatal("d1 still finds the removed note")
	}
	for _, p := range packs() {
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte("quokka")) {
			t.Fatalf("plaintext in %s", p)
		}
	}
	if rep, err := d1.v.Check(); err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("check on d1: %+v %v", rep.Damaged, err)
	}
}
