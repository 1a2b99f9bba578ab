package vault

import (
	"testing"

	"github.com/nook-ai/nook/vault/internal/format"
)

// The full decoders, through age, with an unlocked vault: an object file
// and a log entry file as a peer or a damaged disk could hand them over.
// (The plaintext decoders have their own fuzz targets in internal/format.)
func FuzzOpenObjectAndEntry(f *testing.F) {
	dir := f.TempDir()
	v, err := Init(dir+"/v", testPass, WithScryptWorkFactor(10))
	if err != nil {
		f.Fatal(err)
	}
	name, plain, _ := v.seal("secret", []byte("x"))
	ct, _ := v.encrypt(plain)
	f.Add([]byte(name), ct)
	entry, _ := v.Entries(v.Device(), 1, 1<<20)
	f.Add([]byte(name), entry[0].Data)
	f.Add([]byte("00"), []byte("age-encryption.org/v1\n-> X25519 abc\n"))
	f.Fuzz(func(t *testing.T, n, b []byte) {
		v.openObject(string(n), "secret", b)
		v.openEntry(b, v.device, 1)
		if b, _, err := v.openEntry(b, v.device, 2); err == nil {
			v.checkLink(b, v.heads[v.device])
		}
		if format.ValidObjectName(string(n)) {
			if err := v.WriteObject(string(n), b); err == nil && !v.HasObject(string(n)) {
				t.Fatal("WriteObject accepted an object it did not store")
			}
		}
	})
}
