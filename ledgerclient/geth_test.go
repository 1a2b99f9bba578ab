package ledgerclient_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nook-ai/nook/ledgerclient"
)

// TestGrantCycleOnARealGethDevNode runs the grant/revoke cycle against a
// `geth --dev` process (built by .ci/setup-geth from the go-ethereum version
// in go.mod) listening on 127.0.0.1 only, started and stopped here.
func TestGrantCycleOnARealGethDevNode(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a geth --dev process")
	}
	t.Parallel()
	geth := gethBinary(t)
	url := startGeth(t, geth)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	relayer, owner := newKey(t), newKey(t)
	fundFromDevAccount(ctx, t, ec.Client(), ledgerclient.Address(relayer))

	c, err := ledgerclient.New(ctx, ec, ledgerclient.WithPayer(relayer))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ChainID().Int64(); got != ledgerclient.DevChainID {
		t.Errorf("geth --dev chain id %d, want %d", got, ledgerclient.DevChainID)
	}
	if _, err := c.Deploy(ctx); err != nil {
		t.Fatal(err)
	}
	id, plugin := ledgerclient.Address(owner), ledgerclient.Address(newKey(t))
	if _, err := c.Grant(ctx, owner, id, plugin, "vault:read", 30*day); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, c, id, plugin, "vault:read"); !d.Allowed {
		t.Fatalf("after the grant: %+v", d)
	}
	if err := c.Revoke(ctx, owner, id, plugin, "vault:read"); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, c, id, plugin, "vault:read"); d.Allowed {
		t.Fatalf("after the revoke: %+v", d)
	}
	st, err := c.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if gs := st.Grants(); len(gs) != 1 || gs[0].Scope != "vault:read" || gs[0].Active(st.Time) {
		t.Fatalf("replayed grants: %+v, want one ended vault:read grant", gs)
	}
}

// gethBinary is build/tools/geth, built by .ci/setup-geth when missing.
func gethBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	geth := filepath.Join(root, "build", "tools", "geth")
	cmd := exec.Command("bash", filepath.Join(root, ".ci", "setup-geth"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf(".ci/setup-geth: %v\n%s", err, out)
	}
	return geth
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startGeth starts geth --dev on loopback ports and stops it at cleanup.
func startGeth(t *testing.T, geth string) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(geth, "--dev", "--dev.period", "1",
		"--datadir", t.TempDir(),
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3",
		"--authrpc.addr", "127.0.0.1", "--authrpc.port", strconv.Itoa(freePort(t)),
		"--port", "0", "--nodiscover", "--maxpeers", "0", "--ipcdisable", "--verbosity", "2")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("geth output:\n%s", logs.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := rpc.Dial(url)
		if err == nil {
			var id hexutil.Big
			err = c.Call(&id, "eth_chainId")
			c.Close()
			if err == nil {
				return url
			}
		}
		select {
		case err := <-done:
			t.Fatalf("geth exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("geth did not answer on %s: %v\n%s", url, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fundFromDevAccount sends ether from geth's unlocked dev account.
func fundFromDevAccount(ctx context.Context, t *testing.T, c *rpc.Client, to common.Address) {
	t.Helper()
	var accounts []common.Address
	if err := c.CallContext(ctx, &accounts, "eth_accounts"); err != nil || len(accounts) == 0 {
		t.Fatalf("eth_accounts: %v %v", accounts, err)
	}
	var hash common.Hash
	err := c.CallContext(ctx, &hash, "eth_sendTransaction", map[string]any{
		"from": accounts[0], "to": to, "value": (*hexutil.Big)(ether(10)),
	})
	if err != nil {
		t.Fatalf("fund %s: %v", to.Hex(), err)
	}
	if _, err := bind.WaitMinedHash(ctx, ethclient.NewClient(c), hash); err != nil {
		t.Fatalf("fund %s: %v", to.Hex(), err)
	}
	bal, err := ethclient.NewClient(c).BalanceAt(ctx, to, nil)
	if err != nil || bal.Cmp(big.NewInt(0)) == 0 {
		t.Fatalf("balance of %s: %v %v", to.Hex(), bal, err)
	}
}
