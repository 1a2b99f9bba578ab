package vault

import (
	"container/heap"
	"slices"
	"sort"
	"strings"
)

// Small to big: units are ranked (fused, then diversified by MMR), and hits
// are assembled from them best first: each unit chosen makes its
// neighbours in the document candidates worth widenDecay of it, so a hit
// widens with its context only while that context is worth more than the
// next unit in the ranking and the budget has room; units next to each
// other merge into one hit.

// mmrWindow is how many of the next units in fused order MMR weighs at each
// step (2k+4 when only k are wanted): a unit further down is never pulled
// up, which keeps the cost linear in what is taken.
const mmrWindow = 24

// duplicate is the overlap from which a unit counts as a copy of one
// already chosen: it goes after every unit that is not a copy, whatever
// mmrLambda (the same note saved twice, a quoted message).
const duplicate = 0.8

// mmrIter yields ranked units in maximal-marginal-relevance order.
type mmrIter struct {
	x      *index
	rest   []ranked          // fused order, not yet yielded
	top    float64           // the best fused score (relevance is score/top)
	window int               // how many of rest are weighed at each step
	chosen [][]uint64        // word sets of the units yielded
	redund map[int32]float64 // largest overlap with a chosen unit, by slot
}

// mmr returns an iterator over list; k, when > 0, is how many units will
// be wanted (a narrower window suffices).
func (x *index) mmr(list []ranked, k int) *mmrIter {
	it := &mmrIter{x: x, rest: list, window: mmrWindow, redund: map[int32]float64{}}
	if k > 0 {
		it.window = min(mmrWindow, 2*k+4)
	}
	if len(list) > 0 {
		it.top = list[0].score
	}
	return it
}

// termSet is the sorted set of a unit's words, hashed (lowercased, not
// stemmed: copies share their spelling), kept for the rest of the query.
func (it *mmrIter) termSet(slot int32) []uint64 {
	if s, ok := it.x.wordSets[slot]; ok {
		return s
	}
	s := wordSet(it.x.chunks[slot].Text)
	it.x.wordSets[slot] = s
	return s
}

// wordSet hashes the words of s (FNV-1a of their lowercase ASCII letters
// and digits; other runes as they are) into a sorted set.
func wordSet(s string) []uint64 {
	var out []uint64
	const offset, prime = 14695981039346656037, 1099511628211
	h, n := uint64(offset), 0
	for i := 0; i <= len(s); i++ {
		c := byte(' ')
		if i < len(s) {
			c = s[i]
		}
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c >= 0x80:
			h = (h ^ uint64(c)) * prime
			n++
			continue
		}
		if n > 0 {
			out = append(out, h)
		}
		h, n = offset, 0
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func jaccard(a, b []uint64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	both := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			both++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(both) / float64(len(a)+len(b)-both)
}

// next returns the next unit and its MMR value; ok is false when none is left.
func (it *mmrIter) next() (r ranked, value float64, ok bool) {
	if len(it.rest) == 0 {
		return ranked{}, 0, false
	}
	lambda := it.x.p.mmrLambda
	if lambda >= 1 || it.top <= 0 {
		r, it.rest = it.rest[0], it.rest[1:]
		return r, r.score / max(it.top, 1e-12), true
	}
	best, bestV := -1, 0.0
	for i := range min(len(it.rest), it.window) {
		c := it.rest[i]
		if best >= 0 && lambda*c.score/it.top <= bestV {
			break // rest is by score: no unit further down can do better
		}
		red, ok := it.redund[c.slot]
		if !ok && len(it.chosen) > 0 {
			set := it.termSet(c.slot)
			for _, s := range it.chosen {
				red = max(red, jaccard(set, s))
			}
		}
		it.redund[c.slot] = red
		v := lambda*c.score/it.top - (1-lambda)*red
		if red >= duplicate {
			v -= 2 // after everything that is not a copy
		}
		if best < 0 || v > bestV {
			best, bestV = i, v
		}
	}
	r = it.rest[best]
	it.rest = slices.Delete(it.rest, best, best+1)
	set := it.termSet(r.slot)
	it.chosen = append(it.chosen, set)
	for s, red := range it.redund { // a unit weighed before weighs the new one too
		it.redund[s] = max(red, jaccard(it.termSet(s), set))
	}
	delete(it.redund, r.slot)
	return r, bestV, true
}

// assembly state: what is chosen and how much budget is left.
type assembly struct {
	x         *index
	o         *SearchOptions
	chosen    map[int32]float64 // slot → value
	score     map[int32]float64 // slot → fused score, for ranked units
	text      map[int32]string  // a unit cut to fit
	tokens    map[int32]int
	left      int
	groups    int
	unlimited bool
}

// tok is a unit's size in tokens.
func (a *assembly) tok(slot int32) int {
	if n, ok := a.tokens[slot]; ok {
		return n
	}
	n := int(a.x.chunks[slot].Tokens)
	if a.o.Tokens != nil {
		n = a.o.Tokens(a.x.chunks[slot].Text)
	}
	a.tokens[slot] = n
	return n
}

// neighbour returns the slot beside s (d = ±1) in the same document, or -1.
func (a *assembly) neighbour(s int32, d int32) int32 {
	n := s + d
	if n < 0 || int(n) >= len(a.x.chunks) || a.x.chunks[n].Source == "" || a.x.chunks[n].Source != a.x.chunks[s].Source {
		return -1
	}
	return n
}

func (a *assembly) isChosen(s int32) bool {
	if s < 0 {
		return false
	}
	_, ok := a.chosen[s]
	return ok
}

// take chooses slot s if it fits; it reports whether it did.
func (a *assembly) take(s int32, value float64) bool {
	if a.isChosen(s) {
		return false
	}
	joins := 0
	if a.isChosen(a.neighbour(s, -1)) {
		joins++
	}
	if a.isChosen(a.neighbour(s, 1)) {
		joins++
	}
	newGroups := 1 - joins
	if newGroups > 0 && a.o.K > 0 && a.groups >= a.o.K {
		return false
	}
	if !a.unlimited {
		cost := a.tok(s) + newGroups*a.o.PerHit + a.seps(s)
		if cost > a.left {
			if len(a.chosen) > 0 || !a.cut(s, a.left-newGroups*a.o.PerHit) {
				return false
			}
			cost = a.tok(s) + newGroups*a.o.PerHit
		}
		a.left -= cost
	}
	a.groups += newGroups
	a.chosen[s] = value
	return true
}

// sep is what joins unit s to the unit after it in a hit: one line break
// when the next starts on the following line, a blank line otherwise.
func (a *assembly) sep(s int32) string {
	if a.x.chunks[s+1].Start == a.x.chunks[s].End+1 {
		return "\n"
	}
	return "\n\n"
}

// seps is the tokens of the separators that choosing s adds between it
// and chosen neighbours.
func (a *assembly) seps(s int32) int {
	n := 0
	if p := a.neighbour(s, -1); a.isChosen(p) {
		n += a.count(a.sep(p))
	}
	if a.isChosen(a.neighbour(s, 1)) {
		n += a.count(a.sep(s))
	}
	return n
}

func (a *assembly) count(t string) int {
	if a.o.Tokens != nil {
		return a.o.Tokens(t)
	}
	return EstimateTokens(t)
}

// cut shortens unit s to at most n tokens at a line, sentence or word
// boundary (the best unit alone is larger than the whole budget); it
// reports whether anything is left.
func (a *assembly) cut(s int32, n int) bool {
	if n <= 0 {
		return false
	}
	text := a.x.chunks[s].Text
	// The longest prefix ending at a space or line break that fits.
	ends := []int{}
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' || text[i] == '\n' {
			ends = append(ends, i)
		}
	}
	cutText := func(i int) string { return strings.TrimRight(text[:ends[i]], " \n") + " …" }
	k := sort.Search(len(ends), func(i int) bool { return a.count(cutText(i)) > n })
	if k == 0 {
		return false
	}
	t := cutText(k - 1)
	a.text[s] = t
	a.tokens[s] = a.count(t)
	return true
}

// wideningQueue holds neighbours proposed for widening, best first.
type wideningQueue []ranked

func (q wideningQueue) Len() int           { return len(q) }
func (q wideningQueue) Less(i, j int) bool { return q[i].score > q[j].score }
func (q wideningQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *wideningQueue) Push(v any)        { *q = append(*q, v.(ranked)) }
func (q *wideningQueue) Pop() any {
	old := *q
	v := old[len(old)-1]
	*q = old[:len(old)-1]
	return v
}

// maxMisses is how many ranked units in a row may fail to fit before
// assembly stops looking for smaller ones.
const maxMisses = 12

// assemble chooses units from the ranking and returns the hits.
func (x *index) assemble(list []ranked, o *SearchOptions) []Hit {
	a := &assembly{x: x, o: o, chosen: map[int32]float64{}, score: map[int32]float64{},
		text: map[int32]string{}, tokens: map[int32]int{}, left: o.Budget, unlimited: o.Budget <= 0}
	for _, r := range list {
		a.score[r.slot] = r.score
	}
	k := 0
	if a.unlimited {
		k = o.K
	}
	it := x.mmr(list, k)
	var wq wideningQueue
	widen := !a.unlimited && x.p.widenDecay > 0
	misses := 0
	next, nextV, more := it.next()
	for more || wq.Len() > 0 {
		var s int32
		var v float64
		if wq.Len() > 0 && (!more || wq[0].score > nextV) {
			w := heap.Pop(&wq).(ranked)
			s, v = w.slot, w.score
			if !a.take(s, v) {
				continue
			}
		} else {
			s, v = next.slot, nextV
			next, nextV, more = it.next()
			if !a.take(s, v) {
				if a.isChosen(s) {
					continue
				}
				if a.unlimited { // K groups are there
					break
				}
				if misses++; misses > maxMisses {
					break
				}
				continue
			}
			misses = 0
		}
		if widen {
			if n := a.neighbour(s, 1); n >= 0 && !a.isChosen(n) {
				heap.Push(&wq, ranked{slot: n, score: v * x.p.widenDecay})
			}
			if n := a.neighbour(s, -1); n >= 0 && !a.isChosen(n) {
				heap.Push(&wq, ranked{slot: n, score: v * x.p.widenDecay * x.p.widenBack})
			}
		}
		if a.unlimited && a.groups >= o.K || !a.unlimited && a.left <= 0 {
			break // without a budget, K hits are K units (or fewer when they touch)
		}
	}
	return a.hits()
}

// hits merges the chosen units into hits, best first.
func (a *assembly) hits() []Hit {
	slots := make([]int32, 0, len(a.chosen))
	for s := range a.chosen {
		slots = append(slots, s)
	}
	slices.Sort(slots)
	type group struct {
		slots []int32
		value float64
		score float64
	}
	var groups []group
	for _, s := range slots {
		if n := len(groups); n > 0 {
			g := &groups[n-1]
			if last := g.slots[len(g.slots)-1]; last == s-1 && a.x.chunks[last].Source == a.x.chunks[s].Source && a.x.chunks[last].Page == a.x.chunks[s].Page {
				g.slots = append(g.slots, s)
				g.value = max(g.value, a.chosen[s])
				g.score = max(g.score, a.score[s])
				continue
			}
		}
		groups = append(groups, group{[]int32{s}, a.chosen[s], a.score[s]})
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].value > groups[j].value })
	hits := make([]Hit, 0, len(groups))
	for _, g := range groups {
		first := &a.x.chunks[g.slots[0]]
		h := Hit{Source: first.Source, StartLine: first.Start, Heading: first.Heading, Score: g.score,
			Kind: kinds[first.Kind], Speaker: first.Speaker, Date: first.Date, Page: int(first.Page)}
		if h.Kind == "" {
			h.Kind = "chunk"
		}
		var b strings.Builder
		for i, s := range g.slots {
			c := &a.x.chunks[s]
			text, ok := a.text[s]
			if !ok {
				text = c.Text
			}
			if i > 0 {
				sep := a.sep(s - 1)
				b.WriteString(sep)
				h.Tokens += a.count(sep)
				if kinds[c.Kind] != h.Kind {
					h.Kind = "mixed"
				}
				if c.Speaker != h.Speaker {
					h.Speaker = ""
				}
			}
			b.WriteString(text)
			h.EndLine = c.End
			h.Tokens += a.tok(s)
		}
		h.Text = b.String()
		hits = append(hits, h)
	}
	return hits
}
