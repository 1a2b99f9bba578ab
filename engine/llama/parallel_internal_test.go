package llama

import (
	"slices"
	"testing"

	"github.com/nook-ai/nook/engine"
)

func TestANewChatTakesTheLowestFreeSlotUnlessACachedPrefixIsWorthMore(t *testing.T) {
	t.Parallel()
	long := make([]int, 40)
	for i := range long {
		long[i] = 100 + i
	}
	short := []int{1, 5, 6, 7} // a BOS and a template's opening
	prompt := append(slices.Clone(long), 7, 8, 9)
	busy := &seqJob{}
	cases := []struct {
		name  string
		jobs  []*seqJob // per slot: nil is free
		cache [][]int   // per slot
		toks  []int     // the prompt (default: prompt)
		want  int       // slot id, -1: none
	}{
		{"all free, nothing cached: slot 0", []*seqJob{nil, nil, nil, nil}, nil, nil, 0},
		{"the lowest free slot keeps running chats consecutive", []*seqJob{busy, nil, busy, nil}, nil, nil, 1},
		{"a short shared prefix does not pull a chat to a higher slot",
			[]*seqJob{busy, nil, nil, nil}, [][]int{nil, nil, nil, append(slices.Clone(short), 2)}, append(slices.Clone(short), 9, 9, 9), 1},
		{"a long cached prefix wins over a lower slot",
			[]*seqJob{busy, nil, nil, nil}, [][]int{nil, {3}, nil, append(slices.Clone(long), 1)}, nil, 3},
		{"the longest of several prefixes wins",
			[]*seqJob{nil, nil, nil, nil}, [][]int{long[:20], long[:30], long[:25], nil}, nil, 1},
		{"every slot busy: none", []*seqJob{busy, busy, busy, busy}, nil, nil, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var slots []*slot
			for i, j := range c.jobs {
				s := &slot{id: i, job: j, next: -1, idx: -1}
				if c.cache != nil {
					s.cache = c.cache[i]
				}
				slots = append(slots, s)
			}
			toks := c.toks
			if toks == nil {
				toks = prompt
			}
			got := -1
			if s := pickSlot(slots, toks); s != nil {
				got = s.id
			}
			if got != c.want {
				t.Errorf("slot %d, want %d", got, c.want)
			}
		})
	}
}

// genSlots makes generating slots for plan: each with a chat, a lookup and
// the history given.
func genSlots(hists ...[]int) []*slot {
	var out []*slot
	for i, h := range hists {
		out = append(out, &slot{id: i, next: h[len(h)-1], idx: -1, cache: make([]int, len(h)),
			job: &seqJob{stats: &engine.Stats{}}, look: newLookup(), hist: slices.Clone(h)})
	}
	return out
}

func planner(slots int) *Parallel {
	return &Parallel{e: &Engine{nBatch: 512, nCtx: 1024, lookup: true}, costs: make([]costs, slots+1),
		exact: map[draftKey]bool{}, probeEvery: probeFirst}
}

// accept sets every match length's learned acceptance in each slot to
// hits of 50.
func accept(gen []*slot, hits float64) {
	for _, s := range gen {
		for n := range s.look.by {
			s.look.by[n].hits, s.look.by[n].tests = hits, 50
		}
	}
}

var (
	loop  = []int{5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6}
	fresh = []int{1, 2, 3, 4, 9, 10, 11, 12, 13, 14} // no n-gram repeats
)

func TestEverySlotDraftsTheSameCountAndOneWithoutAMatchDraftsFromItsLastToken(t *testing.T) {
	t.Parallel()
	p := planner(3)
	p.e.lookupFixed = 6
	once := []int{1, 2, 3, 4, 9, 10, 11, 2, 12, 13, 14, 2} // its last token, 2, followed 1 once
	gen := genSlots(loop, once, fresh)
	k := p.plan(gen, slotSet(gen))
	if k != 6 {
		t.Fatalf("drafting always 6: plan gave %d", k)
	}
	if want := []int{7, 8, 5, 6, 7, 8}; !slices.Equal(gen[0].draft, want) || gen[0].match == 0 {
		t.Errorf("a looping slot drafts %v (match %d), want the loop %v", gen[0].draft, gen[0].match, want)
	}
	if want := []int{12, 13, 14, 2, 12, 13}; !slices.Equal(gen[1].draft, want) || gen[1].match != 1 {
		t.Errorf("a slot whose last token occurred before drafts %v (match %d), want what followed it %v as a 1-token match", gen[1].draft, gen[1].match, want)
	}
	if want := slices.Repeat([]int{14}, 6); !slices.Equal(gen[2].draft, want) || gen[2].match != 0 {
		t.Errorf("a slot with nothing to go by drafts %v (match %d), want its last token repeated %v", gen[2].draft, gen[2].match, want)
	}
	// A size found inexact for this set of slots is not drafted; a
	// shorter one is.
	p.exact[draftKey{0b111, 6}], p.exact[draftKey{0b111, 5}] = false, false
	if k := p.plan(gen, slotSet(gen)); k != 4 {
		t.Errorf("with 5 and 6 inexact, plan gave %d, want 4", k)
	}
	// No slot has any match: no draft at all.
	if k := p.plan(genSlots(fresh, fresh), 0b11); k != 0 {
		t.Errorf("no slot has a match: plan gave %d", k)
	}
	// No draft runs past a slot's context.
	short := genSlots(loop, loop)
	short[1].cache = make([]int, 1024-3)
	if k := p.plan(short, slotSet(short)); k != 2 {
		t.Errorf("3 places left in one slot's context: plan gave %d, want 2", k)
	}
}

// Costs measured on this machine's kind (BenchmarkSharedVerifyBatch: 2
// cores, AVX-512, the 0.44B Q8_0 bench model, four chats): a plain step
// 56-62 ms, with 1 drafted token each 65-74, 2: 82-103, 3: 93-107,
// 4: 110-119, 6: 147-182, 8: 185-189, 10: 217-257.
func TestFourLoopingChatsDraftAndUnpredictableOnesDoNot(t *testing.T) {
	t.Parallel()
	p := planner(4)
	c := &p.costs[4]
	c.step = 0.058
	for k, ms := range map[int]float64{1: 70, 2: 92, 3: 100, 4: 115, 6: 165, 8: 187, 10: 237} {
		c.verify[k] = ms / 1000
	}
	gen := genSlots(loop, loop, loop, loop)
	accept(gen, 49)
	if k := p.plan(gen, slotSet(gen)); k < 3 {
		t.Errorf("four chats whose drafts are kept 98%% of the time: plan gave %d, want >= 3", k)
	}
	// Kept 10% of the time: not worth a draft, but a short probe comes
	// after a few steps, and less often after each.
	accept(gen, 5)
	var probes []int
	for i := range 40 {
		if k := p.plan(gen, slotSet(gen)); k > 0 {
			if k > 2 {
				t.Fatalf("a probe of %d tokens", k)
			}
			probes = append(probes, i)
		}
	}
	if len(probes) < 2 || probes[1]-probes[0] <= probes[0] {
		t.Errorf("probes at steps %v: want a few, further apart each time", probes)
	}
}
