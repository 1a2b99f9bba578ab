package sync

// PairDevice is the joining device's new device: its address and the
// X25519 recipient key epochs are wrapped to.
type PairDevice struct {
	Device    string
	Recipient string // "age1..."
}

func (*PairDevice) msgType() msgType { return tPairDevice }

func (m *PairDevice) encode(e *encoder) { e.addr(m.Device); e.string(m.Recipient) }

func (m *PairDevice) decode(d *decoder) { m.Device = d.addr(); m.Recipient = d.string(128) }
