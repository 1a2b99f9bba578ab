package sync

// GetEntries asks for Device's log entries from sequence From on, about
// MaxBytes of them (at least one when there is one). The answer is Entries.
type GetEntries struct {
	Device   string
	From     uint64
	MaxBytes uint64
}

func (*GetEntries) msgType() msgType { return tGetEntries }

func (m *GetEntries) encode(e *encoder) { e.addr(m.Device); e.uint(m.From); e.uint(m.MaxBytes) }

func (m *GetEntries) decode(d *decoder) {
	m.Device = d.addr()
	m.From = d.uint()
	m.MaxBytes = d.uint()
	if d.err == nil && m.From == 0 {
		d.fail("entries from 0")
	}
}
