package sync

// PairAccept is the pairing device's proof that it knows the code too, and
// what the joining device needs to become a device of the vault: the
// vault id, the identity whose nook/device delegates the devices are, and
// the chain that holds them — an RPC URL, or (ChainRPC empty) the embedded
// chain of ChainHost, reached over libp2p.
type PairAccept struct {
	MAC       []byte // 32 bytes
	Vault     string
	Identity  string // address
	ChainID   uint64
	Registry  string // address
	ChainRPC  string
	ChainHost string // device address
	Host      string // the pairing device's address
}

func (*PairAccept) msgType() msgType { return tPairAccept }

func (m *PairAccept) encode(e *encoder) {
	e.b = append(e.b, m.MAC...)
	e.string(m.Vault)
	e.addr(m.Identity)
	e.uint(m.ChainID)
	e.addr(m.Registry)
	e.string(m.ChainRPC)
	e.addr(m.ChainHost)
	e.addr(m.Host)
}

func (m *PairAccept) decode(d *decoder) {
	m.MAC = d.fixed(32)
	m.Vault = d.string(64)
	m.Identity = d.addr()
	m.ChainID = d.uint()
	m.Registry = d.addr()
	m.ChainRPC = d.string(maxText)
	m.ChainHost = d.addr()
	m.Host = d.addr()
}
