package vault

import (
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

func FuzzDecodeObject(f *testing.F) {
	f.Add(encodeObject("doc", []byte(`{"path":"/a"}`)))
	f.Add([]byte("nook-object/1 \n"))
	f.Add([]byte("nook-object/1 secret"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, payload, err := decodeObject(b)
		if err != nil {
			return
		}
		if got := encodeObject(kind, payload); string(got) != string(b) {
			t.Fatalf("re-encoding differs: %q vs %q", got, b)
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	key, _ := secp256k1.GeneratePrivateKey()
	good, _ := encodeEntry(&entryBody{Format: 1, Vault: "v", Device: "d", Seq: 1, Ops: []op{{Op: "put", NS: "doc", Key: "k", Ref: objectName([]byte("k"), []byte("x"))}}}, key)
	f.Add(good)
	f.Add([]byte(`{"body":{},"sig":""}`))
	f.Add([]byte(`{"body":null,"sig":"3006020101020101"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b, key.PubKey())
		if err == nil && (e.Seq == 0 || e.Format != 1) {
			t.Fatalf("accepted a bad entry: %+v", e)
		}
	})
}

// The full decoders, through age, with an unlocked vault.
func FuzzOpenObjectAndEntry(f *testing.F) {
	dir := f.TempDir()
	v, err := Init(dir+"/v", testPass, WithScryptWorkFactor(10))
	if err != nil {
		f.Fatal(err)
	}
	ct, _ := v.encrypt(encodeObject("secret", []byte("x")))
	f.Add(ct)
	f.Add([]byte("age-encryption.org/v1\n-> X25519 abc\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := objectName(v.keys.name, b)
		v.openObject(name, "secret", b)
		v.openEntry(b, v.device, head{})
	})
}
