package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/nook-ai/nook/vault"
)

// The serving side of /nook/sync/1.0.0: one request per stream, from an
// admitted device only. Garbage, an oversized frame or an unexpected
// message drops the connection with a one-line log; nothing a peer sends
// here is stored (a Pull makes this device pull, through the vault's
// verification).

const entryBatchMax = 8 << 20 // bytes of entries one answer carries at most

func (n *Node) handleSync(s network.Stream) {
	p := s.Conn().RemotePeer()
	n.countStream(p)
	dev, ok := n.isDevice(p)
	if !ok {
		n.log.Warn("sync: reset a sync stream from a peer that is not an admitted device", "peer", p.String())
		s.Reset()
		return
	}
	if err := s.Scope().SetService(serviceName); err != nil {
		n.log.Warn("sync: resource limit", "peer", p.String(), "err", err)
		s.Reset()
		return
	}
	s.SetDeadline(time.Now().Add(streamTimeout))
	x := n.newExchange(s)
	defer x.close()
	m, err := x.recv()
	if err != nil {
		n.badPeer(p, dev, err)
		return
	}
	switch req := m.(type) {
	case *Hello:
		err = n.serveHello(x, dev, req)
	case *GetEntries:
		err = n.serveEntries(x, req)
	case *GetObjects:
		err = n.serveObjects(x, req)
	case *GetWraps:
		err = n.serveWraps(x, req)
	case *Pull:
		err = n.servePull(x, p, dev)
	default:
		err = fmt.Errorf("%w: unexpected request type %d", ErrProtocol, m.msgType())
	}
	if err != nil {
		x.fail(err)
		if errors.Is(err, ErrProtocol) {
			n.badPeer(p, dev, err)
		}
	}
}

// badPeer drops the connection of a peer that broke the protocol.
func (n *Node) badPeer(p peer.ID, dev string, err error) {
	var re *RemoteError
	if errors.As(err, &re) {
		return // it said why it stopped
	}
	n.log.Warn("sync: dropped the connection of a peer that broke the protocol", "peer", p.String(), "device", dev, "err", err)
	if h := n.Host(); h != nil {
		h.Network().ClosePeer(p)
	}
}

func (n *Node) serveHello(x *exchange, dev string, req *Hello) error {
	if req.Vault != n.v.ID() {
		return fmt.Errorf("%w: this device holds vault %s", ErrWrongVault, n.v.ID())
	}
	if req.Device != dev {
		return fmt.Errorf("%w: hello from %s names device %s", ErrProtocol, dev, req.Device)
	}
	// A peer whose log went back (restored from an older copy) is still
	// served, so that it can catch up; what it offers is checked when
	// this device pulls from it.
	h, err := n.hello()
	if err != nil {
		return err
	}
	if err := x.send(h); err != nil {
		return err
	}
	if err := x.flush(); err != nil {
		return err
	}
	if !sameHeads(n.v.Heads(), req.Heads) {
		n.Kick() // it may hold what this device lacks
	}
	return nil
}

func (n *Node) serveEntries(x *exchange, req *GetEntries) error {
	es, err := n.v.Entries(req.Device, req.From, int(min(req.MaxBytes, entryBatchMax)))
	if err != nil && len(es) == 0 {
		if errors.Is(err, vault.ErrLocked) {
			return fmt.Errorf("%w: %v", ErrInternal, err)
		}
		// A device this vault does not hold, or a sequence past its head.
		es = nil
	}
	out := &Entries{Device: req.Device, From: req.From}
	for _, e := range es {
		out.Data = append(out.Data, e.Data)
	}
	if err := x.send(out); err != nil {
		return err
	}
	return x.flush()
}

func (n *Node) serveObjects(x *exchange, req *GetObjects) error {
	var secret map[string]bool
	if !n.cfg.Secrets {
		secret = n.v.SecretObjects()
	}
	for _, name := range req.Names {
		x.s.SetDeadline(time.Now().Add(idleTimeout))
		var data []byte
		var err error
		if !secret[name] {
			data, err = n.v.ReadObject(name)
		}
		if secret[name] || errors.Is(err, vault.ErrNotFound) || len(data) == 0 {
			if err := x.send(&Object{Name: name, Missing: true}); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInternal, err)
		}
		for off := 0; off < len(data); off += objectChunk {
			end := min(off+objectChunk, len(data))
			if err := x.send(&Object{Name: name, Size: uint64(len(data)), Offset: uint64(off), Data: data[off:end]}); err != nil {
				return err
			}
		}
		n.mu.Lock()
		n.served++
		served, hook := n.served, n.testHook
		n.mu.Unlock()
		if hook != nil {
			if err := x.flush(); err != nil {
				return err
			}
			hook("object-sent", served)
		}
	}
	if err := x.send(&Done{}); err != nil {
		return err
	}
	return x.flush()
}

func (n *Node) serveWraps(x *exchange, req *GetWraps) error {
	ws, err := n.v.Wraps()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	want := map[string]bool{}
	for _, name := range req.Names {
		want[name] = true
	}
	out := &Wraps{}
	for _, w := range ws {
		if want[w.Name] {
			out.List = append(out.List, w)
		}
	}
	if err := x.send(out); err != nil {
		return err
	}
	return x.flush()
}

// servePull pulls from the asking peer, then answers with this device's
// heads.
func (n *Node) servePull(x *exchange, p peer.ID, dev string) error {
	x.s.SetDeadline(time.Now().Add(pullTimeout))
	n.mu.Lock()
	base := n.ctx
	n.mu.Unlock()
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, pullTimeout)
	defer cancel()
	var rep PeerReport
	if err := n.syncPeer(ctx, p, dev, &rep, false); err != nil {
		return err
	}
	done := &Done{}
	for d, h := range n.v.Heads() {
		done.Heads = append(done.Heads, DeviceHead{Device: d, Seq: h.Seq, Hash: h.Hash})
	}
	sortHeads(done.Heads)
	if err := x.send(done); err != nil {
		return err
	}
	return x.flush()
}
