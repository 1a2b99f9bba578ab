package ledgerclient

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/rpc"
)

// DevChainID is the embedded chain's id (the same as geth --dev's).
const DevChainID = 1337

// ErrChainInUse: another process holds the embedded chain's data dir.
var ErrChainInUse = errors.New("the embedded chain is open in another process")

// DevChain is the embedded single-node chain: what `geth --dev --datadir`
// assembles, in process — a node with a data dir, the eth service on a dev
// genesis that funds one account, and the catalyst simulated beacon sealing
// a block whenever a transaction is sent (Commit). No P2P, no HTTP: the
// client talks to it through the node's in-process RPC, and other nook
// processes through an owner-only unix socket in its dir (share.go).
//
// State persists across Close and OpenDevChain on the same dir. The state
// scheme is hash-based with pruning off (geth's archive mode), so every
// block's state is on disk when the block is, and an unclean exit does not
// rewind the chain. The funded account's key lives in the KeyStore
// (SecretDevChain) so it is the same account after a restart.
type DevChain struct {
	stack  *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	client *ethclient.Client
	key    *ecdsa.PrivateKey

	mu     sync.Mutex
	closed bool
}

var quietGeth sync.Once

// OpenDevChain starts (creating on first use) the embedded chain in dir.
func OpenDevChain(dir string, ks KeyStore) (*DevChain, error) {
	quietGeth.Do(func() { log.SetDefault(log.NewLogger(log.DiscardHandler())) })
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: dev chain: %w", err)
	}
	// The data dir's lock first: a process that finds the chain in use
	// must not make a funded key of its own (the holder's is the one).
	stack, err := node.New(&node.Config{
		Name:              "nook",
		DataDir:           dir,
		UseLightweightKDF: true,
		P2P:               p2p.Config{MaxPeers: 0, NoDiscovery: true, NoDial: true, ListenAddr: ""},
		// Other nook processes attach here (share.go); "" = no socket.
		IPCPath: ipcPath(dir),
	})
	if errors.Is(err, node.ErrDatadirUsed) {
		return nil, fmt.Errorf("ledger: dev chain %s: %w", dir, ErrChainInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain %s: %w", dir, err)
	}
	fail := func(err error) (*DevChain, error) {
		stack.Close()
		return nil, fmt.Errorf("ledger: dev chain %s: %w", dir, err)
	}
	key, err := loadOrCreateKey(ks, SecretDevChain)
	if err != nil {
		return fail(err)
	}
	dev := Address(key)
	genesis, err := devGenesis(stack, dev)
	if err != nil {
		return fail(err)
	}
	cfg := ethconfig.Defaults
	cfg.NetworkId = DevChainID
	cfg.Genesis = genesis
	cfg.SyncMode = ethconfig.FullSync
	cfg.NoPruning = true
	cfg.StateScheme = rawdb.HashScheme
	cfg.LogNoHistory = true // a handful of blocks: scan them, no index to build
	cfg.TxPool.NoLocals = true
	cfg.Miner.PendingFeeRecipient = dev
	backend, err := eth.New(stack, &cfg)
	if err != nil {
		return fail(err)
	}
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	d := &DevChain{stack: stack, eth: backend, key: key}
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}, {Namespace: "nook", Service: commitAPI{d}}})
	if err := stack.Start(); err != nil {
		return fail(err)
	}
	// Like the simulated backend (and unlike geth's main), the beacon is
	// made once the node runs; with period 0 it only seals on Commit.
	beacon, err := catalyst.NewSimulatedBeacon(0, dev, backend)
	if err != nil {
		return fail(err)
	}
	if err := beacon.Start(); err != nil {
		return fail(err)
	}
	d.mu.Lock()
	d.beacon, d.client = beacon, ethclient.NewClient(stack.Attach())
	d.mu.Unlock()
	return d, nil
}

// devGenesis is the dev genesis on a new data dir, and nil (use the stored
// one) when the data dir already holds a chain, as geth --dev does.
func devGenesis(stack *node.Node, dev common.Address) (*core.Genesis, error) {
	if rawdb.PreexistingDatabase(stack.ResolvePath("chaindata")) != "" {
		db, err := stack.OpenDatabaseWithOptions("chaindata", node.DatabaseOptions{ReadOnly: true})
		if err != nil {
			return nil, err
		}
		stored := rawdb.ReadCanonicalHash(db, 0)
		db.Close()
		if stored != (common.Hash{}) {
			return nil, nil
		}
	}
	return core.DeveloperGenesisBlock(ethconfig.Defaults.Miner.GasCeil, &dev), nil
}

// Backend is the chain's in-process RPC client.
func (d *DevChain) Backend() Backend { return d.client }

// Commit seals a block with the pending transactions.
func (d *DevChain) Commit() { d.beacon.Commit() }

// Payer is the funded dev account.
func (d *DevChain) Payer() *ecdsa.PrivateKey { return d.key }

// RegistryAddress is where the dev account's first transaction (the
// registry's deployment) puts the registry.
func (d *DevChain) RegistryAddress() common.Address {
	return crypto.CreateAddress(Address(d.key), 0)
}

// Client binds a Client to the chain, paying with the dev account (owners
// sign, the dev account relays), and deploys the registry on first use.
func (d *DevChain) Client(ctx context.Context, opts ...Option) (*Client, error) {
	opts = append([]Option{WithPayer(d.key), WithCommit(d.Commit)}, opts...)
	c, err := New(ctx, d.client, opts...)
	if err != nil {
		return nil, err
	}
	addr := d.RegistryAddress()
	code, err := d.client.CodeAt(ctx, addr, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain registry: %w", err)
	}
	if len(code) > 0 {
		return c, c.bind(addr)
	}
	nonce, err := d.client.NonceAt(ctx, Address(d.key), nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain registry: %w", err)
	}
	if nonce != 0 {
		return nil, fmt.Errorf("ledger: dev chain registry: no code at %s and the dev account has sent %d transactions", addr.Hex(), nonce)
	}
	got, err := c.Deploy(ctx)
	if err != nil {
		return nil, err
	}
	if got != addr {
		return nil, fmt.Errorf("ledger: dev chain registry deployed at %s, want %s", got.Hex(), addr.Hex())
	}
	return c, nil
}

// Close stops the chain, writing what it holds in memory to disk.
func (d *DevChain) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.client.Close()
	_ = d.beacon.Stop()
	if err := d.stack.Close(); err != nil {
		return fmt.Errorf("ledger: close dev chain: %w", err)
	}
	return nil
}
