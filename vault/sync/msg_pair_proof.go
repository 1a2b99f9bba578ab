package sync

// PairProof is the joining device's nonce and its proof that it knows the
// code: HMAC-SHA256 under the key the code derives (pair.go) over both
// peer IDs and both nonces. The joiner proves first.
type PairProof struct {
	Nonce []byte // 32 bytes
	MAC   []byte // 32 bytes
}

func (*PairProof) msgType() msgType { return tPairProof }

func (m *PairProof) encode(e *encoder) { e.b = append(append(e.b, m.Nonce...), m.MAC...) }

func (m *PairProof) decode(d *decoder) { m.Nonce = d.fixed(32); m.MAC = d.fixed(32) }
