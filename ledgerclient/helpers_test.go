package ledgerclient_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/nook-ai/nook/ledgerclient"
)

// memKeys is an in-memory KeyStore.
type memKeys struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemKeys() *memKeys { return &memKeys{m: map[string][]byte{}} }

func (k *memKeys) Secret(name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[name]
	if !ok {
		return nil, fmt.Errorf("memkeys: %q: %w", name, ledgerclient.ErrNoSecret)
	}
	return append([]byte(nil), v...), nil
}

func (k *memKeys) PutSecret(name string, data []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[name] = append([]byte(nil), data...)
	return nil
}

var _ ledgerclient.KeyStore = (*memKeys)(nil)

// simEnv is a simulated chain with a deployed registry, a funded relayer
// that pays for every write, and an identity with no ether.
type simEnv struct {
	sim     *simulated.Backend
	c       *ledgerclient.Client
	relayer *ecdsa.PrivateKey
	owner   *ecdsa.PrivateKey // the identity's key
	id      common.Address
	plugin  common.Address
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

func newSimEnv(t *testing.T, opts ...ledgerclient.Option) *simEnv {
	t.Helper()
	e := &simEnv{relayer: newKey(t), owner: newKey(t)}
	e.id = ledgerclient.Address(e.owner)
	e.plugin = ledgerclient.Address(newKey(t))
	e.sim = simulated.NewBackend(types.GenesisAlloc{ledgerclient.Address(e.relayer): {Balance: ether(100)}})
	t.Cleanup(func() { e.sim.Close() })
	opts = append([]ledgerclient.Option{ledgerclient.WithPayer(e.relayer), ledgerclient.WithCommit(func() { e.sim.Commit() })}, opts...)
	c, err := ledgerclient.New(t.Context(), e.sim.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func mustCheck(t *testing.T, c *ledgerclient.Client, id, plugin common.Address, scope string) ledgerclient.Decision {
	t.Helper()
	d, err := c.Check(context.Background(), id, plugin, scope)
	if err != nil {
		t.Fatalf("Check(%s): %v", scope, err)
	}
	return d
}

const day = 24 * time.Hour

// adjustTime moves the simulated chain's clock. The simulated backend
// refuses while its pending block holds a transaction, which happens when
// the pool promotes a just-sent transaction after the last Commit: commit
// it and try again.
func adjustTime(t *testing.T, sim *simulated.Backend, d time.Duration) {
	t.Helper()
	var err error
	for range 20 {
		if err = sim.AdjustTime(d); err == nil {
			return
		}
		sim.Commit()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("adjust time: %v", err)
}
