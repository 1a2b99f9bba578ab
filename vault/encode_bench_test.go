package vault

import (
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// BenchmarkEncodeIndex10k is the index part of the snapshot written after
// every change, at 10k units of 384 dimensions.
func BenchmarkEncodeIndex10k(b *testing.B) {
	dir := buildIndexVault(b, 10_000)
	v, err := Open(dir, testPass, WithEmbedder(vaulttest.ConstEmbedder{Dim: 384}))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	v.mu.Lock()
	defer v.mu.Unlock()
	for b.Loop() {
		if len(encodeIndex(v.idx)) == 0 {
			b.Fatal("empty")
		}
	}
}
