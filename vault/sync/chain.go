package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/nook-ai/nook/ledgerclient"
)

// The chain over libp2p. A device on the embedded chain (a geth node in
// process, no network of its own) offers it to its paired devices as
// /nook/chain/1.0.0: one HTTP/1.1 JSON-RPC request per stream, on a
// connection the gate admitted, read-only methods only, requests of at
// most maxChainRequest bytes and answers of at most maxChainResponse. A
// device that joined it reads the device list (and anything else the
// ledger client reads) through an ethclient whose HTTP transport is such a
// stream to the device it paired with (Chain.Host, pinned at pairing).

const (
	maxChainRequest  = 256 << 10
	maxChainResponse = 16 << 20
	maxChainBatch    = 64
	chainTimeout     = 30 * time.Second
)

// chainMethods are the JSON-RPC methods offered: reads. A paired device
// can neither send transactions through another device's chain nor spend
// its funded account.
var chainMethods = map[string]bool{
	"eth_chainId": true, "net_version": true, "eth_blockNumber": true,
	"eth_getBlockByNumber": true, "eth_getBlockByHash": true, "eth_call": true,
	"eth_getLogs": true, "eth_getCode": true, "eth_getStorageAt": true,
	"eth_getBalance": true, "eth_getTransactionCount": true,
	"eth_getTransactionReceipt": true, "eth_getTransactionByHash": true,
}

func (n *Node) handleChain(s network.Stream) {
	p := s.Conn().RemotePeer()
	n.countStream(p)
	if _, ok := n.isDevice(p); !ok {
		n.log.Warn("sync: reset a chain stream from a peer that is not an admitted device", "peer", p.String())
		s.Reset()
		return
	}
	if err := s.Scope().SetService(serviceName); err != nil {
		s.Reset()
		return
	}
	if err := s.Scope().ReserveMemory(maxChainRequest, network.ReservationPriorityAlways); err != nil {
		s.Reset()
		return
	}
	defer s.Scope().ReleaseMemory(maxChainRequest)
	s.SetDeadline(time.Now().Add(chainTimeout))
	defer s.Close()
	req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(s, maxChainRequest+16<<10)))
	if err != nil {
		n.badPeer(p, "", fmt.Errorf("%w: chain request: %v", ErrProtocol, err))
		s.Reset()
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxChainRequest+1))
	status, out := http.StatusOK, []byte(nil)
	switch {
	case err != nil:
		status = http.StatusBadRequest
	case len(body) > maxChainRequest:
		status = http.StatusRequestEntityTooLarge
	default:
		ctx, cancel := context.WithTimeout(context.Background(), chainTimeout)
		out = n.serveRPC(ctx, body)
		cancel()
	}
	resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		ContentLength: int64(len(out)), Body: io.NopCloser(bytes.NewReader(out))}
	resp.Header.Set("Content-Type", "application/json")
	resp.Write(s)
}

type rpcRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// serveRPC answers a JSON-RPC request or batch from the served chain.
func (n *Node) serveRPC(ctx context.Context, body []byte) []byte {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var reqs []rpcRequest
		if err := json.Unmarshal(body, &reqs); err != nil || len(reqs) == 0 || len(reqs) > maxChainBatch {
			out, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", Error: &rpcError{Code: -32600, Message: "bad batch"}})
			return out
		}
		resps := make([]rpcResponse, len(reqs))
		for i := range reqs {
			resps[i] = n.callChain(ctx, &reqs[i])
		}
		out, _ := json.Marshal(resps)
		return out
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		out, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", Error: &rpcError{Code: -32700, Message: "parse error"}})
		return out
	}
	out, _ := json.Marshal(n.callChain(ctx, &req))
	return out
}

func (n *Node) callChain(ctx context.Context, req *rpcRequest) rpcResponse {
	resp := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	if !chainMethods[req.Method] {
		resp.Error = &rpcError{Code: -32601, Message: "method " + strconv.Quote(req.Method) + " is not offered over nook's chain link (read-only)"}
		return resp
	}
	var params []json.RawMessage
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			resp.Error = &rpcError{Code: -32602, Message: "params must be an array"}
			return resp
		}
	}
	args := make([]any, len(params))
	for i, p := range params {
		args[i] = p
	}
	var result json.RawMessage
	if err := n.cfg.ServeChain.CallContext(ctx, &result, req.Method, args...); err != nil {
		e := &rpcError{Code: -32000, Message: err.Error()}
		var re rpc.Error
		if errors.As(err, &re) {
			e.Code = re.ErrorCode()
		}
		var de rpc.DataError
		if errors.As(err, &de) {
			e.Data = de.ErrorData()
		}
		resp.Error = e
		return resp
	}
	resp.Result = result
	return resp
}

// chainTransport carries HTTP requests as /nook/chain streams to host.
type chainTransport struct {
	n    *Node
	host peer.ID
}

func (t *chainTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.n.Host()
	if h == nil {
		return nil, fmt.Errorf("sync: chain: %w", ErrNotPaired)
	}
	s, err := h.NewStream(req.Context(), t.host, ProtocolChain)
	if err != nil {
		return nil, fmt.Errorf("sync: chain host %s: %w", t.host, err)
	}
	if err := s.Scope().SetService(serviceName); err != nil {
		s.Reset()
		return nil, err
	}
	s.SetDeadline(time.Now().Add(chainTimeout))
	if err := req.Write(s); err != nil {
		s.Reset()
		return nil, fmt.Errorf("sync: chain request: %w", err)
	}
	s.CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(s), req)
	if err != nil {
		s.Reset()
		return nil, fmt.Errorf("sync: chain answer: %w", err)
	}
	resp.Body = &streamBody{Reader: io.LimitReader(resp.Body, maxChainResponse), s: s}
	return resp, nil
}

type streamBody struct {
	io.Reader
	s network.Stream
}

func (b *streamBody) Close() error { return b.s.Close() }

// chainLedger reads the device list from another device's embedded chain.
type chainLedger struct {
	n     *Node
	chain Chain

	mu stdsync.Mutex
	c  *ledgerclient.Client
}

func (l *chainLedger) client(ctx context.Context) (*ledgerclient.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		return l.c, nil
	}
	hc := l.httpClient()
	if hc == nil {
		return nil, fmt.Errorf("sync: chain host %q is not a peer ID", l.chain.HostID)
	}
	rc, err := rpc.DialOptions(ctx, "http://nook-chain.invalid/", rpc.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("sync: chain over libp2p: %w", err)
	}
	c, err := ledgerclient.New(ctx, ethclient.NewClient(rc), ledgerclient.WithRegistry(common.HexToAddress(l.chain.Registry)))
	if err != nil {
		rc.Close()
		return nil, err
	}
	if got := c.ChainID().Uint64(); got != l.chain.ChainID {
		rc.Close()
		return nil, fmt.Errorf("sync: the chain host's chain is %d, paired on %d", got, l.chain.ChainID)
	}
	l.c = c
	return c, nil
}

// httpClient carries HTTP to the chain host over libp2p.
func (l *chainLedger) httpClient() *http.Client {
	id, err := peer.Decode(l.chain.HostID)
	if err != nil {
		return nil
	}
	return &http.Client{Transport: &chainTransport{n: l.n, host: id}}
}

func (l *chainLedger) Devices(ctx context.Context) (map[string]time.Time, time.Time, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	return LedgerDevices{Client: c, Identity: common.HexToAddress(l.chain.Identity)}.Devices(ctx)
}

// Ledger returns a ledger client for the chain this device's devices are
// listed on, when that is another device's embedded chain reached over
// libp2p (nil otherwise: use ledger.rpc or this device's own chain).
func (n *Node) Ledger(ctx context.Context) (*ledgerclient.Client, error) {
	src := n.deviceSource()
	if l, ok := src.(*chainLedger); ok {
		return l.client(ctx)
	}
	return nil, nil
}
