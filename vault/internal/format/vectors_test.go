package format

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
)

// readVector parses "key: value" lines; the first is "expect: …".
func readVector(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		out[k] = v
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func identity(t *testing.T, s string) *age.X25519Identity {
	t.Helper()
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// expectErr checks err against a vector's expect line.
func expectErr(t *testing.T, expect string, err error) {
	t.Helper()
	want := map[string]error{"bad signature": ErrBadSignature, "authentication failed": ErrAuth,
		"damaged key file": ErrDamaged, "wrong passphrase": ErrWrongPassphrase, "malformed": ErrMalformed}[expect]
	switch {
	case expect == "ok" && err != nil:
		t.Fatalf("want ok, got %v", err)
	case expect != "ok" && !errors.Is(err, want):
		t.Fatalf("want %q, got %v", expect, err)
	}
}

func TestVectors(t *testing.T) {
	files, _ := filepath.Glob("testdata/vectors/*.txt")
	if len(files) < 10 {
		t.Fatalf("only %d vectors", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := readVector(t, path)
			switch {
			case strings.HasPrefix(name, "pack"):
				checkPack(t, v)
			case strings.HasPrefix(name, "object"):
				checkObject(t, v)
			case strings.HasPrefix(name, "entry"):
				checkEntry(t, v)
			case strings.HasPrefix(name, "keyfile"):
				kf, err := OpenKeyFile(unb64(t, v["file"]), []byte(v["passphrase"]))
				expectErr(t, v["expect"], err)
				if err == nil && kf.Device != v["device"] {
					t.Errorf("device %s, want %s", kf.Device, v["device"])
				}
			case name == "wrap":
				w, id, err := OpenWrap(unb64(t, v["file"]), identity(t, v["device_identity"]))
				expectErr(t, v["expect"], err)
				if id.String() != v["identity"] || strconv.Itoa(w.Epoch) != v["epoch"] {
					t.Errorf("wrap holds epoch %d %s", w.Epoch, id)
				}
			case strings.HasPrefix(name, "snapshot"):
				k, _ := DeviceKeys(identity(t, v["device_identity"]))
				meta, index, err := ReadSnapshot(unhex(t, v["plaintext"]), k.MAC)
				expectErr(t, v["expect"], err)
				if err == nil {
					var buf bytes.Buffer
					WriteSnapshot(&buf, k.MAC, meta, index)
					if !bytes.Equal(buf.Bytes(), unhex(t, v["plaintext"])) || hex.EncodeToString(meta) != v["meta"] || hex.EncodeToString(index) != v["index"] {
						t.Error("snapshot does not round-trip")
					}
				}
			default:
				t.Fatalf("no check for vector %s", name)
			}
		})
	}
}

func checkObject(t *testing.T, v map[string]string) {
	id := identity(t, v["identity"])
	keys, _ := DeriveKeys(id)
	plain, err := Open(unb64(t, v["ciphertext"]), 1<<20, id)
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUnwrapper(id)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Open(unb64(t, v["ciphertext"]), 1<<20, u); err != nil || !bytes.Equal(again, plain) {
		t.Fatalf("the unwrapper does not open what age opens: %v", err)
	}
	if !bytes.Equal(plain, unhex(t, v["plaintext"])) {
		t.Fatal("ciphertext does not open to the plaintext")
	}
	kind, epoch, payload, err := VerifyObject(v["name"], plain, func(int) []Keys { return []Keys{keys} })
	expectErr(t, v["expect"], err)
	if v["expect"] != "ok" {
		return
	}
	if kind != v["kind"] || strconv.Itoa(epoch) != v["epoch"] || hex.EncodeToString(payload) != v["payload"] {
		t.Errorf("decoded %s %d %x", kind, epoch, payload)
	}
	if !bytes.HasPrefix(plain, []byte(objectMagicV1)) {
		if got := EncodeObject(kind, epoch, payload); !bytes.Equal(got, plain) {
			t.Errorf("EncodeObject gives %q, the vector holds %q", got, plain)
		}
	}
}

func checkEntry(t *testing.T, v map[string]string) {
	plain := unhex(t, v["plaintext"])
	if ct := v["ciphertext"]; ct != "" {
		got, err := Open(unb64(t, ct), MaxEntry, identity(t, v["identity"]))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("ciphertext does not open to the plaintext: %v", err)
		}
	}
	b, err := DecodeEntry(plain)
	expectErr(t, v["expect"], err)
	if err != nil {
		return
	}
	if b.Device != v["device"] || EntryHash(plain) != v["hash"] {
		t.Errorf("entry of %s hash %s", b.Device, EntryHash(plain))
	}
	// Signing is deterministic (RFC 6979): the same body gives the same bytes.
	key := unhex(t, v["device_key"])
	again, err := EncodeEntry(b, privKey(key))
	if err != nil || !bytes.Equal(again, plain) {
		t.Errorf("re-encoding gives other bytes: %v", err)
	}
	if b.Ops[4].Key != "/notes/caf\xe9.md" {
		t.Errorf("a non-UTF-8 key came back as %q", b.Ops[4].Key)
	}
}

// checkPack parses a pack vector's index, opens every object in it with
// the vector's identity and checks it against its name, and packs the
// objects again: the same bytes and file name.
func checkPack(t *testing.T, v map[string]string) {
	pk := unhex(t, v["pack"])
	ents, err := ParsePackIndex(pk, int64(len(pk)))
	expectErr(t, v["expect"], err)
	if err != nil {
		return
	}
	id := identity(t, v["identity"])
	keys, _ := DeriveKeys(id)
	var listing []string
	var objs []PackObject
	for _, e := range ents {
		data := pk[e.Off : e.Off+e.Size]
		plain, err := Open(data, 1<<20, id)
		if err != nil {
			t.Fatalf("object %s: %v", e.Name, err)
		}
		if _, _, _, err := VerifyObject(e.Name, plain, func(int) []Keys { return []Keys{keys} }); err != nil {
			t.Fatalf("object %s: %v", e.Name, err)
		}
		listing = append(listing, fmt.Sprintf("%s@%d+%d", e.Name, e.Off, e.Size))
		objs = append(objs, PackObject{Name: e.Name, Data: data})
	}
	if got := strings.Join(listing, " "); got != v["objects"] {
		t.Errorf("index %s, the vector lists %s", got, v["objects"])
	}
	again, err := EncodePack(objs)
	if err != nil || !bytes.Equal(again, pk) || PackName(pk) != v["file_name"] || !ValidPackName(v["file_name"]) {
		t.Errorf("packing again gives other bytes or another name: %v", err)
	}
}
