package sync

// GetObjects asks for objects by name. The answer is, for each name in
// order, its Object frames (or one with Missing set), then Done.
type GetObjects struct {
	Names []string // 64 hex digits each
}

func (*GetObjects) msgType() msgType { return tGetObjects }

func (m *GetObjects) encode(e *encoder) {
	e.uint(uint64(len(m.Names)))
	for _, n := range m.Names {
		e.hash(n)
	}
}

func (m *GetObjects) decode(d *decoder) {
	n := d.count(maxNames)
	for range n {
		m.Names = append(m.Names, d.hash())
	}
}
