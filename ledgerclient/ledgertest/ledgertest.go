package ledgertest

import (
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/nook-ai/nook/ledgerclient"
)

// Chain is a simulated chain with a deployed registry.
type Chain struct {
	Sim      *simulated.Backend
	Client   *ledgerclient.Client
	Relayer  *ecdsa.PrivateKey // funded; pays for every write
	Owner    *ecdsa.PrivateKey // the identity's key
	Identity common.Address
}

// NewKey returns a fresh secp256k1 key.
func NewKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Ether is n ether in wei.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// New starts a chain (closed when the test ends), deploys the registry and
// returns a client whose writes the relayer pays for and commits at once.
// opts come after those defaults.
func New(tb testing.TB, opts ...ledgerclient.Option) *Chain {
	tb.Helper()
	ch := &Chain{Relayer: NewKey(tb), Owner: NewKey(tb)}
	ch.Identity = ledgerclient.Address(ch.Owner)
	ch.Sim = simulated.NewBackend(types.GenesisAlloc{ledgerclient.Address(ch.Relayer): {Balance: Ether(100)}})
	tb.Cleanup(func() { ch.Sim.Close() })
	opts = append([]ledgerclient.Option{ledgerclient.WithPayer(ch.Relayer), ledgerclient.WithCommit(func() { ch.Sim.Commit() })}, opts...)
	c, err := ledgerclient.New(tb.Context(), ch.Sim.Client(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Deploy(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	ch.Client = c
	return ch
}

// AdjustTime moves the chain's clock. The simulated backend refuses while
// its pending block holds a transaction, which happens when the pool
// promotes a just-sent transaction after the last Commit: commit it and
// try again.
func (ch *Chain) AdjustTime(tb testing.TB, d time.Duration) {
	tb.Helper()
	var err error
	for range 20 {
		if err = ch.Sim.AdjustTime(d); err == nil {
			return
		}
		ch.Sim.Commit()
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("adjust time: %v", err)
}

// FakeNode is a JSON-RPC server that says every grant is valid forever:
// the hostile or mistaken ledger.rpc of the tests. It answers chain id
// 1337 and serves code as any contract's code (a copy of the real
// registry's imitates it best), and counts the requests it gets.
func FakeNode(tb testing.TB, code []byte, requests *atomic.Int64) *httptest.Server {
	tb.Helper()
	head := &types.Header{Number: big.NewInt(7), Difficulty: big.NewInt(0), Time: 1, Extra: []byte("fake")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.Unmarshal(body, &req)
		if requests != nil {
			requests.Add(1)
		}
		var result any
		switch req.Method {
		case "eth_chainId":
			result = "0x539"
		case "eth_getBlockByNumber":
			result = head
		case "eth_getCode":
			result = hexutil.Bytes(code)
		case "eth_call": // any uint256: the largest, "valid forever"
			result = hexutil.Bytes(common.LeftPadBytes(new(big.Int).Lsh(big.NewInt(1), 255).Bytes(), 32))
		default:
			result = "0x0"
		}
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
	tb.Cleanup(srv.Close)
	return srv
}
