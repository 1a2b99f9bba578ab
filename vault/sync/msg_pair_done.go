package sync

import "github.com/nook-ai/nook/vault"

// PairDone ends pairing: the new device is a delegate on the ledger, and
// these are the key-epoch wraps (every epoch wrapped to it among them) and
// the devices it can sync with.
type PairDone struct {
	Wraps []vault.RawWrap
	Peers []PeerAddrs
}

// PeerAddrs is a device and the multiaddrs it was last reached at.
type PeerAddrs struct {
	Device string
	Addrs  []string
}

func (*PairDone) msgType() msgType { return tPairDone }

func (m *PairDone) encode(e *encoder) {
	encodeWraps(e, m.Wraps)
	e.uint(uint64(len(m.Peers)))
	for _, p := range m.Peers {
		e.addr(p.Device)
		e.strings(p.Addrs)
	}
}

func (m *PairDone) decode(d *decoder) {
	m.Wraps = decodeWraps(d)
	n := d.count(maxDevices)
	for range n {
		m.Peers = append(m.Peers, PeerAddrs{Device: d.addr(), Addrs: d.strings(maxAddrs, 256)})
	}
}
