package vault

import (
	"bytes"
	"encoding/gob"
	"sort"

	"github.com/nook-ai/nook/vault/internal/format"
)

// The merge. The vault's state maps (namespace, key) to a value, and every
// device's log changes it. Devices write concurrently and receive each
// other's entries in any order, so the state is a function of the SET of
// ops applied, never of their order:
//
//   - Every op names its bases: the ops whose value it replaces (what its
//     device saw as the key's versions when it wrote).
//   - A key's heads are the ops on it that no applied op names as a base.
//     One head is the normal case. Several heads mean concurrent changes.
//   - The value is the head with the greatest (HLC, device, seq, index): the
//     entry's hybrid logical clock, the device address as the tie-break. A
//     del head wins like a put; a key whose winner is a del is absent.
//   - Concurrent heads that differ are a conflict: the winner is the value,
//     the others are kept (their objects too) until a later op names them
//     all as bases (ResolveConflict, or any new write of the key).
//
// An op may name a base that has not arrived yet (its device's entries come
// later): the id waits in pending, and the op is not made a head when it
// arrives. Per device, entries apply in sequence order (the hash chain),
// so "arrived" is "seq ≤ the device's applied seq", minus its holes: the
// entries that were damaged or missing here when later ones were applied
// (holes.go). An entry that fills a hole later is merged like any late op.

// version is one op's value for a key.
type version struct {
	ID   string // format.OpID
	Dev  string
	Seq  uint64
	Idx  int
	HLC  format.HLC
	Ref  string // object name; "" for an inline value or a del
	Hash string // what the writer records for skip checks (documents: content hash + model)
	Val  string // inline value
	Del  bool
}

// after orders versions: the winner of a key is the greatest.
func (a *version) after(b *version) bool {
	switch {
	case a.HLC != b.HLC:
		return b.HLC.Less(a.HLC)
	case a.Dev != b.Dev:
		return a.Dev > b.Dev
	case a.Seq != b.Seq:
		return a.Seq > b.Seq
	default:
		return a.Idx > b.Idx
	}
}

func (a *version) sameValue(b *version) bool {
	return a.Del == b.Del && a.Ref == b.Ref && a.Val == b.Val
}

// keyState holds a key's heads in ascending order: the last is the winner.
type keyState struct {
	Heads []version
}

func (k *keyState) winner() *version { return &k.Heads[len(k.Heads)-1] }

// conflicted: several heads that do not all hold the same value.
func (k *keyState) conflicted() bool {
	w := k.winner()
	for i := range k.Heads[:len(k.Heads)-1] {
		if !k.Heads[i].sameValue(w) {
			return true
		}
	}
	return false
}

// mstate is the merged state of every device's log.
type mstate struct {
	ns      map[string]map[string]*keyState
	pending map[string]bool      // op ids named as bases, not applied yet
	applied map[string]uint64    // device → last applied seq
	holes   map[string]seqRanges // device → seqs below applied not applied
	clock   format.HLC           // greatest clock applied
	refs    map[string]int       // object name → heads that point at it
}

func newState() *mstate {
	return &mstate{
		ns:      map[string]map[string]*keyState{},
		pending: map[string]bool{},
		applied: map[string]uint64{},
		holes:   map[string]seqRanges{},
		refs:    map[string]int{},
	}
}

// nsKey names a key of a namespace.
type nsKey struct{ NS, Key string }

// applyResult says what an entry changed.
type applyResult struct {
	changed  []nsKey  // keys whose winner changed
	released []string // object names no head points at any more
	added    []nsRef  // object names a new head points at
}

// nsRef is an object and the key pointing at it.
type nsRef struct{ NS, Key, Ref string }

// apply merges one entry. The caller has checked the entry's signature,
// vault and chain, and applies each device's entries in sequence order,
// except that an entry may skip some (they become holes) and a hole may be
// filled later.
func (s *mstate) apply(b *format.Body) applyResult {
	var res applyResult
	if last := s.applied[b.Device]; b.Seq > last {
		if b.Seq > last+1 {
			s.holes[b.Device] = s.holes[b.Device].add(last+1, b.Seq-1)
		}
		s.applied[b.Device] = b.Seq
	} else if h := s.holes[b.Device].remove(b.Seq); len(h) > 0 {
		s.holes[b.Device] = h
	} else {
		delete(s.holes, b.Device)
	}
	if s.clock.Less(b.HLC) {
		s.clock = b.HLC
	}
	touched := map[nsKey]string{} // key → winner id before this entry
	firstOp := map[nsKey][]string{}
	for i := range b.Ops {
		o := &b.Ops[i]
		k := nsKey{o.NS, o.Key}
		m := s.ns[o.NS]
		if m == nil {
			m = map[string]*keyState{}
			s.ns[o.NS] = m
		}
		ks := m[o.Key]
		if _, seen := touched[k]; !seen {
			touched[k] = ""
			if ks != nil {
				touched[k] = ks.winner().ID
			}
		}
		if ks == nil {
			ks = &keyState{}
			m[o.Key] = ks
		}
		v := version{ID: format.OpID(b.Device, b.Seq, i), Dev: b.Device, Seq: b.Seq, Idx: i, HLC: b.HLC,
			Ref: o.Ref, Hash: o.Hash, Val: o.Val, Del: o.Op == "del"}
		// An earlier op of this entry on the same key is replaced too.
		bases := append(append([]string(nil), o.Base...), firstOp[k]...)
		firstOp[k] = append(firstOp[k], v.ID)
		for _, base := range bases {
			if j := ks.find(base); j >= 0 {
				s.release(&ks.Heads[j], &res)
				ks.Heads = append(ks.Heads[:j], ks.Heads[j+1:]...)
			} else if !s.arrived(base) {
				s.pending[base] = true
			}
		}
		if s.pending[v.ID] {
			delete(s.pending, v.ID) // replaced before it arrived
		} else {
			ks.insert(v)
			if v.Ref != "" {
				s.refs[v.Ref]++
				res.added = append(res.added, nsRef{o.NS, o.Key, v.Ref})
			}
		}
		if len(ks.Heads) == 0 {
			delete(m, o.Key)
		}
	}
	for k, before := range touched {
		after := ""
		if ks := s.ns[k.NS][k.Key]; ks != nil {
			after = ks.winner().ID
		}
		if after != before {
			res.changed = append(res.changed, k)
		}
	}
	sort.Slice(res.changed, func(i, j int) bool {
		a, b := res.changed[i], res.changed[j]
		return a.NS < b.NS || a.NS == b.NS && a.Key < b.Key
	})
	return res
}

func (s *mstate) release(v *version, res *applyResult) {
	if v.Ref == "" {
		return
	}
	s.refs[v.Ref]--
	if s.refs[v.Ref] <= 0 {
		delete(s.refs, v.Ref)
		res.released = append(res.released, v.Ref)
	}
}

// arrived reports whether the op id names an op of an applied entry.
func (s *mstate) arrived(id string) bool {
	dev, seq, _, err := format.ParseOpID(id)
	return err == nil && seq <= s.applied[dev] && !s.holes[dev].has(seq)
}

// hole reports whether device's entry seq is below its applied seq but was
// not applied.
func (s *mstate) hole(dev string, seq uint64) bool { return s.holes[dev].has(seq) }

func (k *keyState) find(id string) int {
	for i := range k.Heads {
		if k.Heads[i].ID == id {
			return i
		}
	}
	return -1
}

func (k *keyState) insert(v version) {
	i := sort.Search(len(k.Heads), func(i int) bool { return k.Heads[i].after(&v) })
	k.Heads = append(k.Heads, version{})
	copy(k.Heads[i+1:], k.Heads[i:])
	k.Heads[i] = v
}

// get returns the key's value: its winner, when that is not a del.
func (s *mstate) get(ns, key string) (*version, bool) {
	ks := s.ns[ns][key]
	if ks == nil {
		return nil, false
	}
	w := ks.winner()
	if w.Del {
		return nil, false
	}
	return w, true
}

// keys lists the namespace's present keys, sorted.
func (s *mstate) keys(ns string) []string {
	var out []string
	for k, ks := range s.ns[ns] {
		if !ks.winner().Del {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// count is the number of present keys in ns.
func (s *mstate) count(ns string) int {
	n := 0
	for _, ks := range s.ns[ns] {
		if !ks.winner().Del {
			n++
		}
	}
	return n
}

// bases are the ids of the key's current heads: what a new op replaces.
func (s *mstate) bases(ns, key string) []string {
	ks := s.ns[ns][key]
	if ks == nil {
		return nil
	}
	out := make([]string, len(ks.Heads))
	for i := range ks.Heads {
		out[i] = ks.Heads[i].ID
	}
	return out
}

// live reports whether a head points at the object.
func (s *mstate) live(ref string) bool { return s.refs[ref] > 0 }

// stateWire is the canonical form of mstate: everything sorted, so that two
// states with the same content encode to the same bytes (the merge tests
// compare them), and the snapshot's meta section.
type stateWire struct {
	NS      []nsWire
	Pending []string
	Applied []appliedWire
	Clock   format.HLC
	Holes   []holeWire
}

type holeWire struct {
	Device   string
	From, To uint64
}

type nsWire struct {
	NS   string
	Keys []keyWire
}

type keyWire struct {
	Key   string
	Heads []version
}

type appliedWire struct {
	Device string
	Seq    uint64
}

func (s *mstate) wire() *stateWire {
	w := &stateWire{Clock: s.clock}
	names := make([]string, 0, len(s.ns))
	for n := range s.ns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		m := s.ns[n]
		if len(m) == 0 {
			continue
		}
		nw := nsWire{NS: n, Keys: make([]keyWire, 0, len(m))}
		for k, ks := range m {
			nw.Keys = append(nw.Keys, keyWire{Key: k, Heads: ks.Heads})
		}
		sort.Slice(nw.Keys, func(i, j int) bool { return nw.Keys[i].Key < nw.Keys[j].Key })
		w.NS = append(w.NS, nw)
	}
	for id := range s.pending {
		w.Pending = append(w.Pending, id)
	}
	sort.Strings(w.Pending)
	for d, seq := range s.applied {
		w.Applied = append(w.Applied, appliedWire{d, seq})
	}
	sort.Slice(w.Applied, func(i, j int) bool { return w.Applied[i].Device < w.Applied[j].Device })
	for d, rs := range s.holes {
		for _, r := range rs {
			w.Holes = append(w.Holes, holeWire{d, r.From, r.To})
		}
	}
	sort.Slice(w.Holes, func(i, j int) bool {
		a, b := w.Holes[i], w.Holes[j]
		return a.Device < b.Device || a.Device == b.Device && a.From < b.From
	})
	return w
}

func stateFromWire(w *stateWire) *mstate {
	s := newState()
	s.clock = w.Clock
	for _, nw := range w.NS {
		m := make(map[string]*keyState, len(nw.Keys))
		for _, kw := range nw.Keys {
			if len(kw.Heads) == 0 {
				continue
			}
			m[kw.Key] = &keyState{Heads: kw.Heads}
			for i := range kw.Heads {
				if r := kw.Heads[i].Ref; r != "" {
					s.refs[r]++
				}
			}
		}
		s.ns[nw.NS] = m
	}
	for _, id := range w.Pending {
		s.pending[id] = true
	}
	for _, a := range w.Applied {
		s.applied[a.Device] = a.Seq
	}
	for _, h := range w.Holes {
		if h.From <= h.To && h.To < s.applied[h.Device] {
			s.holes[h.Device] = s.holes[h.Device].add(h.From, h.To)
		}
	}
	return s
}

// encode is the canonical bytes of the state.
func (s *mstate) encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s.wire()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
