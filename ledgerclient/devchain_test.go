package ledgerclient_test

import (
	"errors"
	"testing"

	"github.com/nook-ai/nook/ledgerclient"
)

// TestGrantSurvivesClosingAndReopening is nook closing and starting again on
// the same NOOK_HOME: the embedded chain must come back with its blocks, its
// registry and the grant.
func TestGrantSurvivesClosingAndReopening(t *testing.T) {
	t.Parallel()
	dir, ks := t.TempDir(), newMemKeys()
	plugin := ledgerclient.Address(newKey(t))

	dc, err := ledgerclient.OpenDevChain(dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dc.Client(t.Context())
	if err != nil {
		dc.Close()
		t.Fatal(err)
	}
	if got := c.ChainID().Int64(); got != ledgerclient.DevChainID {
		t.Errorf("chain id %d, want %d", got, ledgerclient.DevChainID)
	}
	owner, err := ledgerclient.CreateIdentity(ks)
	if err != nil {
		t.Fatal(err)
	}
	id := ledgerclient.Address(owner)
	g, err := c.Grant(t.Context(), owner, id, plugin, "vault:read", 30*day)
	if err != nil {
		dc.Close()
		t.Fatal(err)
	}
	before, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerclient.OpenDevChain(dir, ks); !errors.Is(err, ledgerclient.ErrChainInUse) {
		t.Errorf("a second open while running: %v, want ErrChainInUse", err)
	}
	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}

	dc, err = ledgerclient.OpenDevChain(dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	c, err = dc.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after.Block < before.Block || after.Registry != before.Registry || !after.Deployed {
		t.Fatalf("after reopening: %+v; before: %+v", after, before)
	}
	d := mustCheck(t, c, id, plugin, "vault:read")
	if !d.Allowed || !d.Expires.Equal(g.Expires) {
		t.Fatalf("after reopening: %+v, want allowed until %v", d, g.Expires)
	}
	st, err := c.State(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if gs := st.Grants(); len(gs) != 1 || gs[0].Scope != "vault:read" || gs[0].Plugin != plugin {
		t.Fatalf("replayed grants after reopening: %+v", gs)
	}
	// The chain still takes writes after the restart.
	if err := c.Revoke(t.Context(), owner, id, plugin, "vault:read"); err != nil {
		t.Fatal(err)
	}
	if d := mustCheck(t, c, id, plugin, "vault:read"); d.Allowed {
		t.Fatalf("after revoking on the reopened chain: %+v", d)
	}
}
