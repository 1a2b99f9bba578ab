package sync

import "github.com/nook-ai/nook/vault"

// Wraps answers GetWraps (and ends pairing, in PairDone): key-epoch wraps
// as stored, each sealed to one device's X25519 recipient.
type Wraps struct {
	List []vault.RawWrap
}

func (*Wraps) msgType() msgType { return tWraps }

func (m *Wraps) encode(e *encoder) { encodeWraps(e, m.List) }

func (m *Wraps) decode(d *decoder) { m.List = decodeWraps(d) }

func encodeWraps(e *encoder, ws []vault.RawWrap) {
	e.uint(uint64(len(ws)))
	for _, w := range ws {
		e.string(w.Name)
		e.bytes(w.Data)
	}
}

func decodeWraps(d *decoder) []vault.RawWrap {
	n := d.count(maxNames)
	var ws []vault.RawWrap
	for range n {
		ws = append(ws, vault.RawWrap{Name: d.string(128), Data: d.bytes(maxWrapData)})
	}
	return ws
}
