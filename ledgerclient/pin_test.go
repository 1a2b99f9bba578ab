package ledgerclient_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/ledgertest"
)

func TestAChainIsPinnedAtFirstUseAndAnotherIsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := newSimEnv(t), newSimEnv(t)
	keys := newMemKeys()
	p, first, err := a.c.Trust(ctx, keys, "http://a")
	if err != nil || !first || p.ChainID != "1337" || p.Registry != a.c.Registry().Hex() {
		t.Fatalf("first use: %+v, %v, %v", p, first, err)
	}
	if _, first, err := a.c.Trust(ctx, keys, "http://a-again"); err != nil || first {
		t.Fatalf("the same chain from another URL: %v, %v", first, err)
	}
	// Another chain (same chain id, the same registry code) that grants.
	if _, err := b.c.Grant(ctx, b.owner, b.id, b.plugin, "net", 30*day); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, b.c, b.id, b.plugin, "net"); !d.Allowed {
		t.Fatalf("b before pinning: %+v", d)
	}
	_, _, err = b.c.Trust(ctx, keys, "http://b")
	var pe *ledgerclient.PinError
	if !errors.Is(err, ledgerclient.ErrPinMismatch) || !errors.As(err, &pe) || !strings.Contains(strings.Join(pe.Fields, ","), "genesis") {
		t.Fatalf("another chain: %v, want a pin mismatch naming the genesis block", err)
	}
	d, err := b.c.Check(ctx, b.id, b.plugin, "net")
	if d.Allowed || !errors.Is(err, ledgerclient.ErrPinMismatch) {
		t.Fatalf("a grant on the refused chain: %+v, %v; want denied", d, err)
	}
	// Once the person confirms, the new chain is the pin.
	if _, err := b.c.Repin(ctx, keys, "http://b"); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, b.c, b.id, b.plugin, "net"); !d.Allowed {
		t.Fatalf("after repinning: %+v", d)
	}
	if _, _, err := a.c.Trust(ctx, keys, "http://a"); !errors.Is(err, ledgerclient.ErrPinMismatch) {
		t.Fatalf("the old chain after repinning: %v", err)
	}
}

func TestAFakeNodeThatGrantsEverythingIsRefusedByThePin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newSimEnv(t)
	keys := newMemKeys()
	if _, _, err := e.c.Trust(ctx, keys, "embedded"); err != nil {
		t.Fatal(err)
	}
	code, err := e.sim.Client().CodeAt(ctx, e.c.Registry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := ledgertest.FakeNode(t, code, &calls)
	ec, err := ethclient.DialContext(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	fake, err := ledgerclient.New(ctx, ec, ledgerclient.WithRegistry(e.c.Registry()))
	if err != nil {
		t.Fatal(err)
	}
	// Without the pin (as before), the fake grants a scope never granted.
	if d := mustCheck(t, fake, e.id, e.plugin, "vault:read"); !d.Allowed {
		t.Fatalf("the fake node's answer, unpinned: %+v", d)
	}
	if _, _, err := fake.Trust(ctx, keys, srv.URL); !errors.Is(err, ledgerclient.ErrPinMismatch) {
		t.Fatalf("Trust of the fake node: %v, want a pin mismatch", err)
	}
	if d, err := fake.Check(ctx, e.id, e.plugin, "vault:read"); d.Allowed || !errors.Is(err, ledgerclient.ErrPinMismatch) {
		t.Fatalf("the fake node's answer, pinned: %+v, %v", d, err)
	}
	if calls.Load() == 0 {
		t.Fatal("the fake node was never asked")
	}
}

func TestAnchoredHeadsAreReadBackPerDevice(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newSimEnv(t)
	dev1, dev2 := ledgerclient.Address(newKey(t)), ledgerclient.Address(newKey(t))
	h := func(b byte) common.Hash { return common.BytesToHash([]byte{b}) }
	for _, a := range []ledgerclient.Anchor{{Device: dev1, Seq: 3, Hash: h(3)}, {Device: dev2, Seq: 9, Hash: h(9)}, {Device: dev1, Seq: 5, Hash: h(5)}} {
		if err := e.c.AnchorHead(ctx, e.owner, e.id, a); err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.c.State(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Anchors()
	if a := got[dev1]; a.Seq != 5 || a.Hash != h(5) || a.Block == 0 {
		t.Errorf("device 1: %+v", a)
	}
	if a := got[dev2]; a.Seq != 9 || a.Hash != h(9) {
		t.Errorf("device 2: %+v", a)
	}
	if _, err := ledgerclient.ParseEntryHash(strings.Repeat("ab", 32)); err != nil {
		t.Error(err)
	}
	if _, err := ledgerclient.ParseEntryHash(strings.Repeat("zz", 32)); err == nil {
		t.Error("a hash that is not hex was taken")
	}
	if _, err := ledgerclient.ParseEntryHash("0x12"); err == nil {
		t.Error("a bad entry hash parsed")
	}
}
