package sync

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/vault"
)

// The wire format's test vectors: one file per message in
// testdata/vectors, the frame in hex after an "expect:" line, written by
// TestVectorsAreCurrent with -write-vectors (go run gen_vectors.go). A
// change of encoding fails the test until the vectors are written again
// and the diff is committed.

var writeVectors = flag.Bool("write-vectors", false, "write testdata/vectors (gen_vectors.go)")

var (
	devA = common.HexToAddress("0x2c7536e3605d9c16a7a3d7b1898e529396a65c23").Hex()
	devB = common.HexToAddress("0x0ab7d3e8d3e9c2f4ca8a3a5d4b0f6e0c8d7a6b51").Hex()
)

const (
	hash = "a8e1776584a85cc42b07c3852ba3991dcc68651c69ee859907e12ffe5bf0467a"
	obj1 = "5b223510f3d884e9609f0f136a5cf7602139c5fd285a010dd55516db7a486de3"
	obj2 = "1b07f8e0cd35344ed8429fff410eacac92c92bfbec2e6c24c27ff4374e791561"
)

// vectors are every message type with fixed contents.
func vectors() map[string]message {
	nonce := bytes.Repeat([]byte{7}, 32)
	mac := bytes.Repeat([]byte{9}, 32)
	return map[string]message{
		"error":          &Error{Code: 3, Msg: "peer rolled a log back"},
		"hello":          &Hello{Vault: "00112233445566778899aabbccddeeff", Device: devA, Heads: []DeviceHead{{Device: devB, Seq: 7, Hash: hash}, {Device: devA, Seq: 300, Hash: hash}}, Wraps: []string{"1-0123456789abcdef/" + devA + ".age"}, Secrets: true, Addrs: []string{"/ip4/127.0.0.1/tcp/4470"}},
		"get-entries":    &GetEntries{Device: devA, From: 5, MaxBytes: 4 << 20},
		"entries":        &Entries{Device: devA, From: 5, Data: [][]byte{[]byte("age-encryption.org/v1 one"), []byte("two")}},
		"get-objects":    &GetObjects{Names: []string{obj1, obj2}},
		"object":         &Object{Name: obj1, Size: 10, Offset: 4, Data: []byte("cipher")},
		"object-missing": &Object{Name: obj2, Missing: true},
		"get-wraps":      &GetWraps{Names: []string{"2-fedcba9876543210/" + devB + ".age"}},
		"wraps":          &Wraps{List: []vault.RawWrap{{Name: "2-fedcba9876543210/" + devB + ".age", Data: []byte("wrapped")}}},
		"pull":           &Pull{},
		"done":           &Done{Heads: []DeviceHead{{Device: devB, Seq: 1, Hash: hash}}},
		"pair-start":     &PairStart{Version: 1},
		"pair-challenge": &PairChallenge{Nonce: nonce},
		"pair-proof":     &PairProof{Nonce: nonce, MAC: mac},
		"pair-accept":    &PairAccept{MAC: mac, Vault: "00112233445566778899aabbccddeeff", Identity: devB, ChainID: 1337, Registry: devB, ChainHost: devA, Host: devA},
		"pair-device":    &PairDevice{Device: devB, Recipient: "age1lulpm8ts62r992uphplekprk4qn5gyc22tmcyzjte7mcz98yfsgs8vgu77"},
		"pair-done":      &PairDone{Wraps: []vault.RawWrap{{Name: "1-0123456789abcdef/" + devB + ".age", Data: []byte("w")}}, Peers: []PeerAddrs{{Device: devA, Addrs: []string{"/ip4/127.0.0.1/tcp/4470/p2p/16Uiu2HAm"}}}},
	}
}

func TestVectorsAreCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "vectors")
	if *writeVectors {
		os.MkdirAll(dir, 0o755)
	}
	names := make([]string, 0)
	for name, m := range vectors() {
		names = append(names, name)
		frame := appendFrame(nil, m)
		text := fmt.Sprintf("expect: %T\nframe: %s\n", m, hex.EncodeToString(frame))
		path := filepath.Join(dir, name+".txt")
		if *writeVectors {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (write the vectors with `go run gen_vectors.go`)", name, err)
		}
		if string(got) != text {
			t.Errorf("%s: the encoding changed:\ncommitted %s\nnow       %s", name, got, text)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if !*writeVectors && len(files) != len(names) {
		sort.Strings(names)
		t.Errorf("testdata/vectors holds %d files, want %d (%v)", len(files), len(names), names)
	}
}

func TestCommittedVectorsDecodeToTheirMessages(t *testing.T) {
	t.Parallel()
	for name, want := range vectors() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "vectors", name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			var typ, frame string
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "expect: "); ok {
					typ = v
				}
				if v, ok := strings.CutPrefix(line, "frame: "); ok {
					frame = v
				}
			}
			raw, err := hex.DecodeString(frame)
			if err != nil {
				t.Fatal(err)
			}
			got, n, err := decodeFrame(raw)
			if err != nil || n != len(raw) {
				t.Fatalf("decode: %v (%d of %d bytes)", err, n, len(raw))
			}
			if fmt.Sprintf("%T", got) != typ || !reflect.DeepEqual(normal(got), normal(want)) {
				t.Fatalf("decoded %#v, want %#v", got, want)
			}
			if !bytes.Equal(appendFrame(nil, got), raw) {
				t.Fatal("re-encoding differs from the vector")
			}
		})
	}
}

// normal makes nil and empty slices compare equal.
func normal(m message) message {
	return newMessageFrom(appendFrame(nil, m))
}

func newMessageFrom(frame []byte) message {
	m, _, _ := decodeFrame(frame)
	return m
}

func TestBadFramesAreProtocolErrors(t *testing.T) {
	t.Parallel()
	hello := appendFrame(nil, vectors()["hello"])
	oversized := binary.AppendUvarint(nil, uint64(frameCap[tGetEntries]+1))
	oversized = append(oversized, byte(tGetEntries))
	oversized = append(oversized, make([]byte, frameCap[tGetEntries])...)
	tests := []struct {
		name  string
		frame []byte
	}{
		{"an empty frame", []byte{0}},
		{"an unknown message type", []byte{1, 99}},
		{"a frame over its type's cap", oversized},
		{"a frame length past every cap", binary.AppendUvarint(nil, uint64(maxFrame)+1)},
		{"a truncated body", hello[:len(hello)-3]},
		{"bytes left over", append(binary.AppendUvarint(nil, 3), byte(tPull), 0, 0)},
		{"a non-canonical varint", []byte{4, byte(tGetEntries), 0x80, 0x00, 0x01}},
		{"heads out of order", appendFrame(nil, &Done{Heads: []DeviceHead{{Device: devA, Seq: 1}, {Device: devB, Seq: 1}}})},
		{"entries from 0", appendFrame(nil, &GetEntries{Device: devA})},
		{"an object part past its end", appendFrame(nil, &Object{Name: obj1, Size: 2, Data: []byte("abc")})},
		{"a missing object with data", appendFrame(nil, &Object{Name: obj1, Missing: true, Data: []byte("x")})},
		{"a bool that is not 0 or 1", func() []byte {
			b := appendFrame(nil, &Object{Name: obj1})
			b[1+1+32] = 2 // length, type, name, then Missing
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := decodeFrame(tt.frame); !errors.Is(err, ErrProtocol) {
				t.Fatalf("decode: %v, want ErrProtocol", err)
			}
			fr := newFrameReader(bytes.NewReader(tt.frame), nil)
			if _, err := fr.read(); !errors.Is(err, ErrProtocol) {
				t.Fatalf("read: %v, want ErrProtocol", err)
			}
		})
	}
}

func TestErrorFramesCarryTheSentinel(t *testing.T) {
	t.Parallel()
	for _, c := range wireCodes {
		fr := newFrameReader(bytes.NewReader(appendFrame(nil, errorMsg(fmt.Errorf("context: %w", c.err)))), nil)
		_, err := fr.read()
		var re *RemoteError
		if !errors.Is(err, c.err) || !errors.As(err, &re) {
			t.Errorf("code %d: got %v, want %v", c.code, err, c.err)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, m := range vectors() {
		f.Add(appendFrame(nil, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, n, err := decodeFrame(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes (decoders are strict).
		if got := appendFrame(nil, m); !bytes.Equal(got, b[:n]) {
			t.Fatalf("re-encoded %x, decoded from %x", got, b[:n])
		}
	})
}
