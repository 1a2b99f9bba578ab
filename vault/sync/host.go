package sync

import (
	"fmt"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Protocol IDs. A new version of a protocol gets a new ID; a device speaks
// the versions it knows.
const (
	ProtocolSync  protocol.ID = "/nook/sync/1.0.0"
	ProtocolPair  protocol.ID = "/nook/pair/1.0.0"
	ProtocolChain protocol.ID = "/nook/chain/1.0.0"
)

// serviceName is the resource manager's service for nook's streams.
const serviceName = "nook-sync"

// DefaultListen is where a paired device listens when [sync] listen is
// not set: every interface, TCP and QUIC, port 4470.
var DefaultListen = []string{
	"/ip4/0.0.0.0/tcp/4470",
	"/ip4/0.0.0.0/udp/4470/quic-v1",
	"/ip6/::/tcp/4470",
	"/ip6/::/udp/4470/quic-v1",
}

// newHost makes a libp2p host with only what nook uses: TCP and QUIC (no
// websocket, WebTransport or WebRTC), no relay, no NAT port mapping, no
// hole punching, no AutoNAT, no metrics, no ping; the gater before any
// stream and a resource manager whose limits cover nook's protocols.
// listen may be empty (no listener).
func newHost(key crypto.PrivKey, listen []string, g connmgr.ConnectionGater) (host.Host, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	// One frame may be a whole log entry (16 MiB): streams may hold that.
	limits.StreamBaseLimit.Memory = 64 << 20
	limits.AddServiceLimit(serviceName,
		rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 512 << 20},
		rcmgr.BaseLimitIncrease{})
	limits.AddServicePeerLimit(serviceName,
		rcmgr.BaseLimit{StreamsInbound: 32, StreamsOutbound: 32, Streams: 64, Memory: 256 << 20},
		rcmgr.BaseLimitIncrease{})
	for _, p := range []struct {
		id           protocol.ID
		all, perPeer rcmgr.BaseLimit
	}{
		{ProtocolSync, rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 512, Memory: 512 << 20},
			rcmgr.BaseLimit{StreamsInbound: 32, StreamsOutbound: 32, Streams: 64, Memory: 256 << 20}},
		{ProtocolPair, rcmgr.BaseLimit{StreamsInbound: 4, StreamsOutbound: 4, Streams: 8, Memory: 16 << 20},
			rcmgr.BaseLimit{StreamsInbound: 1, StreamsOutbound: 1, Streams: 2, Memory: 16 << 20}},
		{ProtocolChain, rcmgr.BaseLimit{StreamsInbound: 64, StreamsOutbound: 64, Streams: 128, Memory: 64 << 20},
			rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 16, Streams: 32, Memory: 32 << 20}},
	} {
		limits.AddProtocolLimit(p.id, p.all, rcmgr.BaseLimitIncrease{})
		limits.AddProtocolPeerLimit(p.id, p.perPeer, rcmgr.BaseLimitIncrease{})
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("sync: resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.DisableRelay(),
		libp2p.ResourceManager(rm),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("nook"),
		// Identify is trimmed to what nook needs: no ping protocol to
		// announce (nook never pings: the muxer's keep-alives hold a
		// connection), and no address discovery from what peers observe
		// (no NAT traversal; it would only churn the listen addresses
		// and push identify again on every open connection).
		libp2p.Ping(false),
		libp2p.DisableIdentifyAddressDiscovery(),
	}
	if g != nil {
		opts = append(opts, libp2p.ConnectionGater(g))
	}
	if len(listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(listen...))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("sync: start libp2p host: %w", err)
	}
	return h, nil
}
