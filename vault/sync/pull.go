package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	stdsync "sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/nook-ai/nook/vault"
)

// The pulling side of the protocol: Hello, then what this device lacks —
// wraps first (entries sealed to a new key epoch need its wrap), then each
// device's entries from this device's head on, then the objects the vault
// says are missing. Everything is verified by the vault before it is
// kept; a cut transfer leaves what was verified and stored, and the next
// sync asks only for the rest.

const (
	entryBatch    = 4 << 20 // bytes of entries per GetEntries
	objectBatch   = 256     // names per GetObjects
	objectWorkers = 4       // GetObjects streams at once
	// storeBatchBytes: received objects are stored (made durable) at the
	// end of each GetObjects answer, or sooner past this many bytes.
	storeBatchBytes = 16 << 20
)

// SyncPeer pulls from p, then asks p to pull from this device, and says
// whether both now hold the same heads.
func (n *Node) SyncPeer(ctx context.Context, p peer.ID) PeerReport {
	dev, err := DeviceOf(p)
	rep := PeerReport{Device: dev, Peer: p.String()}
	if err == nil {
		err = n.syncPeer(ctx, p, dev, &rep, true)
	}
	rep.Missing = len(n.wanted())
	if err != nil {
		rep.err, rep.Err, rep.InSync = err, err.Error(), false
	}
	n.mu.Lock()
	r := n.st.Peers[dev]
	if r == nil && dev != "" {
		r = &PeerRecord{Device: dev, ID: p.String()}
		n.st.Peers[dev] = r
	}
	if r != nil {
		r.LastSync, r.InSync, r.LastErr = n.now(), rep.InSync, rep.Err
		if h := n.host; h != nil {
			if err == nil {
				h.ConnManager().Protect(p, protectTag)
			}
			for _, c := range h.Network().ConnsToPeer(p) {
				if s := c.RemoteMultiaddr().String(); !slices.Contains(r.Addrs, s) && c.Stat().Direction == network.DirOutbound {
					r.Addrs = append(r.Addrs, s)
				}
			}
		}
	}
	n.mu.Unlock()
	return rep
}

// syncPeer pulls from p and, when push is set, asks p to pull back.
func (n *Node) syncPeer(ctx context.Context, p peer.ID, dev string, rep *PeerReport, push bool) error {
	n.pullMu.Lock()
	theirs, err := n.pull(ctx, p, dev, rep)
	n.pullMu.Unlock()
	if err != nil {
		n.log.Warn("sync: pull failed", "peer", p.String(), "device", dev, "err", err)
		return err
	}
	if push && !sameHeads(n.v.Heads(), theirs) {
		x, err := n.open(ctx, p, ProtocolSync)
		if err != nil {
			return err
		}
		defer x.close()
		x.s.SetDeadline(time.Now().Add(pullTimeout))
		m, err := x.call(&Pull{})
		if err != nil {
			return fmt.Errorf("sync: ask %s to pull: %w", dev, err)
		}
		done, err := expect[*Done](m)
		if err != nil {
			return err
		}
		theirs = done.Heads
	}
	rep.InSync = sameHeads(n.v.Heads(), theirs) && len(n.wanted()) == 0
	return nil
}

// pull brings what p holds and this device lacks, and returns p's heads.
func (n *Node) pull(ctx context.Context, p peer.ID, dev string, rep *PeerReport) ([]DeviceHead, error) {
	hello, err := n.hello()
	if err != nil {
		return nil, err
	}
	x, err := n.open(ctx, p, ProtocolSync)
	if err != nil {
		return nil, err
	}
	m, err := x.call(hello)
	x.close()
	if err != nil {
		return nil, fmt.Errorf("sync: hello to %s: %w", dev, err)
	}
	theirs, err := expect[*Hello](m)
	if err != nil {
		return nil, err
	}
	if theirs.Vault != n.v.ID() {
		return nil, fmt.Errorf("%w: %s holds vault %s", ErrWrongVault, dev, theirs.Vault)
	}
	if theirs.Device != dev {
		return nil, fmt.Errorf("%w: peer %s says it is device %s", ErrProtocol, dev, theirs.Device)
	}
	n.rememberAddrs(dev, p, theirs.Addrs)
	n.mu.Lock()
	before := n.seen[dev]
	n.mu.Unlock()
	if err := checkHeads(n.v, before, dev, theirs.Heads); err != nil {
		n.reportRefusal(dev, err)
		return nil, err
	}
	if err := n.pullWraps(ctx, p, theirs.Wraps); err != nil {
		return nil, err
	}
	mine := n.v.Heads()
	for _, h := range theirs.Heads {
		if h.Seq <= mine[h.Device].Seq {
			continue
		}
		if err := n.pullEntries(ctx, p, dev, h, mine[h.Device].Seq+1, rep); err != nil {
			n.reportRefusal(dev, err)
			return nil, err
		}
	}
	// Every head the peer offered is now verified (held here with the
	// same hash): remember them.
	n.mu.Lock()
	m2 := map[string]vault.Head{}
	for _, h := range theirs.Heads {
		m2[h.Device] = vault.Head{Seq: h.Seq, Hash: h.Hash}
	}
	n.seen[dev] = m2
	err = saveSeen(n.v, n.seen)
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := n.pullObjects(ctx, p, dev, rep); err != nil {
		return nil, err
	}
	return theirs.Heads, nil
}

// reportRefusal logs a refused log, a fork as a possible key compromise.
func (n *Node) reportRefusal(dev string, err error) {
	if errors.Is(err, vault.ErrFork) {
		n.log.Error("sync: POSSIBLE KEY COMPROMISE: two different entries at one sequence number of one device's log; the peer was refused", "peer_device", dev, "err", err)
	} else if errors.Is(err, ErrRollback) || errors.Is(err, ErrTruncated) {
		n.log.Warn("sync: refused a rolled-back or truncated log", "peer_device", dev, "err", err)
	}
}

func (n *Node) hello() (*Hello, error) {
	heads := n.v.Heads()
	h := &Hello{Vault: n.v.ID(), Device: n.self, Secrets: n.cfg.Secrets}
	for d, hd := range heads {
		h.Heads = append(h.Heads, DeviceHead{Device: d, Seq: hd.Seq, Hash: hd.Hash})
	}
	sortHeads(h.Heads)
	ws, err := n.v.Wraps()
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		h.Wraps = append(h.Wraps, w.Name)
	}
	if len(h.Wraps) > maxNames {
		h.Wraps = h.Wraps[len(h.Wraps)-maxNames:]
	}
	if host := n.Host(); host != nil {
		for _, a := range host.Addrs() {
			if s := a.String(); len(s) <= 256 && len(h.Addrs) < maxAddrs {
				h.Addrs = append(h.Addrs, s)
			}
		}
	}
	return h, nil
}

// rememberAddrs keeps the listen addresses a peer announced.
func (n *Node) rememberAddrs(dev string, p peer.ID, addrs []string) {
	var ms []string
	for _, a := range addrs {
		if _, err := parsePeerAddr(a + "/p2p/" + p.String()); err == nil {
			ms = append(ms, a)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.st.Peers[dev]
	if r == nil {
		r = &PeerRecord{Device: dev}
		n.st.Peers[dev] = r
	}
	r.ID = p.String()
	if len(ms) > 0 {
		r.Addrs = ms
		n.addAddrs(r.ID, ms)
	}
}

func (n *Node) pullWraps(ctx context.Context, p peer.ID, names []string) error {
	ws, err := n.v.Wraps()
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, w := range ws {
		held[w.Name] = true
	}
	var want []string
	for _, name := range names {
		if !held[name] {
			want = append(want, name)
		}
	}
	if len(want) == 0 {
		return nil
	}
	x, err := n.open(ctx, p, ProtocolSync)
	if err != nil {
		return err
	}
	defer x.close()
	m, err := x.call(&GetWraps{Names: want})
	if err != nil {
		return fmt.Errorf("sync: wraps: %w", err)
	}
	got, err := expect[*Wraps](m)
	if err != nil {
		return err
	}
	asked := map[string]bool{}
	for _, w := range want {
		asked[w] = true
	}
	list := make([]vault.RawWrap, 0, len(got.List))
	for _, w := range got.List {
		if !asked[w.Name] {
			return fmt.Errorf("%w: a wrap that was not asked for", ErrProtocol)
		}
		list = append(list, vault.RawWrap{Name: w.Name, Data: slices.Clone(w.Data)})
	}
	if err := n.v.ImportWraps(list); err != nil {
		if errors.Is(err, vault.ErrCorrupt) {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return err
	}
	return nil
}

// pullEntries brings device h.Device's entries from seq from up to h.
func (n *Node) pullEntries(ctx context.Context, p peer.ID, peerDev string, h DeviceHead, from uint64, rep *PeerReport) error {
	for from <= h.Seq {
		x, err := n.open(ctx, p, ProtocolSync)
		if err != nil {
			return err
		}
		m, err := x.call(&GetEntries{Device: h.Device, From: from, MaxBytes: entryBatch})
		if err != nil {
			x.close()
			return fmt.Errorf("sync: entries of %s from %s: %w", h.Device, peerDev, err)
		}
		es, err := expect[*Entries](m)
		if err == nil && (es.Device != h.Device || es.From != from) {
			err = fmt.Errorf("%w: entries of another device or sequence than asked", ErrProtocol)
		}
		if err != nil {
			x.close()
			return err
		}
		if len(es.Data) == 0 {
			x.close()
			return fmt.Errorf("%w: %s announced device %s up to entry %d but sends none from %d", ErrTruncated, peerDev, h.Device, h.Seq, from)
		}
		batch := make([]vault.RawEntry, 0, len(es.Data))
		for i, d := range es.Data {
			seq := from + uint64(i)
			if seq > h.Seq {
				break
			}
			batch = append(batch, vault.RawEntry{Device: h.Device, Seq: seq, Data: slices.Clone(d)})
			rep.Bytes += int64(len(d))
		}
		x.close()
		r, err := n.v.Import(batch)
		rep.Entries += r.Applied
		if r.RolledBack {
			rep.RolledBack = true
			n.log.Warn("sync: this device's own entries came back from a peer beyond its head: this vault folder was restored from an older copy (they were verified and applied)", "peer_device", peerDev)
		}
		if err != nil {
			var re *vault.RefusedError
			switch {
			case errors.Is(err, vault.ErrFork):
				return fmt.Errorf("%w: %v", ErrFork, err)
			case errors.As(err, &re):
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			default:
				return err
			}
		}
		from += uint64(len(batch))
	}
	got := n.v.Heads()[h.Device]
	if got.Seq != h.Seq || got.Hash != h.Hash {
		return fmt.Errorf("%w: device %s's entry %d from %s does not match the head it announced", ErrFork, h.Device, h.Seq, peerDev)
	}
	return nil
}

// wanted are the objects this device needs and would accept.
func (n *Node) wanted() []string {
	var out []string
	for _, m := range n.v.MissingObjects() {
		if m.NS == "secret" && !n.cfg.Secrets {
			continue
		}
		out = append(out, m.Name)
	}
	return out
}

func (n *Node) pullObjects(ctx context.Context, p peer.ID, dev string, rep *PeerReport) error {
	want := n.wanted()
	if len(want) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(objectWorkers)
	var mu stdsync.Mutex
	for i := 0; i < len(want); i += objectBatch {
		names := want[i:min(i+objectBatch, len(want))]
		g.Go(func() error { return n.pullBatch(gctx, p, dev, names, rep, &mu) })
	}
	err := g.Wait()
	if aerr := n.v.Arrived(); err == nil {
		err = aerr
	}
	return err
}

// pullBatch asks for some objects on one stream and stores them in
// batches (vault.WriteObjects makes a batch durable at once).
func (n *Node) pullBatch(ctx context.Context, p peer.ID, dev string, names []string, rep *PeerReport, mu *stdsync.Mutex) error {
	x, err := n.open(ctx, p, ProtocolSync)
	if err != nil {
		return err
	}
	defer x.close()
	if err := x.send(&GetObjects{Names: names}); err != nil {
		return err
	}
	if err := x.flush(); err != nil {
		return err
	}
	var (
		buf      []byte
		size     uint64
		reserved int
		pending  []vault.RawObject
		held     int // bytes in pending
	)
	defer func() {
		if reserved > 0 {
			x.s.Scope().ReleaseMemory(reserved)
		}
	}()
	store := func() error {
		if len(pending) == 0 {
			return nil
		}
		stored, bad, err := n.v.WriteObjects(pending)
		mu.Lock()
		rep.Objects += stored
		for _, o := range pending {
			rep.Bytes += int64(len(o.Data))
		}
		total := rep.Objects
		for _, e := range bad {
			if errors.Is(e, vault.ErrCorrupt) {
				rep.Rejected++
			}
		}
		mu.Unlock()
		pending, held = nil, 0
		if reserved > 0 {
			x.s.Scope().ReleaseMemory(reserved)
			reserved = 0
		}
		if err != nil {
			return err
		}
		for name, e := range bad {
			if errors.Is(e, vault.ErrCorrupt) {
				n.log.Warn("sync: dropped a corrupt object from a peer and the connection; nothing of it was stored", "peer", p.String(), "device", dev, "object", name, "err", e)
				if h := n.Host(); h != nil {
					h.Network().ClosePeer(p)
				}
				return fmt.Errorf("%w: object %s from %s: %v", ErrCorrupt, name, dev, e)
			}
		}
		if hook := n.hook(); hook != nil {
			hook("object-stored", total)
		}
		return nil
	}
	i := 0
	for {
		x.s.SetDeadline(time.Now().Add(idleTimeout))
		if ctx.Err() != nil {
			x.s.Reset()
			if serr := store(); serr != nil {
				n.log.Warn("sync: storing the objects that arrived before the transfer was stopped", "peer", p.String(), "device", dev, "err", serr)
			}
			return ctx.Err()
		}
		m, err := x.recv()
		if err != nil {
			// A cut transfer keeps what arrived whole (each object is
			// checked as always): the next sync asks only for the rest.
			if serr := store(); serr != nil {
				n.log.Warn("sync: storing the objects that arrived before the transfer was cut", "peer", p.String(), "device", dev, "err", serr)
			}
			return fmt.Errorf("sync: objects from %s: %w", dev, err)
		}
		switch m := m.(type) {
		case *Done:
			if i != len(names) || buf != nil {
				return fmt.Errorf("%w: %s ended an object transfer early", ErrTruncated, dev)
			}
			return store()
		case *Object:
			if i >= len(names) || m.Name != names[i] {
				return fmt.Errorf("%w: an object that was not asked for, or out of order", ErrProtocol)
			}
			if m.Missing {
				i++
				continue
			}
			if m.Offset == 0 && buf == nil {
				size = m.Size
				if err := x.s.Scope().ReserveMemory(int(size), network.ReservationPriorityAlways); err != nil {
					return fmt.Errorf("sync: object %s of %d bytes: %w", m.Name, size, err)
				}
				reserved += int(size)
				buf = make([]byte, 0, size)
			} else if m.Size != size || m.Offset != uint64(len(buf)) {
				return fmt.Errorf("%w: object parts out of order", ErrProtocol)
			}
			buf = append(buf, m.Data...)
			if uint64(len(buf)) < size {
				continue
			}
			n.received(names[i])
			pending = append(pending, vault.RawObject{Name: names[i], Data: buf})
			held += len(buf)
			buf, size = nil, 0
			i++
			if held >= storeBatchBytes {
				if err := store(); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%w: unexpected message type %d", ErrProtocol, m.msgType())
		}
	}
}

func (n *Node) hook() func(string, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.testHook
}

// received counts whole objects received (tests check nothing is
// fetched twice).
func (n *Node) received(name string) {
	n.mu.Lock()
	n.fetched[name]++
	n.mu.Unlock()
}

// sameHeads: both sides hold every device's log up to the same entry.
func sameHeads(mine map[string]vault.Head, theirs []DeviceHead) bool {
	count := 0
	for _, h := range theirs {
		if h.Seq == 0 {
			continue
		}
		count++
		if m := mine[h.Device]; m.Seq != h.Seq || m.Hash != h.Hash {
			return false
		}
	}
	for _, h := range mine {
		if h.Seq > 0 {
			count--
		}
	}
	return count == 0
}
