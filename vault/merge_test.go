package vault

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/nook-ai/nook/vault/internal/format"
)

// simDevice is a device of a simulated vault: its own merged view and log.
type simDevice struct {
	addr  string
	st    *mstate
	log   []*format.Body
	clock format.HLC
	seen  map[string]int // device → entries of its log applied here
}

// simulate makes n devices write steps entries each, on a few shared keys,
// syncing with one another now and then, as real devices would (each
// device's ops name the heads it saw as bases). It returns every device's
// log.
func simulate(r *rand.Rand, n, steps int) [][]*format.Body {
	devs := make([]*simDevice, n)
	for i := range devs {
		k := secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{byte(i + 1)}, 32))
		devs[i] = &simDevice{addr: format.AddressOf(k.PubKey()), st: newState(), seen: map[string]int{}}
	}
	keys := []nsKey{{nsDoc, "/a.md"}, {nsDoc, "/b.md"}, {nsMemory, "f1"}, {nsSession, "s1"}, {nsDoc, "/c\xff.md"}}
	ref := func() string { return fmt.Sprintf("%064x", r.Uint64()) }
	for step := range steps * n {
		d := devs[r.IntN(n)]
		if r.IntN(3) == 0 { // sync: d gets every entry a random device o has
			o := devs[r.IntN(n)]
			o.seen[o.addr] = len(o.log)
			for _, x := range devs {
				for d.seen[x.addr] < o.seen[x.addr] {
					d.st.apply(x.log[d.seen[x.addr]])
					d.seen[x.addr]++
				}
			}
		}
		var ops []format.Op
		for range 1 + r.IntN(2) {
			k := keys[r.IntN(len(keys))]
			o := format.Op{Op: "put", NS: k.NS, Key: k.Key, Ref: ref()}
			if r.IntN(5) == 0 {
				o = format.Op{Op: "del", NS: k.NS, Key: k.Key}
			}
			o.Base = d.st.bases(k.NS, k.Key)
			ops = append(ops, o)
		}
		// Clocks: a coarse wall clock so that ties happen, HLC rules.
		wall := int64(1000 + step/3)
		c := d.st.clock
		if d.clock.Wall > c.Wall || d.clock.Wall == c.Wall && d.clock.N > c.N {
			c = d.clock
		}
		if wall > c.Wall {
			d.clock = format.HLC{Wall: wall}
		} else {
			d.clock = format.HLC{Wall: c.Wall, N: c.N + 1}
		}
		b := &format.Body{Format: 2, Device: d.addr, Seq: uint64(len(d.log) + 1), Epoch: 1, HLC: d.clock, Ops: ops}
		d.log = append(d.log, b)
		d.st.apply(b)
		d.seen[d.addr] = len(d.log)
	}
	out := make([][]*format.Body, n)
	for i, d := range devs {
		out[i] = d.log
	}
	return out
}

// replay applies the logs in the interleaving that pick chooses (each call
// names the device whose next entry comes) and returns the state's bytes.
func replay(t testing.TB, logs [][]*format.Body, pick func(left []int) int) []byte {
	st := newState()
	next := make([]int, len(logs))
	for {
		var left []int
		for i, l := range logs {
			if next[i] < len(l) {
				left = append(left, i)
			}
		}
		if len(left) == 0 {
			break
		}
		i := left[pick(left)]
		st.apply(logs[i][next[i]])
		next[i]++
	}
	b, err := st.encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMergeIsOrderIndependentOverRandomInterleavings(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		logs := simulate(r, 3, 12)
		// Device by device, then round robin, then 50 random orders.
		want := replay(t, logs, func(left []int) int { return 0 })
		rr := 0
		if got := replay(t, logs, func(left []int) int { rr++; return rr % len(left) }); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: round robin differs from device by device", seed)
		}
		for k := range 50 {
			o := rand.New(rand.NewPCG(seed, uint64(k)+2))
			if got := replay(t, logs, func(left []int) int { return o.IntN(len(left)) }); !bytes.Equal(got, want) {
				t.Fatalf("seed %d, order %d: the state differs", seed, k)
			}
		}
	}
}

// FuzzMergeOrder: any three-device history, replayed in any interleaving,
// gives byte-identical state.
func FuzzMergeOrder(f *testing.F) {
	f.Add(uint64(1), []byte{0, 1, 2, 2, 1, 0})
	f.Add(uint64(7), []byte{2, 2, 2, 2})
	f.Fuzz(func(t *testing.T, seed uint64, order []byte) {
		logs := simulate(rand.New(rand.NewPCG(seed, 0)), 3, 8)
		want := replay(t, logs, func(left []int) int { return 0 })
		i := 0
		got := replay(t, logs, func(left []int) int {
			if len(order) == 0 {
				return 0
			}
			c := int(order[i%len(order)])
			i++
			return c % len(left)
		})
		if !bytes.Equal(got, want) {
			t.Fatal("replay order changed the state")
		}
	})
}

func TestConcurrentChangesAreKeptAsAConflict(t *testing.T) {
	t.Parallel()
	a := format.AddressOf(secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{1}, 32)).PubKey())
	b := format.AddressOf(secp256k1.PrivKeyFromBytes(bytes.Repeat([]byte{2}, 32)).PubKey())
	ref := func(c string) string { return strings.Repeat(c, 64) }
	base := &format.Body{Device: a, Seq: 1, HLC: format.HLC{Wall: 10}, Ops: []format.Op{{Op: "put", NS: nsDoc, Key: "/n.md", Ref: ref("1")}}}
	// Both devices saw base and changed the note.
	onA := &format.Body{Device: a, Seq: 2, HLC: format.HLC{Wall: 20}, Ops: []format.Op{{Op: "put", NS: nsDoc, Key: "/n.md", Ref: ref("a"), Base: []string{format.OpID(a, 1, 0)}}}}
	onB := &format.Body{Device: b, Seq: 1, HLC: format.HLC{Wall: 30}, Ops: []format.Op{{Op: "put", NS: nsDoc, Key: "/n.md", Ref: ref("b"), Base: []string{format.OpID(a, 1, 0)}}}}
	for _, order := range [][]*format.Body{{base, onA, onB}, {onB, base, onA}, {base, onB, onA}} {
		s := newState()
		var released []string
		for _, e := range order {
			released = append(released, s.apply(e).released...)
		}
		w, ok := s.get(nsDoc, "/n.md")
		if !ok || w.Ref != ref("b") {
			t.Fatalf("winner %+v, want B's later change", w)
		}
		ks := s.ns[nsDoc]["/n.md"]
		if len(ks.Heads) != 2 || !ks.conflicted() || ks.Heads[0].Ref != ref("a") {
			t.Fatalf("heads %+v: A's version must be kept as a conflict", ks.Heads)
		}
		// The base's object is released when it was ever a head (not when
		// the changes that replace it came first).
		if !s.live(ref("a")) || s.live(ref("1")) || len(released) > 1 || len(released) == 1 && released[0] != ref("1") {
			t.Errorf("live objects: a %v, base %v; released %v", s.live(ref("a")), s.live(ref("1")), released)
		}
		// Resolving names both heads as bases.
		fix := &format.Body{Device: a, Seq: 3, HLC: format.HLC{Wall: 40}, Ops: []format.Op{{Op: "put", NS: nsDoc, Key: "/n.md", Ref: ref("a"), Base: s.bases(nsDoc, "/n.md")}}}
		s.apply(fix)
		if ks := s.ns[nsDoc]["/n.md"]; len(ks.Heads) != 1 || s.live(ref("b")) {
			t.Errorf("after resolving: heads %+v", ks.Heads)
		}
	}
}
