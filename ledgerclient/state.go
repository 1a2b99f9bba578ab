package ledgerclient

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nook-ai/nook/ledgerclient/contracts"
)

// State is an identity rebuilt from the registry's events alone, the way a
// did:ethr resolver does it: start at changed[identity], read that block's
// events for the identity, follow previousChange back to the first one, and
// apply them in order. A fresh device needs nothing but the chain.
type State struct {
	Identity   common.Address
	Owner      common.Address
	Block      uint64    // the head block the replay read
	Time       time.Time // that block's time
	Delegates  []Delegate
	Attributes []Attribute
	Events     int // how many events were replayed
}

// Delegate is the latest DIDDelegateChanged for one (type, delegate).
type Delegate struct {
	Type     [32]byte
	Delegate common.Address
	ValidTo  time.Time
	Block    uint64
}

// Attribute is the latest DIDAttributeChanged for one (name, value).
type Attribute struct {
	Name    [32]byte
	Value   []byte
	ValidTo time.Time // zero: revoked
	Block   uint64
}

// State replays identity's events up to the head block.
func (c *Client) State(ctx context.Context, identity common.Address) (*State, error) {
	reg, err := c.registry()
	if err != nil {
		return nil, err
	}
	head, err := c.b.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, wrapRPC("ledger: replay: head", err)
	}
	at := &bind.CallOpts{Context: ctx, BlockNumber: head.Number}
	changed, err := reg.Changed(at, identity)
	if err != nil {
		return nil, wrapRPC("ledger: replay: changed", err)
	}
	// Walk back block by block; within a block, keep log order.
	var blocks [][]types.Log
	for b := changed.Uint64(); b != 0; {
		logs, err := c.b.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(b),
			ToBlock:   new(big.Int).SetUint64(b),
			Addresses: []common.Address{c.regAddr},
			Topics:    [][]common.Hash{nil, {common.BytesToHash(identity.Bytes())}},
		})
		if err != nil {
			return nil, wrapRPC(fmt.Sprintf("ledger: replay: logs of block %d", b), err)
		}
		if len(logs) == 0 {
			return nil, fmt.Errorf("ledger: replay: block %d has no events for %s (pruned logs?)", b, identity.Hex())
		}
		blocks = append(blocks, logs)
		prev, err := previousChange(reg, logs[0])
		if err != nil {
			return nil, err
		}
		if prev >= b {
			return nil, fmt.Errorf("ledger: replay: block %d points forward to %d", b, prev)
		}
		b = prev
	}
	s := &State{Identity: identity, Owner: identity, Block: head.Number.Uint64(), Time: time.Unix(int64(head.Time), 0)}
	delegates := map[[52]byte]int{}
	attrs := map[string]int{}
	for _, logs := range slices.Backward(blocks) {
		for _, l := range logs {
			if l.Removed {
				continue
			}
			s.Events++
			switch l.Topics[0] {
			case registryABI.Events["DIDOwnerChanged"].ID:
				ev, err := reg.ParseDIDOwnerChanged(l)
				if err != nil {
					return nil, fmt.Errorf("ledger: replay: %w", err)
				}
				s.Owner = ev.Owner
			case registryABI.Events["DIDDelegateChanged"].ID:
				ev, err := reg.ParseDIDDelegateChanged(l)
				if err != nil {
					return nil, fmt.Errorf("ledger: replay: %w", err)
				}
				d := Delegate{Type: ev.DelegateType, Delegate: ev.Delegate, ValidTo: unixTime(ev.ValidTo), Block: l.BlockNumber}
				var k [52]byte
				copy(k[:32], d.Type[:])
				copy(k[32:], d.Delegate[:])
				if i, ok := delegates[k]; ok {
					s.Delegates[i] = d
				} else {
					delegates[k] = len(s.Delegates)
					s.Delegates = append(s.Delegates, d)
				}
			case registryABI.Events["DIDAttributeChanged"].ID:
				ev, err := reg.ParseDIDAttributeChanged(l)
				if err != nil {
					return nil, fmt.Errorf("ledger: replay: %w", err)
				}
				a := Attribute{Name: ev.Name, Value: ev.Value, ValidTo: unixTime(ev.ValidTo), Block: l.BlockNumber}
				k := string(a.Name[:]) + string(a.Value)
				if i, ok := attrs[k]; ok {
					s.Attributes[i] = a
				} else {
					attrs[k] = len(s.Attributes)
					s.Attributes = append(s.Attributes, a)
				}
			}
		}
	}
	return s, nil
}

// previousChange reads the previousChange field of any registry event.
func previousChange(reg *contracts.Registry, l types.Log) (uint64, error) {
	if len(l.Topics) == 0 {
		return 0, fmt.Errorf("ledger: replay: log without topics in block %d", l.BlockNumber)
	}
	var prev *big.Int
	switch l.Topics[0] {
	case registryABI.Events["DIDOwnerChanged"].ID:
		ev, err := reg.ParseDIDOwnerChanged(l)
		if err != nil {
			return 0, fmt.Errorf("ledger: replay: %w", err)
		}
		prev = ev.PreviousChange
	case registryABI.Events["DIDDelegateChanged"].ID:
		ev, err := reg.ParseDIDDelegateChanged(l)
		if err != nil {
			return 0, fmt.Errorf("ledger: replay: %w", err)
		}
		prev = ev.PreviousChange
	case registryABI.Events["DIDAttributeChanged"].ID:
		ev, err := reg.ParseDIDAttributeChanged(l)
		if err != nil {
			return 0, fmt.Errorf("ledger: replay: %w", err)
		}
		prev = ev.PreviousChange
	default:
		return 0, fmt.Errorf("ledger: replay: unknown event %s in block %d", l.Topics[0].Hex(), l.BlockNumber)
	}
	if !prev.IsUint64() {
		return 0, fmt.Errorf("ledger: replay: previousChange %s out of range", prev)
	}
	return prev.Uint64(), nil
}

// scopes maps the delegate types kind gives to the scope names published
// (AttrScope).
func (s *State) scopes(kind func(string) [32]byte) map[[32]byte]string {
	m := map[[32]byte]string{}
	for _, a := range s.Attributes {
		if a.Name == AttrScope && !a.ValidTo.IsZero() {
			m[kind(string(a.Value))] = string(a.Value)
		}
	}
	return m
}

// scopeNamed reports whether scope's name is published (AttrScope).
func (s *State) scopeNamed(scope string) bool {
	_, ok := s.scopes(PlugType)[PlugType(scope)]
	return ok
}

// Grants are the identity's delegates other than devices and apps (see
// AppGrants), active or ended,
// with scope names filled in where published (AttrScope).
func (s *State) Grants() []Grant {
	names := s.scopes(PlugType)
	apps := s.scopes(AppType)
	var gs []Grant
	for _, d := range s.Delegates {
		if _, app := apps[d.Type]; app || d.Type == DeviceType {
			continue
		}
		name := names[d.Type] // "" when no name was published for the type
		gs = append(gs, Grant{Plugin: d.Delegate, Scope: name, Type: d.Type, Expires: d.ValidTo})
	}
	return gs
}

// Device is a nook/device delegate.
type Device struct {
	Address common.Address
	Expires time.Time
}

// Active reports whether the device is a valid delegate at now.
func (d Device) Active(now time.Time) bool { return d.Expires.After(now) }

// Devices are the identity's devices, active or ended.
func (s *State) Devices() []Device {
	var ds []Device
	for _, d := range s.Delegates {
		if d.Type == DeviceType {
			ds = append(ds, Device{Address: d.Delegate, Expires: d.ValidTo})
		}
	}
	return ds
}

// Recipients are the published X25519 keys (AttrX25519) still valid at now.
func (s *State) Recipients(now time.Time) [][]byte {
	var rs [][]byte
	for _, a := range s.Attributes {
		if a.Name == AttrX25519 && a.ValidTo.After(now) {
			rs = append(rs, a.Value)
		}
	}
	return rs
}
