package vault

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
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

// decodeDoc decodes with the go-json-experiment module's v1 API; for any
// input it gives what encoding/json gives (the same document, or an error
// from both).
func FuzzDecodeDocAsEncodingJSON(f *testing.F) {
	d := docObject{Path: "notes/a.md", Hash: strings.Repeat("ab", 32), Model: "hash-384", Size: 120, Format: "markdown", Tags: []string{"work"}, Version: docUnits,
		Chunks: []Chunk{
			{StartLine: 1, EndLine: 3, Heading: "Plans", Text: "a \"quoted\" line\nand é, 😀, \\ and </b>", Kind: "para", Vec: vec{0.5, -1, 3.25}},
			{StartLine: 4, EndLine: 4, Text: "| a | b |", Kind: "row", Lead: "| x | y |", Speaker: "Ann", Date: "2026-01-02", Page: 2},
		}}
	good, err := json.Marshal(d)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	d.Path = "bad\xffname.md"
	odd, err := json.Marshal(d)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(odd)
	for _, s := range []string{
		`{"path":"a","chunks":[{"text":"x","vec":null}]}`,
		`{"path":"a","chunks":[{"text":"x","vec":"AAAAAA\u003d\u003d"}]}`,
		`{"PATH":"a","Path":"b","chunks":null}`,
		`{"path":"a","path":"b"}`,
		`{"path":"\ud800x\udfff","size":1e2}`,
		`{"size":12345678901234567890}`,
		`{"v":1.5}`,
		"{\"path\":\"\xff\"}",
		`{"path":"a"} x`,
		`{"path_b64":"/w==","chunks":[{"start":-1}]}`,
		`{"chunks":[{"vec":"!!"}]}`,
		`[]`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, std docObject
		ferr := fast.UnmarshalJSON(b)
		serr := std.decodeWith(json.Unmarshal, b)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("decodeDoc: %v; encoding/json: %v", ferr, serr)
		}
		fd, fb := vecBits(fast)
		sd, sb := vecBits(std)
		if ferr == nil && (!reflect.DeepEqual(fd, sd) || !reflect.DeepEqual(fb, sb)) {
			t.Fatalf("decodeDoc gave %#v; encoding/json %#v", fast, std)
		}
	})
}

// vecBits is d with each vector as its float bits (NaN equals NaN).
func vecBits(d docObject) (docObject, [][]uint32) {
	bits := make([][]uint32, len(d.Chunks))
	d.Chunks = slices.Clone(d.Chunks)
	for i := range d.Chunks {
		if d.Chunks[i].Vec != nil {
			bits[i] = make([]uint32, len(d.Chunks[i].Vec))
			for j, x := range d.Chunks[i].Vec {
				bits[i][j] = math.Float32bits(x)
			}
		}
		d.Chunks[i].Vec = nil
	}
	return d, bits
}
