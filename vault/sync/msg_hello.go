package sync

import "sort"

// Hello opens a sync exchange and is its answer: the vault, the sender's
// device, how far every device's log goes on the sender (sequence and hash
// of its last entry), the key-epoch wraps it holds, whether it sends
// secrets (the "secret" namespace's objects travel only when both say so)
// and the addresses it listens on.
type Hello struct {
	Vault   string
	Device  string
	Heads   []DeviceHead // sorted by device
	Wraps   []string     // wrap names, as vault.RawWrap names them
	Secrets bool
	Addrs   []string
}

// DeviceHead is one device's head as the sender holds it.
type DeviceHead struct {
	Device string
	Seq    uint64
	Hash   string // hex SHA-256 of the entry's plaintext
}

func (*Hello) msgType() msgType { return tHello }

func (m *Hello) encode(e *encoder) {
	e.string(m.Vault)
	e.addr(m.Device)
	encodeHeads(e, m.Heads)
	e.strings(m.Wraps)
	e.bool(m.Secrets)
	e.strings(m.Addrs)
}

func (m *Hello) decode(d *decoder) {
	m.Vault = d.string(64)
	m.Device = d.addr()
	m.Heads = decodeHeads(d)
	m.Wraps = d.strings(maxNames, 128)
	m.Secrets = d.bool()
	m.Addrs = d.strings(maxAddrs, 256)
}

func encodeHeads(e *encoder, hs []DeviceHead) {
	e.uint(uint64(len(hs)))
	for _, h := range hs {
		e.addr(h.Device)
		e.uint(h.Seq)
		e.hash(h.Hash)
	}
}

func decodeHeads(d *decoder) []DeviceHead {
	n := d.count(maxDevices)
	var hs []DeviceHead
	for range n {
		hs = append(hs, DeviceHead{Device: d.addr(), Seq: d.uint(), Hash: d.hash()})
	}
	for i := 1; i < len(hs) && d.err == nil; i++ {
		if hs[i-1].Device >= hs[i].Device {
			d.fail("heads out of order or repeated")
		}
	}
	return hs
}

// sortHeads orders heads by device, as Hello and Done require.
func sortHeads(hs []DeviceHead) {
	sort.Slice(hs, func(i, j int) bool { return hs[i].Device < hs[j].Device })
}
