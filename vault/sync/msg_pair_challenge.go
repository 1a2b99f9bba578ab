package sync

// PairChallenge is the pairing device's fresh nonce.
type PairChallenge struct {
	Nonce []byte // 32 bytes
}

func (*PairChallenge) msgType() msgType { return tPairChallenge }

func (m *PairChallenge) encode(e *encoder) { e.b = append(e.b, m.Nonce...) }

func (m *PairChallenge) decode(d *decoder) { m.Nonce = d.fixed(32) }
