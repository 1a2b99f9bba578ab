package sync

// Done ends an object transfer (after the last Object) and answers Pull
// with the sender's heads once it has pulled.
type Done struct {
	Heads []DeviceHead // sorted by device; empty after objects
}

func (*Done) msgType() msgType { return tDone }

func (m *Done) encode(e *encoder) { encodeHeads(e, m.Heads) }

func (m *Done) decode(d *decoder) { m.Heads = decodeHeads(d) }
