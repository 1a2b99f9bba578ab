package sync

// Object carries part of one object as stored (age ciphertext): Data is
// the bytes at Offset of an object of Size bytes, at most objectChunk of
// them; the parts of one object come in order. Missing says the sender
// does not hold the object (Size, Offset and Data are then zero).
type Object struct {
	Name    string
	Size    uint64
	Offset  uint64
	Data    []byte
	Missing bool
}

func (*Object) msgType() msgType { return tObject }

func (m *Object) encode(e *encoder) {
	e.hash(m.Name)
	e.bool(m.Missing)
	e.uint(m.Size)
	e.uint(m.Offset)
	e.bytes(m.Data)
}

func (m *Object) decode(d *decoder) {
	m.Name = d.hash()
	m.Missing = d.bool()
	m.Size = d.uint()
	m.Offset = d.uint()
	m.Data = d.bytes(objectChunk)
	switch {
	case d.err != nil:
	case m.Missing && (m.Size != 0 || m.Offset != 0 || len(m.Data) != 0):
		d.fail("a missing object with data")
	case m.Size > maxObjectData:
		d.fail("object of %d bytes", m.Size)
	case m.Offset > m.Size || uint64(len(m.Data)) > m.Size-m.Offset:
		d.fail("object part past its end")
	}
}
