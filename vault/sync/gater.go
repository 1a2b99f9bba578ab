package sync

import (
	"fmt"
	stdsync "sync"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/nook-ai/nook/vault"
	"github.com/nook-ai/nook/vault/internal/format"
)

// The gate. A device's libp2p key is its vault device key (secp256k1), so
// a peer ID embeds the public key the device's Ethereum address is derived
// from. The gater admits a connection at InterceptSecured — the first
// point where the remote key is authenticated, before any stream — and an
// outbound dial at InterceptPeerDial, only when the device cache says the
// address is a valid nook/device delegate now. Two narrow exceptions, both
// for peers the stream handlers then hold to one protocol:
//   - while a pairing window is open, an unknown inbound peer is admitted
//     for /nook/pair only (every other protocol resets its streams);
//   - while the device list is missing or too old, the device this one
//     reads the embedded chain from is admitted for /nook/chain only, so
//     that the list can be refreshed.
//
// Every refusal is logged with the peer ID and the reason.

// hostKey is the libp2p key of a vault's device.
func hostKey(v *vault.Vault) (crypto.PrivKey, error) {
	k, err := crypto.UnmarshalSecp256k1PrivateKey(v.DeviceKey())
	if err != nil {
		return nil, fmt.Errorf("sync: device key: %w", err)
	}
	return k, nil
}

// DeviceOf returns the device address (EIP-55) of a peer ID: its embedded
// secp256k1 public key's Ethereum address.
func DeviceOf(p peer.ID) (string, error) {
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return "", fmt.Errorf("sync: peer %s: %w", p, err)
	}
	if pk.Type() != crypto.Secp256k1 {
		return "", fmt.Errorf("sync: peer %s: not a device key (%s)", p, pk.Type())
	}
	raw, err := pk.Raw()
	if err != nil {
		return "", fmt.Errorf("sync: peer %s: %w", p, err)
	}
	pub, err := secp256k1.ParsePubKey(raw)
	if err != nil {
		return "", fmt.Errorf("sync: peer %s: %w", p, err)
	}
	return format.AddressOf(pub), nil
}

// PeerIDOf returns the peer ID of a vault's device.
func PeerIDOf(v *vault.Vault) (peer.ID, error) {
	k, err := hostKey(v)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(k)
}

type gater struct {
	n *Node

	mu     stdsync.Mutex
	logged map[string]time.Time // peer + reason → last logged
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.admit(p, network.DirOutbound) }

func (g *gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.admit(p, dir)
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// admit decides for one connection.
func (g *gater) admit(p peer.ID, dir network.Direction) bool {
	n := g.n
	dev, err := DeviceOf(p)
	why := ""
	if err == nil {
		var ok bool
		if ok, why = n.devices.allowed(dev); ok {
			return true
		}
	} else {
		why = err.Error()
	}
	if dir == network.DirInbound && n.pairingOpen() {
		n.addGuest(p)
		n.log.Info("sync: pairing window open: admitted an unknown peer for pairing only", "peer", p.String())
		return true
	}
	if err == nil && dev == n.chainHost && n.devices.stale() {
		n.log.Info("sync: device list missing or old: admitted the chain host for the chain only", "peer", p.String(), "device", dev)
		return true
	}
	g.refused(p, dev, why)
	return false
}

// refused logs a refusal, once a minute per peer and reason.
func (g *gater) refused(p peer.ID, dev, why string) {
	g.n.countRefusal(p)
	key := p.String() + " " + why
	now := time.Now()
	g.mu.Lock()
	if g.logged == nil {
		g.logged = map[string]time.Time{}
	}
	last, seen := g.logged[key]
	log := !seen || now.Sub(last) > time.Minute
	if log {
		g.logged[key] = now
	}
	g.mu.Unlock()
	if log {
		g.n.log.Warn("sync: refused peer", "peer", p.String(), "device", dev, "reason", why)
	}
}
