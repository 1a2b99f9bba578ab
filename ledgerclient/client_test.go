package ledgerclient_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/ledgerclient/contracts"
)

func TestGrantThenCheckAllows(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	if d := mustCheck(t, e.c, e.id, e.plugin, "vault:read"); d.Allowed || d.Reason != "no grant" {
		t.Fatalf("before the grant: %+v, want denied with no grant", d)
	}
	g, err := e.c.Grant(t.Context(), e.owner, e.id, e.plugin, "vault:read", 30*day)
	if err != nil {
		t.Fatal(err)
	}
	d := mustCheck(t, e.c, e.id, e.plugin, "vault:read")
	if !d.Allowed || !d.Expires.Equal(g.Expires) {
		t.Fatalf("after the grant: %+v, want allowed until %v", d, g.Expires)
	}
	if until := time.Until(d.Expires); until < 29*day || until > 31*day {
		t.Fatalf("grant expires in %v, want about 30 days", until)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "net"); d.Allowed {
		t.Fatalf("another scope: %+v, want denied", d)
	}
}

func TestExpiredGrantIsDenied(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	if _, err := e.c.Grant(t.Context(), e.owner, e.id, e.plugin, "vault:read", time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "vault:read"); !d.Allowed {
		t.Fatalf("fresh grant: %+v, want allowed", d)
	}
	e.ch.AdjustTime(t, 2*time.Hour)
	d := mustCheck(t, e.c, e.id, e.plugin, "vault:read")
	if d.Allowed || !strings.Contains(d.Reason, "ended") {
		t.Fatalf("two hours later: %+v, want denied as ended", d)
	}
}

func TestRevokedGrantIsDeniedOnTheNextCheck(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	if _, err := e.c.Grant(t.Context(), e.owner, e.id, e.plugin, "calendar", 30*day); err != nil {
		t.Fatal(err)
	}
	first := mustCheck(t, e.c, e.id, e.plugin, "calendar")
	second := mustCheck(t, e.c, e.id, e.plugin, "calendar")
	if !first.Allowed || first.FromCache || !second.Allowed || !second.FromCache {
		t.Fatalf("first %+v, second %+v: want allowed, then allowed from the cache", first, second)
	}
	if err := e.c.Revoke(t.Context(), e.owner, e.id, e.plugin, "calendar"); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "calendar"); d.Allowed || d.FromCache {
		t.Fatalf("after revoke: %+v, want denied, read from the chain", d)
	}
}

func TestAKeyThatIsNotTheOwnerCannotGrant(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	stranger := newKey(t)
	tests := []struct {
		name string
		do   func() error
	}{
		{"a relayed grant signed by a stranger is refused", func() error {
			_, err := e.c.Grant(t.Context(), stranger, e.id, e.plugin, "vault:read", day)
			return err
		}},
		{"a direct call from a funded stranger is refused", func() error {
			// The relayer sends addDelegate itself: msg.sender is not the owner.
			_, err := e.c.AddDelegate(t.Context(), e.relayer, e.id, ledgerclient.PlugType("vault:read"), e.plugin, day)
			return err
		}},
		{"a stranger cannot take ownership", func() error {
			_, err := e.c.ChangeOwner(t.Context(), stranger, e.id, ledgerclient.Address(stranger))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, ledgerclient.ErrNotOwner) {
				t.Fatalf("err = %v, want ErrNotOwner", err)
			}
		})
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "vault:read"); d.Allowed {
		t.Fatalf("after the refused grants: %+v, want denied", d)
	}
}

func TestSignedGrantWorksOnceAndAReplayFails(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	reg, err := contracts.NewRegistry(e.c.Registry(), e.sim.Client())
	if err != nil {
		t.Fatal(err)
	}
	typ := ledgerclient.PlugType("vault:read")
	validity := big.NewInt(int64(day / time.Second))
	nonce, err := reg.Nonce(&bind.CallOpts{}, e.id)
	if err != nil {
		t.Fatal(err)
	}
	h := ledgerclient.SignedHash(e.c.Registry(), nonce, e.id,
		[]byte("addDelegate"), typ[:], e.plugin.Bytes(), common.LeftPadBytes(validity.Bytes(), 32))
	v, r, s, err := ledgerclient.Sign(h, e.owner)
	if err != nil {
		t.Fatal(err)
	}
	relay := func() error {
		opts, err := bind.NewKeyedTransactorWithChainID(e.relayer, e.c.ChainID())
		if err != nil {
			t.Fatal(err)
		}
		tx, err := reg.AddDelegateSigned(opts, e.id, v, r, s, typ, e.plugin, validity)
		if err != nil {
			return err
		}
		e.sim.Commit()
		rcpt, err := bind.WaitMined(t.Context(), e.sim.Client(), tx)
		if err != nil {
			t.Fatal(err)
		}
		if rcpt.Status != 1 {
			return errors.New("reverted")
		}
		return nil
	}
	if err := relay(); err != nil {
		t.Fatalf("relaying the owner's signature: %v", err)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "vault:read"); !d.Allowed {
		t.Fatalf("after the relayed grant: %+v, want allowed", d)
	}
	if err := relay(); err == nil || !strings.Contains(err.Error(), "revert") {
		t.Fatalf("replaying the same signature: err = %v, want a revert", err)
	}
	if n, _ := reg.Nonce(&bind.CallOpts{}, e.id); n.Cmp(big.NewInt(1)) != 0 {
		t.Fatalf("owner nonce = %v, want 1", n)
	}
}

func TestOwnerChangeMovesControl(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	next := newKey(t)
	if _, err := e.c.ChangeOwner(t.Context(), e.owner, e.id, ledgerclient.Address(next)); err != nil {
		t.Fatal(err)
	}
	if o, err := e.c.Owner(t.Context(), e.id); err != nil || o != ledgerclient.Address(next) {
		t.Fatalf("Owner = %s, %v; want %s", o.Hex(), err, ledgerclient.Address(next).Hex())
	}
	if _, err := e.c.Grant(t.Context(), e.owner, e.id, e.plugin, "net", day); !errors.Is(err, ledgerclient.ErrNotOwner) {
		t.Fatalf("grant by the old key: %v, want ErrNotOwner", err)
	}
	if _, err := e.c.Grant(t.Context(), next, e.id, e.plugin, "net", day); err != nil {
		t.Fatalf("grant by the new owner: %v", err)
	}
	if d := mustCheck(t, e.c, e.id, e.plugin, "net"); !d.Allowed {
		t.Fatalf("after the new owner's grant: %+v", d)
	}
}

func TestEventReplayMatchesDirectReads(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t)
	ctx := t.Context()
	other := ledgerclient.Address(newKey(t))
	device := ledgerclient.Address(newKey(t))
	x25519 := make([]byte, 32)
	x25519[0] = 7
	next := newKey(t)
	steps := []func() error{
		func() error { _, err := e.c.Grant(ctx, e.owner, e.id, e.plugin, "vault:read", 30*day); return err },
		func() error { _, err := e.c.Grant(ctx, e.owner, e.id, other, "vault:read", day); return err },
		func() error {
			_, err := e.c.Grant(ctx, e.owner, e.id, e.plugin, "net", ledgerclient.Forever)
			return err
		},
		func() error { return e.c.AddDevice(ctx, e.owner, e.id, device, x25519, 365*day) },
		func() error { return e.c.Revoke(ctx, e.owner, e.id, other, "vault:read") },
		func() error { _, err := e.c.ChangeOwner(ctx, e.owner, e.id, ledgerclient.Address(next)); return err },
		func() error { _, err := e.c.Grant(ctx, next, e.id, other, "net", 2*day); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	st, err := e.c.State(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.c.Owner(ctx, e.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Owner != owner {
		t.Errorf("replayed owner %s, read %s", st.Owner.Hex(), owner.Hex())
	}
	if len(st.Delegates) != 5 {
		t.Errorf("replayed %d delegates, want 5", len(st.Delegates))
	}
	for _, d := range st.Delegates {
		read, err := e.c.DelegateValidTo(ctx, e.id, d.Type, d.Delegate)
		if err != nil {
			t.Fatal(err)
		}
		if !read.Equal(d.ValidTo) {
			t.Errorf("delegate %s: replayed validTo %v, read %v", d.Delegate.Hex(), d.ValidTo, read)
		}
		valid, err := e.c.ValidDelegate(ctx, e.id, d.Type, d.Delegate)
		if err != nil {
			t.Fatal(err)
		}
		if valid != d.ValidTo.After(st.Time) {
			t.Errorf("delegate %s: validDelegate %v, replay says valid until %v at %v", d.Delegate.Hex(), valid, d.ValidTo, st.Time)
		}
	}
	active := map[string]bool{}
	for _, g := range st.Grants() {
		if g.Scope == "" {
			t.Errorf("grant to %s has no scope name", g.Plugin.Hex())
		}
		if g.Active(st.Time) {
			active[g.Scope+" "+g.Plugin.Hex()] = true
		}
	}
	want := map[string]bool{"vault:read " + e.plugin.Hex(): true, "net " + e.plugin.Hex(): true, "net " + other.Hex(): true}
	if len(active) != len(want) {
		t.Errorf("active grants %v, want %v", active, want)
	}
	for k := range want {
		if !active[k] {
			t.Errorf("active grants %v lack %q", active, k)
		}
	}
	if ds := st.Devices(); len(ds) != 1 || ds[0].Address != device {
		t.Errorf("devices %+v, want %s", ds, device.Hex())
	}
	if rs := st.Recipients(st.Time); len(rs) != 1 || rs[0][0] != 7 {
		t.Errorf("recipients %x, want the device's key", rs)
	}
}

// flaky is a Backend whose reads fail while down is set.
type flaky struct {
	ledgerclient.Backend
	down atomic.Bool
}

var errDown = errors.New("dial tcp 127.0.0.1:8545: connect: connection refused")

func (f *flaky) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Backend.HeaderByNumber(ctx, n)
}

func TestUnreachableChainAnswersFromTheCacheThenDenies(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Now().Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	e := newSimEnv(t)
	if _, err := e.c.Grant(t.Context(), e.owner, e.id, e.plugin, "vault:read", 30*day); err != nil {
		t.Fatal(err)
	}
	f := &flaky{Backend: e.sim.Client()}
	c, err := ledgerclient.New(t.Context(), f, ledgerclient.WithRegistry(e.c.Registry()),
		ledgerclient.WithClock(clock), ledgerclient.WithCacheTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, c, e.id, e.plugin, "vault:read"); !d.Allowed {
		t.Fatalf("online: %+v", d)
	}
	f.down.Store(true)
	now.Add(30)
	d, err := c.Check(t.Context(), e.id, e.plugin, "vault:read")
	if err != nil || !d.Allowed || !d.FromCache || !strings.Contains(d.Reason, "unreachable") {
		t.Fatalf("offline within the ttl: %+v, %v; want allowed from the cache, saying so", d, err)
	}
	if d, err := c.Check(t.Context(), e.id, e.plugin, "net"); !errors.Is(err, ledgerclient.ErrUnreachable) || d.Allowed {
		t.Fatalf("offline, never cached: %+v, %v; want denied with ErrUnreachable", d, err)
	}
	now.Add(60)
	d, err = c.Check(t.Context(), e.id, e.plugin, "vault:read")
	if !errors.Is(err, ledgerclient.ErrUnreachable) || d.Allowed || !strings.Contains(d.Reason, "expired") {
		t.Fatalf("offline past the ttl: %+v, %v; want denied, cache expired, ErrUnreachable", d, err)
	}
}

func TestDIDNames(t *testing.T) {
	t.Parallel()
	addr := common.HexToAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	if got, want := ledgerclient.DID(big.NewInt(1337), addr), "did:ethr:1337:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"; got != want {
		t.Fatalf("DID = %q, want %q", got, want)
	}
	tests := []struct {
		name, in string
		chain    int64 // -1: none
		wantErr  bool
	}{
		{"a decimal chain id parses", "did:ethr:1337:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 1337, false},
		{"a hex chain id parses", "did:ethr:0x539:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 1337, false},
		{"no chain id parses", "did:ethr:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", -1, false},
		{"another method is refused", "did:key:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", 0, true},
		{"a short address is refused", "did:ethr:1337:0x5aAe", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, a, err := ledgerclient.ParseDID(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if a != addr || (tt.chain < 0) != (id == nil) || (id != nil && id.Int64() != tt.chain) {
				t.Fatalf("ParseDID = %v, %s", id, a.Hex())
			}
		})
	}
}

func TestIdentityKeys(t *testing.T) {
	t.Parallel()
	ks := newMemKeys()
	if _, err := ledgerclient.LoadIdentity(ks); !errors.Is(err, ledgerclient.ErrNoIdentity) {
		t.Fatalf("empty store: %v, want ErrNoIdentity", err)
	}
	k, err := ledgerclient.CreateIdentity(ks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerclient.CreateIdentity(ks); !errors.Is(err, ledgerclient.ErrIdentityExists) {
		t.Fatalf("second create: %v, want ErrIdentityExists", err)
	}
	got, err := ledgerclient.LoadIdentity(ks)
	if err != nil || ledgerclient.Address(got) != ledgerclient.Address(k) {
		t.Fatalf("LoadIdentity = %v, %v", got, err)
	}
	_ = ks.PutSecret(ledgerclient.SecretIdentity, []byte("short"))
	if _, err := ledgerclient.LoadIdentity(ks); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("corrupt key: %v, want an error that does not echo the bytes", err)
	}
}
