package sync

// GetWraps asks for key-epoch wraps by name. The answer is Wraps.
type GetWraps struct {
	Names []string
}

func (*GetWraps) msgType() msgType { return tGetWraps }

func (m *GetWraps) encode(e *encoder) { e.strings(m.Names) }

func (m *GetWraps) decode(d *decoder) { m.Names = d.strings(maxNames, 128) }
