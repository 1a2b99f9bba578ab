package sync

// PairStart opens a pairing stream (the joining device, on its ephemeral
// key). The answer is PairChallenge, or an Error when no pairing window is
// open.
type PairStart struct {
	Version uint64 // 1
}

func (*PairStart) msgType() msgType { return tPairStart }

func (m *PairStart) encode(e *encoder) { e.uint(m.Version) }

func (m *PairStart) decode(d *decoder) { m.Version = d.uint() }
