package ledgerclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Sharing the embedded chain between nook processes on one device: the
// process that opens it (OpenDevChain) holds its data dir and serves the
// node's JSON-RPC on a unix socket in that dir, owner-only; another
// process that finds the chain in use attaches to the socket
// (AttachDevChain) and pays with the same funded key (from the shared
// vault), asking the holder to seal each transaction (nook_commit). When
// the holder exits, the data dir is free and the next process opens the
// chain itself. This is between processes only: syncing the chain between
// devices is vault/sync's.

// IPCName is the socket's name in the chain's data dir.
const IPCName = "nook.ipc"

// maxSocketPath is what fits in sockaddr_un (108 bytes with the NUL) on
// Linux; a longer path gets no socket, and the chain is not shared.
const maxSocketPath = 107

// ipcPath is the socket path for dir, "" when it would not fit.
func ipcPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	p := filepath.Join(abs, IPCName)
	if len(p) > maxSocketPath {
		return ""
	}
	return p
}

// commitAPI is the holder's nook_commit: seal the pending transactions.
type commitAPI struct{ d *DevChain }

// Commit seals a block with the pending transactions.
func (c commitAPI) Commit() {
	c.d.mu.Lock()
	b, closed := c.d.beacon, c.d.closed
	c.d.mu.Unlock()
	if b != nil && !closed {
		b.Commit()
	}
}

// ErrNoHolder: no process serves the chain in dir.
var ErrNoHolder = errors.New("no nook process serves the embedded chain")

// AttachedChain is the embedded chain held by another process, reached
// through its socket.
type AttachedChain struct {
	rc     *rpc.Client
	client *ethclient.Client
	dir    string
}

// AttachDevChain connects to the chain in dir that another process holds.
// It fails with ErrNoHolder when nothing answers on the socket.
func AttachDevChain(ctx context.Context, dir string) (*AttachedChain, error) {
	p := ipcPath(dir)
	if p == "" {
		return nil, fmt.Errorf("ledger: dev chain %s: %w (the socket path is too long)", dir, ErrNoHolder)
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("ledger: dev chain %s: %w", dir, ErrNoHolder)
	}
	rc, err := rpc.DialIPC(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain %s: %w: %v", dir, ErrNoHolder, err)
	}
	ec := ethclient.NewClient(rc)
	if _, err := ec.ChainID(ctx); err != nil {
		rc.Close()
		return nil, fmt.Errorf("ledger: dev chain %s: %w: %v", dir, ErrNoHolder, err)
	}
	return &AttachedChain{rc: rc, client: ec, dir: dir}, nil
}

// Client binds a Client to the held chain, paying with the funded dev
// account's key from ks (the holder made it: the vault is the same).
func (a *AttachedChain) Client(ctx context.Context, ks KeyStore, opts ...Option) (*Client, error) {
	key, err := loadKey(ks, SecretDevChain, ErrNoSecret)
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain %s: %w", a.dir, err)
	}
	commit := func() { _ = a.rc.Call(nil, "nook_commit") }
	opts = append([]Option{WithPayer(key), WithCommit(commit)}, opts...)
	c, err := New(ctx, a.client, opts...)
	if err != nil {
		return nil, err
	}
	addr := crypto.CreateAddress(Address(key), 0)
	code, err := a.client.CodeAt(ctx, addr, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: dev chain registry: %w", err)
	}
	if len(code) == 0 {
		return nil, fmt.Errorf("ledger: dev chain registry: no code at %s yet (the holder deploys it)", addr.Hex())
	}
	return c, c.bind(addr)
}

// Registry is the registry's address on the held chain, for tests.
func (a *AttachedChain) Registry(ks KeyStore) (common.Address, error) {
	key, err := loadKey(ks, SecretDevChain, ErrNoSecret)
	if err != nil {
		return common.Address{}, err
	}
	return crypto.CreateAddress(Address(key), 0), nil
}

// Close drops the connection; the chain runs on in its holder.
func (a *AttachedChain) Close() error {
	a.rc.Close()
	return nil
}
