package sync

// Error ends a stream with a reason: Code is a wire code (errors.go), Msg
// one line for the log. Either side may send it in place of any message.
type Error struct {
	Code uint64
	Msg  string
}

func (*Error) msgType() msgType { return tError }

func (m *Error) encode(e *encoder) { e.uint(m.Code); e.string(m.Msg) }

func (m *Error) decode(d *decoder) { m.Code = d.uint(); m.Msg = d.string(maxText) }

func (m *Error) err() error { return &RemoteError{Err: errOf(m.Code), Msg: m.Msg} }

// errorMsg is the Error message for err: its sentinel's code and a
// message cut to maxText.
func errorMsg(err error) *Error {
	s := err.Error()
	if len(s) > maxText {
		s = s[:maxText]
	}
	return &Error{Code: codeOf(err), Msg: s}
}
