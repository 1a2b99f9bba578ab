package llama

import (
	"slices"
	"testing"
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
