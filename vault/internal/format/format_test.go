package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

func privKey(b []byte) *secp256k1.PrivateKey { return secp256k1.PrivKeyFromBytes(b) }

func TestAddresses(t *testing.T) {
	t.Parallel()
	one := make([]byte, 32)
	one[31] = 1
	cases := []struct {
		name, key, want string
	}{
		// Well-known Ethereum addresses of these private keys.
		{"the key 1", hexOf(one), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
		{"web3's documented example key", "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := AddressOf(privKey(mustHex(c.key)).PubKey())
			if got != c.want {
				t.Errorf("AddressOf = %s, want %s", got, c.want)
			}
			if !ValidAddress(got) || ValidAddress(strings.ToLower(got)) || ValidAddress(got[:41]) {
				t.Error("ValidAddress accepts only the checksummed form")
			}
		})
	}
}

func TestEntriesVerifyFromTheAddressAlone(t *testing.T) {
	t.Parallel()
	k := privKey(bytes.Repeat([]byte{3}, 32))
	b := &Body{Format: 2, Vault: strings.Repeat("ab", 16), Device: AddressOf(k.PubKey()), Seq: 1, Epoch: 1,
		HLC: HLC{Wall: 1}, Ops: []Op{{Op: "put", NS: "memory", Key: "k", Ref: strings.Repeat("0", 64)}}}
	plain, err := EncodeEntry(b, k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEntry(plain)
	if err != nil || got.Device != b.Device {
		t.Fatalf("DecodeEntry = %+v, %v", got, err)
	}
	other := privKey(bytes.Repeat([]byte{4}, 32))
	if _, err := EncodeEntry(b, other); err == nil {
		t.Error("signed an entry naming another device")
	}
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		want error
	}{
		{"a changed op", func(p []byte) []byte { return bytes.Replace(p, []byte(`"memory"`), []byte(`"secret"`), 1) }, ErrBadSignature},
		{"a truncated entry", func(p []byte) []byte { return p[:len(p)/2] }, ErrMalformed},
		{"a signature of the wrong size", func(p []byte) []byte { return bytes.Replace(p, []byte(`"sig":"`), []byte(`"sig":"00`), 1) }, ErrBadSignature},
	} {
		if _, err := DecodeEntry(c.edit(bytes.Clone(plain))); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestBodiesThatDoNotValidate(t *testing.T) {
	t.Parallel()
	k := privKey(bytes.Repeat([]byte{5}, 32))
	dev := AddressOf(k.PubKey())
	good := func() *Body {
		return &Body{Format: 2, Vault: strings.Repeat("cd", 16), Device: dev, Seq: 2, Prev: strings.Repeat("1", 64), Epoch: 1,
			HLC: HLC{Wall: 5}, Ops: []Op{{Op: "del", NS: "doc", Key: "/a"}}}
	}
	for _, c := range []struct {
		name string
		edit func(*Body)
	}{
		{"format 1", func(b *Body) { b.Format = 1 }},
		{"seq 0", func(b *Body) { b.Seq = 0 }},
		{"seq 2 with no previous hash", func(b *Body) { b.Prev = "" }},
		{"epoch 0", func(b *Body) { b.Epoch = 0 }},
		{"no ops", func(b *Body) { b.Ops = nil }},
		{"a put of nothing", func(b *Body) { b.Ops[0] = Op{Op: "put", NS: "doc", Key: "/a"} }},
		{"a put of an object and a value", func(b *Body) {
			b.Ops[0] = Op{Op: "put", NS: "doc", Key: "/a", Ref: strings.Repeat("a", 64), Val: "x"}
		}},
		{"an empty key", func(b *Body) { b.Ops[0].Key = "" }},
		{"a bad namespace", func(b *Body) { b.Ops[0].NS = "Doc" }},
		{"a bad base", func(b *Body) { b.Ops[0].Base = []string{"0x1/1/0"} }},
		{"a skip past the first entry", func(b *Body) { b.Skip = 2 }},
		{"a skip to the start with a previous hash", func(b *Body) { b.Skip = 1 }},
	} {
		b := good()
		c.edit(b)
		if _, err := EncodeEntry(b, k); err == nil {
			t.Errorf("%s: encoded", c.name)
		}
	}
	if _, err := EncodeEntry(good(), k); err != nil {
		t.Errorf("the good body: %v", err)
	}
	// A new segment: entry 5 skips 3 and 4 and chains onto 2; entry 2
	// skips 1 and chains onto nothing.
	seg := good()
	seg.Seq, seg.Skip = 5, 2
	plain, err := EncodeEntry(seg, k)
	if err != nil {
		t.Fatalf("a segment start: %v", err)
	}
	if got, err := DecodeEntry(plain); err != nil || got.Skip != 2 || got.ChainSeq() != 2 {
		t.Errorf("a segment start decodes as %+v, %v", got, err)
	}
	first := good()
	first.Skip, first.Prev = 1, ""
	if _, err := EncodeEntry(first, k); err != nil {
		t.Errorf("a segment start that skips the first entry: %v", err)
	}
}

func TestKeyFilesTellDamageFromAWrongPassphrase(t *testing.T) {
	t.Parallel()
	id, _ := age.GenerateX25519Identity()
	kf := &KeyFile{Format: 2, VaultID: strings.Repeat("0", 32), Device: AddressOf(privKey(bytes.Repeat([]byte{9}, 32)).PubKey()),
		DeviceKey: strings.Repeat("09", 32), DeviceX25519: id.String()}
	sealed, err := SealKeyFile(kf, []byte("pass"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyFile(sealed, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	for i := range sealed {
		d := bytes.Clone(sealed)
		d[i] ^= 1
		if _, err := OpenKeyFile(d, []byte("pass")); !errors.Is(err, ErrDamaged) {
			t.Fatalf("byte %d changed: %v, want ErrDamaged", i, err)
		}
	}
	if got, err := OpenKeyFile(sealed, []byte("pass")); err != nil || *got != *kf {
		t.Errorf("OpenKeyFile = %+v, %v", got, err)
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
