package format

import (
	"bytes"
	"strings"
	"testing"

	"filippo.io/age"
)

// Every decoder of untrusted bytes: none may panic, and what one accepts
// must encode back to the same thing.

func FuzzDecodeObject(f *testing.F) {
	f.Add(EncodeObject("doc", 1, []byte(`{"path":"/a"}`)))
	f.Add([]byte("nook-object/1 secret\nx"))
	f.Add([]byte("nook-object/2 secret 01\nx"))
	f.Add([]byte("nook-object/2 \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, epoch, payload, err := DecodeObject(b)
		if err != nil || bytes.HasPrefix(b, []byte(objectMagicV1)) {
			return
		}
		if got := EncodeObject(kind, epoch, payload); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs: %q vs %q", got, b)
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	k := privKey(bytes.Repeat([]byte{3}, 32))
	good, _ := EncodeEntry(&Body{Format: 2, Vault: strings.Repeat("ab", 16), Device: AddressOf(k.PubKey()), Seq: 1, Epoch: 1,
		HLC: HLC{Wall: 1}, Ops: []Op{{Op: "put", NS: "doc", Key: "k\xff", Ref: strings.Repeat("0", 64), Base: []string{AddressOf(k.PubKey()) + "/1/0"}}}}, k)
	f.Add(good)
	f.Add([]byte(`{"body":{},"sig":""}`))
	f.Add([]byte(`{"body":null,"sig":"` + strings.Repeat("00", 65) + `"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if e.validate() != nil || e.Format != EntryFormat || e.Seq == 0 {
			t.Fatalf("accepted a bad entry: %+v", e)
		}
	})
}

func FuzzParseOpID(f *testing.F) {
	f.Add("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf/1/0")
	f.Add("0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf/01/0")
	f.Fuzz(func(t *testing.T, s string) {
		d, seq, idx, err := ParseOpID(s)
		if err == nil && OpID(d, seq, idx) != s {
			t.Fatalf("%q parses but prints as %q", s, OpID(d, seq, idx))
		}
	})
}

func FuzzOpenKeyFile(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	kf := &KeyFile{Format: 2, VaultID: strings.Repeat("0", 32), Device: AddressOf(privKey(bytes.Repeat([]byte{9}, 32)).PubKey()),
		DeviceKey: strings.Repeat("09", 32), DeviceX25519: id.String()}
	sealed, _ := SealKeyFile(kf, []byte("pass"), 2)
	f.Add(sealed)
	f.Add([]byte(keyFileMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		OpenKeyFile(b, []byte("pass"))
		OpenKeyFileV1(b, []byte("pass"))
	})
}

func FuzzOpenWrap(f *testing.F) {
	dev, _ := age.GenerateX25519Identity()
	ep, _ := age.GenerateX25519Identity()
	w, _ := SealWrap(&Wrap{Format: 2, Vault: strings.Repeat("0", 32), Epoch: 2, Device: AddressOf(privKey(bytes.Repeat([]byte{9}, 32)).PubKey()), Identity: ep.String()}, dev.Recipient())
	f.Add(w)
	f.Fuzz(func(t *testing.T, b []byte) {
		OpenWrap(b, dev)
	})
}

func FuzzReadSnapshot(f *testing.F) {
	key := bytes.Repeat([]byte{1}, 32)
	var buf bytes.Buffer
	WriteSnapshot(&buf, key, []byte("meta"), []byte("index"))
	f.Add(buf.Bytes())
	f.Add([]byte(snapshotMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		meta, index, err := ReadSnapshot(b, key)
		if err != nil {
			return
		}
		var again bytes.Buffer
		WriteSnapshot(&again, key, meta, index)
		if !bytes.Equal(again.Bytes(), b) {
			t.Fatal("an accepted snapshot does not re-encode to itself")
		}
	})
}

func FuzzParsePackIndex(f *testing.F) {
	good, _ := EncodePack([]PackObject{{Name: strings.Repeat("ab", 32), Data: []byte("x")}, {Name: strings.Repeat("0c", 32), Data: []byte("yz")}})
	f.Add(good)
	f.Add([]byte(packMagic + "\x00\x00\x00\x01"))
	f.Add([]byte(packMagic + "\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, err := ParsePackIndex(b, int64(len(b)))
		if err != nil {
			return
		}
		objs := make([]PackObject, len(ents))
		for i, e := range ents {
			objs[i] = PackObject{Name: e.Name, Data: b[e.Off : e.Off+e.Size]}
		}
		again, err := EncodePack(objs)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("an accepted pack does not pack back to the same bytes: %v", err)
		}
	})
}
