package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nook-ai/nook/vault"
)

// What a device remembers about sync, with vault.PutLocal (sealed to this
// device, never synced): whether it was paired, the chain the devices
// share, and its peers.

const localState = "sync-state"

// Chain says where the identity's devices are listed: the identity (whose
// nook/device delegates the devices are), the registry, and either an RPC
// URL both devices use or (RPC empty) the embedded chain of the device
// Host, reached over libp2p.
type Chain struct {
	Identity string `json:"identity"`
	ChainID  uint64 `json:"chain_id"`
	Registry string `json:"registry"`
	RPC      string `json:"rpc,omitempty"`
	// Host is the device whose embedded chain this one reads ("" when
	// this device holds the chain, or with RPC).
	Host   string `json:"host,omitempty"`
	HostID string `json:"host_id,omitempty"` // its peer ID
}

// PeerRecord is what a device remembers of a peer.
type PeerRecord struct {
	Device   string    `json:"device"`
	ID       string    `json:"id"` // peer ID
	Addrs    []string  `json:"addrs,omitempty"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	LastSync time.Time `json:"last_sync,omitzero"`
	InSync   bool      `json:"in_sync"`
	LastErr  string    `json:"last_error,omitempty"`
}

type state struct {
	Paired bool                   `json:"paired"`
	Chain  Chain                  `json:"chain"`
	Peers  map[string]*PeerRecord `json:"peers,omitempty"` // by device
}

func loadState(v *vault.Vault) (*state, error) {
	st := &state{Peers: map[string]*PeerRecord{}}
	b, err := v.Local(localState)
	if errors.Is(err, vault.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("sync: local state: %w", err)
	}
	if st.Peers == nil {
		st.Peers = map[string]*PeerRecord{}
	}
	return st, nil
}

func saveState(v *vault.Vault, st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return v.PutLocal(localState, b)
}

// Paired reports whether this vault was ever paired with another device
// (sync is off until it is, unless listen or peer addresses are
// configured), and the chain its devices share.
func Paired(v *vault.Vault) (bool, Chain, error) {
	st, err := loadState(v)
	if err != nil {
		return false, Chain{}, err
	}
	return st.Paired, st.Chain, nil
}

// Peers lists the peers this device remembers.
func Peers(v *vault.Vault) ([]PeerRecord, error) {
	st, err := loadState(v)
	if err != nil {
		return nil, err
	}
	return st.sortedPeers(), nil
}

func (st *state) sortedPeers() []PeerRecord {
	out := make([]PeerRecord, 0, len(st.Peers))
	for _, p := range st.Peers {
		out = append(out, *p)
	}
	sortPeers(out)
	return out
}

func sortPeers(ps []PeerRecord) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Device < ps[j-1].Device; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}
