package sync

// Pull asks the peer to pull from the sender now (the sender has entries
// or objects the peer lacks). The answer, once the peer has pulled, is
// Done with the peer's heads, or an Error.
type Pull struct{}

func (*Pull) msgType() msgType { return tPull }

func (*Pull) encode(*encoder) {}

func (*Pull) decode(*decoder) {}
