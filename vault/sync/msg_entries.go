package sync

// Entries answers GetEntries: the device's entries From, From+1, … as
// stored (age ciphertext). An empty list: the sender holds none from there.
type Entries struct {
	Device string
	From   uint64
	Data   [][]byte
}

func (*Entries) msgType() msgType { return tEntries }

func (m *Entries) encode(e *encoder) {
	e.addr(m.Device)
	e.uint(m.From)
	e.uint(uint64(len(m.Data)))
	for _, b := range m.Data {
		e.bytes(b)
	}
}

func (m *Entries) decode(d *decoder) {
	m.Device = d.addr()
	m.From = d.uint()
	n := d.count(1 << 20)
	for range n {
		m.Data = append(m.Data, d.bytes(maxEntryData))
	}
	if d.err == nil && m.From == 0 {
		d.fail("entries from 0")
	}
}
