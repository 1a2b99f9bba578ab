package ledgerclient_test

import (
	"context"
	"crypto/ecdsa"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nook-ai/nook/ledgerclient"
)

// BenchmarkCheck measures Check on the embedded chain (in-process RPC):
// cached (same head block: one header read) and uncached (the cache dropped
// before each call: a header read plus a contract call).
func BenchmarkCheck(b *testing.B) {
	dc, err := ledgerclient.OpenDevChain(b.TempDir(), newMemKeys())
	if err != nil {
		b.Fatal(err)
	}
	defer dc.Close()
	ctx := context.Background()
	c, err := dc.Client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	owner := newKeyB(b)
	id, plugin := ledgerclient.Address(owner), ledgerclient.Address(newKeyB(b))
	if _, err := c.Grant(ctx, owner, id, plugin, "vault:read", 30*day); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		if _, err := c.Check(ctx, id, plugin, "vault:read"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			d, err := c.Check(ctx, id, plugin, "vault:read")
			if err != nil || !d.Allowed || !d.FromCache {
				b.Fatalf("%+v, %v", d, err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			c.DropCache()
			d, err := c.Check(ctx, id, plugin, "vault:read")
			if err != nil || !d.Allowed || d.FromCache {
				b.Fatalf("%+v, %v", d, err)
			}
		}
	})
}

func newKeyB(b *testing.B) *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	return k
}
