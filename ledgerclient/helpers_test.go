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
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
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
	ch      *ledgertest.Chain
	sim     *simulated.Backend
	c       *ledgerclient.Client
	relayer *ecdsa.PrivateKey
	owner   *ecdsa.PrivateKey // the identity's key
	id      common.Address
	plugin  common.Address
}

func newKey(t *testing.T) *ecdsa.PrivateKey { return ledgertest.NewKey(t) }

func ether(n int64) *big.Int { return ledgertest.Ether(n) }

func newSimEnv(t *testing.T, opts ...ledgerclient.Option) *simEnv {
	t.Helper()
	ch := ledgertest.New(t, opts...)
	return &simEnv{ch: ch, sim: ch.Sim, c: ch.Client, relayer: ch.Relayer, owner: ch.Owner, id: ch.Identity, plugin: ledgerclient.Address(newKey(t))}
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
