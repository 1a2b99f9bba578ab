package format

// The vector generator. TestVectorsAreCurrent writes every vector, with
// fixed keys and fixed randomness (testing/cryptotest works only in a test
// binary), and checks that testdata/vectors holds exactly those bytes: a
// change of format fails it until the vectors are written again with
// `go run gen_vectors.go` (which passes -write-vectors) and the diff is
// committed.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/cryptotest"

	"filippo.io/age"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

var writeVectorsFlag = flag.Bool("write-vectors", false, "write testdata/vectors (gen_vectors.go)")

func TestVectorsAreCurrent(t *testing.T) {
	want := filepath.Join("testdata", "vectors")
	dir := t.TempDir()
	if *writeVectorsFlag {
		dir = want
	}
	writeVectors(t, dir)
	if *writeVectorsFlag {
		return
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	committed, _ := filepath.Glob(filepath.Join(want, "*.txt"))
	if len(got) != len(committed) {
		t.Fatalf("the generator writes %d vectors, testdata/vectors holds %d: run `go run gen_vectors.go`", len(got), len(committed))
	}
	for _, p := range got {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(want, filepath.Base(p)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from what the generator writes: the format changed; run `go run gen_vectors.go` and commit the diff", filepath.Base(p))
		}
	}
}

// Fixed keys (made once by age.GenerateX25519Identity; the device key is a random scalar).
const (
	epochIdentity  = "AGE-SECRET-KEY-1UYRY4ZJ6AU3T4VLE6CREJE9J9PRTU0EENCX8JRS96VFN9923ZCASLPZFF8"
	deviceIdentity = "AGE-SECRET-KEY-1EYHZLJMWDXC8YPR9QQQ4XE0UDG5ASRZ646R8MT6K4A0WCZSHZ45S2C25JP"
	deviceKeyHex   = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	vaultID        = "00112233445566778899aabbccddeeff"
	passphrase     = "correct horse battery staple"
)

type vector struct {
	name   string
	expect string
	fields [][2]string
}

func (v *vector) add(k, val string) { v.fields = append(v.fields, [2]string{k, val}) }

func (v *vector) write(dir string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "expect: %s\n", v.expect)
	for _, f := range v.fields {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	if err := os.WriteFile(filepath.Join(dir, v.name+".txt"), b.Bytes(), 0o644); err != nil {
		panic(err)
	}
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// writeVectors writes the vectors into dir with the randomness fixed.
func writeVectors(t *testing.T, dir string) {
	cryptotest.SetGlobalRandom(t, 20261202)
	old, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	for _, f := range old {
		os.Remove(f)
	}
	id := must(age.ParseX25519Identity(epochIdentity))
	devID := must(age.ParseX25519Identity(deviceIdentity))
	dk := secp256k1.PrivKeyFromBytes(must(hex.DecodeString(deviceKeyHex)))
	device := AddressOf(dk.PubKey())
	keys := must(DeriveKeys(id))
	b64 := base64.StdEncoding.EncodeToString

	// Objects.
	for _, c := range []struct {
		name, kind string
		epoch      int
		payload    string
	}{
		{"object-secret", "secret", 1, "hunter2"},
		{"object-doc-epoch-3", "doc", 3, `{"path":"/notes/a.md","chunks":[]}`},
		{"object-empty", "memory", 1, ""},
	} {
		v := &vector{name: c.name, expect: "ok"}
		plain := EncodeObject(c.kind, c.epoch, []byte(c.payload))
		v.add("identity", epochIdentity)
		v.add("kind", c.kind)
		v.add("epoch", fmt.Sprint(c.epoch))
		v.add("payload", hex.EncodeToString([]byte(c.payload)))
		v.add("plaintext", hex.EncodeToString(plain))
		v.add("name", ObjectName(keys.Name, plain))
		v.add("ciphertext", b64(must(Seal(plain, id.Recipient()))))
		v.write(dir)
	}
	v1 := &vector{name: "object-format-1", expect: "ok"}
	plain := []byte("nook-object/1 secret\nold")
	v1.add("identity", epochIdentity)
	v1.add("kind", "secret")
	v1.add("epoch", "1")
	v1.add("payload", hex.EncodeToString([]byte("old")))
	v1.add("plaintext", hex.EncodeToString(plain))
	v1.add("name", ObjectName(keys.Name, plain))
	v1.add("ciphertext", b64(must(Seal(plain, id.Recipient()))))
	v1.write(dir)
	bad := &vector{name: "object-renamed", expect: "authentication failed"}
	plain = EncodeObject("secret", 1, []byte("a"))
	bad.add("identity", epochIdentity)
	bad.add("plaintext", hex.EncodeToString(plain))
	bad.add("name", ObjectName(keys.Name, EncodeObject("secret", 1, []byte("b"))))
	bad.add("ciphertext", b64(must(Seal(plain, id.Recipient()))))
	bad.write(dir)

	// Log entries.
	body := &Body{Format: 2, Vault: vaultID, Device: device, Seq: 2, Prev: EntryHash([]byte("entry 1")),
		Epoch: 1, HLC: HLC{Wall: 1764633600000, N: 3}, Ops: []Op{
			{Op: "put", NS: "doc", Key: "/notes/a.md", Ref: ObjectName(keys.Name, []byte("x")), Hash: "abc:model"},
			{Op: "put", NS: "memory", Key: "1234abcd", Ref: ObjectName(keys.Name, []byte("y")), Base: []string{OpID(device, 1, 0)}},
			{Op: "del", NS: "session", Key: "s1"},
			{Op: "put", NS: "epoch", Key: "2 " + id.Recipient().String(), Val: device},
			{Op: "put", NS: "doc", Key: "/notes/caf\xe9.md", Ref: ObjectName(keys.Name, []byte("z"))},
		}}
	entry := must(EncodeEntry(body, dk))
	ev := &vector{name: "entry", expect: "ok"}
	ev.add("identity", epochIdentity)
	ev.add("device", device)
	ev.add("device_key", deviceKeyHex)
	ev.add("plaintext", hex.EncodeToString(entry))
	ev.add("hash", EntryHash(entry))
	ev.add("ciphertext", b64(must(Seal(entry, id.Recipient()))))
	ev.write(dir)
	forged := regexp.MustCompile(`"seq":2`).ReplaceAll(append([]byte(nil), entry...), []byte(`"seq":3`))
	fv := &vector{name: "entry-altered", expect: "bad signature"}
	fv.add("plaintext", hex.EncodeToString(forged))
	fv.write(dir)
	other := secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	body2 := *body
	body2.Device = AddressOf(other.PubKey())
	e2 := must(EncodeEntry(&body2, other))
	swapped := bytes.Replace(e2, []byte(body2.Device), []byte(device), 1)
	sv := &vector{name: "entry-signed-by-another-device", expect: "bad signature"}
	sv.add("plaintext", hex.EncodeToString(swapped))
	sv.write(dir)

	// Key file.
	kf := &KeyFile{Format: 2, VaultID: vaultID, Device: device, DeviceKey: deviceKeyHex, DeviceX25519: deviceIdentity}
	sealed := must(SealKeyFile(kf, []byte(passphrase), 10))
	kv := &vector{name: "keyfile", expect: "ok"}
	kv.add("passphrase", passphrase)
	kv.add("device", device)
	kv.add("file", b64(sealed))
	kv.write(dir)
	dmg := append([]byte(nil), sealed...)
	dmg[len(dmg)-20] ^= 1
	dv := &vector{name: "keyfile-damaged", expect: "damaged key file"}
	dv.add("passphrase", passphrase)
	dv.add("file", b64(dmg))
	dv.write(dir)
	wv := &vector{name: "keyfile-wrong-passphrase", expect: "wrong passphrase"}
	wv.add("passphrase", "Tr0ub4dor&3")
	wv.add("file", b64(sealed))
	wv.write(dir)

	// Wrap.
	w := &Wrap{Format: 2, Vault: vaultID, Epoch: 1, Device: device, Identity: epochIdentity}
	wrap := &vector{name: "wrap", expect: "ok"}
	wrap.add("device_identity", deviceIdentity)
	wrap.add("epoch", "1")
	wrap.add("identity", epochIdentity)
	wrap.add("file", b64(must(SealWrap(w, devID.Recipient()))))
	wrap.write(dir)

	// Snapshot framing.
	mac := must(DeviceKeys(devID)).MAC
	var snap bytes.Buffer
	if err := WriteSnapshot(&snap, mac, []byte("meta bytes"), []byte("index bytes")); err != nil {
		panic(err)
	}
	nv := &vector{name: "snapshot", expect: "ok"}
	nv.add("device_identity", deviceIdentity)
	nv.add("meta", hex.EncodeToString([]byte("meta bytes")))
	nv.add("index", hex.EncodeToString([]byte("index bytes")))
	nv.add("plaintext", hex.EncodeToString(snap.Bytes()))
	nv.write(dir)
	tampered := append([]byte(nil), snap.Bytes()...)
	tampered[len("nook-index/3\n")+2] ^= 1
	tv := &vector{name: "snapshot-tampered", expect: "authentication failed"}
	tv.add("device_identity", deviceIdentity)
	tv.add("plaintext", hex.EncodeToString(tampered))
	tv.write(dir)
	// Packs: three sealed objects packed (the index sorts them by name),
	// and the same pack with one size field cut short by a byte.
	var packed []PackObject
	var listing string
	for _, payload := range []string{"first", "second", "third"} {
		plain := EncodeObject("memory", 1, []byte(payload))
		packed = append(packed, PackObject{Name: ObjectName(keys.Name, plain), Data: must(Seal(plain, id.Recipient()))})
	}
	pk := must(EncodePack(packed))
	ents := must(ParsePackIndex(pk, int64(len(pk))))
	for i, e := range ents {
		if i > 0 {
			listing += " "
		}
		listing += fmt.Sprintf("%s@%d+%d", e.Name, e.Off, e.Size)
	}
	pv := &vector{name: "pack", expect: "ok"}
	pv.add("identity", epochIdentity)
	pv.add("file_name", PackName(pk))
	pv.add("objects", listing)
	pv.add("pack", hex.EncodeToString(pk))
	pv.write(dir)
	cut := bytes.Clone(pk)
	cut[len(packMagic)+4+32+3]-- // the first object's size, one byte less
	pb := &vector{name: "pack-size-altered", expect: "malformed"}
	pb.add("pack", hex.EncodeToString(cut))
	pb.write(dir)
}
