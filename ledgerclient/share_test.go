package ledgerclient_test

import (
	"errors"
	"testing"

	"github.com/nook-ai/nook/ledgerclient"
)

func TestASecondProcessAttachesToTheHeldChainAndWritesThroughIt(t *testing.T) {
	t.Parallel()
	dir, ks := t.TempDir(), newMemKeys()
	plugin := ledgerclient.Address(newKey(t))
	if _, err := ledgerclient.AttachDevChain(t.Context(), dir); !errors.Is(err, ledgerclient.ErrNoHolder) {
		t.Fatalf("attach with no holder: %v, want ErrNoHolder", err)
	}
	dc, err := ledgerclient.OpenDevChain(dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := dc.Client(t.Context())
	if err != nil {
		dc.Close()
		t.Fatal(err)
	}
	if _, err := ledgerclient.OpenDevChain(dir, ks); !errors.Is(err, ledgerclient.ErrChainInUse) {
		t.Fatalf("a second open: %v, want ErrChainInUse", err)
	}
	ac, err := ledgerclient.AttachDevChain(t.Context(), dir)
	if err != nil {
		dc.Close()
		t.Fatal(err)
	}
	c, err := ac.Client(t.Context(), ks)
	if err != nil {
		dc.Close()
		t.Fatal(err)
	}
	owner, err := ledgerclient.CreateIdentity(ks)
	if err != nil {
		t.Fatal(err)
	}
	id := ledgerclient.Address(owner)
	// A write through the socket is sealed by the holder and seen by it.
	if _, err := c.Grant(t.Context(), owner, id, plugin, "vault:read", 30*day); err != nil {
		dc.Close()
		t.Fatal(err)
	}
	d, err := holder.Check(t.Context(), id, plugin, "vault:read")
	if err != nil || !d.Allowed {
		t.Errorf("the holder's view of a grant made through the socket: %+v, %v", d, err)
	}
	ac.Close()
	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}
	// The holder gone, the next process opens the chain itself.
	if _, err := ledgerclient.AttachDevChain(t.Context(), dir); !errors.Is(err, ledgerclient.ErrNoHolder) {
		t.Errorf("attach after the holder closed: %v, want ErrNoHolder", err)
	}
	dc, err = ledgerclient.OpenDevChain(dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	dc.Close()
}
