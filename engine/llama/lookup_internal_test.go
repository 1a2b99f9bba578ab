package llama

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestLookupDraftsWhatFollowedTheLongestRecentMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		hist  []int
		limit int
		want  []int
	}{
		{"a quoted span continues as in the source",
			[]int{10, 11, 12, 13, 14, 15, 20, 21, 11, 12, 13}, 4, []int{14, 15, 20, 21}},
		{"the most recent occurrence wins",
			[]int{1, 2, 3, 7, 1, 2, 3, 8, 1, 2, 3}, 3, []int{8, 1, 2}},
		{"a longer match beats a more recent shorter one",
			[]int{5, 1, 2, 3, 9, 9, 2, 3, 4, 1, 2, 3}, 1, []int{9}},
		{"a match longer than four tokens pins the place a shorter one would miss",
			[]int{1, 2, 3, 4, 5, 6, 50, 9, 3, 4, 5, 6, 60, 1, 2, 3, 4, 5, 6}, 1, []int{50}},
		{"a loop continues itself",
			[]int{5, 6, 7, 5, 6, 7, 5, 6}, 5, []int{7, 5, 6, 7, 5}},
		{"a two-token loop drafts as far as allowed",
			[]int{9, 8, 1, 2, 1, 2, 1, 2}, 7, []int{1, 2, 1, 2, 1, 2, 1}},
		{"a match just before the end repeats with its period",
			[]int{1, 2, 3, 1, 2}, 10, []int{3, 1, 2, 3, 1, 2, 3, 1, 2, 3}},
		{"no earlier occurrence, no draft",
			[]int{1, 2, 3, 4, 5, 6}, 5, nil},
		{"a single repeated token is not a match",
			[]int{1, 9, 2, 3, 9}, 5, nil},
		{"no room, no draft",
			[]int{1, 2, 3, 1, 2}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLookup()
			l.setLinear(0.010, 0.0005) // cheap drafts: draft all that is found
			for i := range l.by {
				l.by[i].hits, l.by[i].tests = 100, 100
			}
			got := l.draft(tc.hist, tc.limit)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("draft = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLookupDraftsAsManyTokensAsPay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		hits, tests    float64
		step, perDraft float64
		lo, hi         int
	}{
		{"a text copied verbatim with cheap verification drafts the most", 50, 50, 0.030, 0.002, lookupMaxDraft, lookupMaxDraft},
		{"costly verification drafts fewer", 45, 50, 0.030, 0.015, 1, 5},
		{"rarely accepted drafts are not worth it", 1, 40, 0.030, 0.008, 0, 0},
		{"a fresh engine tries a short draft", 0, 0, 0, 0, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLookup()
			l.by[4].hits, l.by[4].tests = tc.hits, tc.tests
			if tc.step > 0 {
				l.setLinear(tc.step, tc.perDraft)
			}
			if k := l.draftLen(4, 100, 100); k < tc.lo || k > tc.hi {
				t.Fatalf("draftLen = %d, want %d..%d (rate %.2f)", k, tc.lo, tc.hi, l.by[4].rate())
			}
		})
	}
}

// setLinear sets every verifying step's cost to step + per·k.
func (l *lookup) setLinear(step, per float64) {
	l.step = step
	for k := 1; k <= lookupMaxDraft; k++ {
		l.verify[k] = step + per*float64(k)
	}
}

func TestVerifyCostsAreMeasuredInterpolatedOrExtrapolated(t *testing.T) {
	t.Parallel()
	ms := func(f float64) float64 { return f / 1000 }
	c := costs{step: ms(18)}
	c.verify[1], c.verify[2], c.verify[6] = ms(38), ms(40), ms(60)
	for _, tc := range []struct {
		name string
		k    int
		want float64
	}{
		{"a measured size is its measure", 2, ms(40)},
		{"between two measured sizes, on the line through them", 4, ms(50)},
		{"past the largest, the slope of the two largest", 9, ms(75)},
	} {
		if got := c.verifyCost(tc.k); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: verifyCost(%d) = %.4f, want %.4f", tc.name, tc.k, got, tc.want)
		}
	}
	one := costs{step: ms(20)}
	one.verify[3] = ms(50)
	if got, want := one.verifyCost(1), ms(30); math.Abs(got-want) > 1e-9 {
		t.Errorf("below the smallest measured size, on the line from the one-token step: %.4f, want %.4f", got, want)
	}
	if got, want := one.verifyCost(5), ms(50)+2*priorPerDraft*ms(20); math.Abs(got-want) > 1e-9 {
		t.Errorf("past the only measured size, the prior per drafted token: %.4f, want %.4f", got, want)
	}
	down := costs{step: ms(20)}
	down.verify[1], down.verify[2] = ms(45), ms(40) // noise: the longer one measured cheaper
	if got, want := down.verifyCost(4), ms(40)+2*minPerDraft*ms(20); math.Abs(got-want) > 1e-9 {
		t.Errorf("a slope below the floor is raised to it: %.4f, want %.4f", got, want)
	}
	if got, want := (&costs{}).verifyCost(4), 1+4*priorPerDraft; math.Abs(got-want) > 1e-9 {
		t.Errorf("nothing measured: %.4f, want %.4f", got, want)
	}
}

// Verifying is not linear in the draft: the first drafted token moves the
// batch to another kernel and costs a whole step, the next ones little.
// Measured so (here: 2-core AVX-512, Q8_0), a well-accepted match drafts
// long, not the one or two tokens a per-token cost learned from the first
// drafts allowed.
func TestLookupDraftsLongWhenOnlyTheFirstDraftedTokenIsDear(t *testing.T) {
	t.Parallel()
	l := newLookup()
	l.by[4].hits, l.by[4].tests = 49, 50
	l.observePlain(18 * time.Millisecond)
	for range 5 {
		l.last = 4
		l.observeDraft(1, 1, 37*time.Millisecond)
		l.observeDraft(2, 2, 40*time.Millisecond)
	}
	l.by[4].hits, l.by[4].tests = 49, 50
	if k := l.draftLen(4, 100, 100); k < 8 {
		t.Fatalf("with 1 and 2 drafted tokens measured at 37 and 40 ms, a 98%% match drafts %d", k)
	}
	// Measured long drafts that cost what they should: still long.
	l.last = 4
	l.observeDraft(10, 10, 86*time.Millisecond)
	l.by[4].hits, l.by[4].tests = 49, 50
	if k := l.draftLen(4, 100, 100); k < 8 {
		t.Fatalf("with 10 drafted tokens measured at 86 ms, a 98%% match drafts %d", k)
	}
	// Where long drafts are dear, shorter ones win.
	d := newLookup()
	d.by[4].hits, d.by[4].tests = 45, 50
	d.setLinear(0.018, 0.009)
	if k := d.draftLen(4, 100, 100); k < 1 || k > 6 {
		t.Fatalf("with every drafted token at half a step, a 90%% match drafts %d", k)
	}
}

func TestLookupTurnsOffWhenItDoesNotPayAndProbesLessOften(t *testing.T) {
	t.Parallel()
	l := newLookup()
	l.observePlain(30 * time.Millisecond)
	hist := []int{1, 2, 3, 4, 5, 6, 1, 2, 3}
	// Every draft from this 3-token match is rejected, and verifying costs
	// time.
	drafts := 0
	for step := 0; step < 40 && !l.by[3].off; step++ {
		d := l.draft(hist, 8)
		if len(d) == 0 {
			if !l.by[3].off {
				t.Fatalf("step %d: no draft, yet on", step)
			}
			break
		}
		drafts++
		l.observeDraft(len(d), 0, 40*time.Millisecond)
	}
	if !l.by[3].off {
		t.Fatal("still drafting after 40 rejected drafts")
	}
	if drafts > 8 {
		t.Fatalf("took %d rejected drafts to stop", drafts)
	}
	// Off: a short probe now and then, each failure doubling the wait.
	var probesAt []int
	for step := 1; step <= 200; step++ {
		if d := l.draft(hist, 8); len(d) > 0 {
			if len(d) > 2 {
				t.Fatalf("probe of %d tokens", len(d))
			}
			probesAt = append(probesAt, step)
			l.observeDraft(len(d), 0, 32*time.Millisecond)
		}
	}
	if want := []int{4, 12, 28, 60, 124}; !slices.Equal(probesAt, want) {
		t.Fatalf("probes at steps %v, want %v", probesAt, want)
	}
	// A probe that is accepted in full switches drafting back on.
	for l.by[3].off {
		if d := l.draft(hist, 8); len(d) > 0 {
			l.observeDraft(len(d), len(d), 31*time.Millisecond)
		}
	}
	if l.Drafted == 0 || l.Accepted == 0 {
		t.Fatalf("totals drafted %d accepted %d", l.Drafted, l.Accepted)
	}
}

func TestLookupLearnsPerMatchLength(t *testing.T) {
	t.Parallel()
	l := newLookup()
	l.observePlain(30 * time.Millisecond)
	// Drafts from 2-token matches keep failing; from 4-token matches they
	// keep passing. A drafted token costs a quarter of a step.
	for range 10 {
		l.last = 2
		l.observeDraft(2, 0, 45*time.Millisecond)
		l.last = 4
		l.observeDraft(4, 4, 60*time.Millisecond)
	}
	if k := l.draftLen(2, 10, 10); k != 0 {
		t.Fatalf("after failures, a 2-token match drafts %d", k)
	}
	if k := l.draftLen(4, 10, 10); k < 6 {
		t.Fatalf("after successes, a 4-token match drafts only %d", k)
	}
}

// A verifying batch size found inexact is not drafted again; a shorter
// exact or unchecked one still is.
func TestDraftsKeepToVerifyingBatchSizesThatAreExact(t *testing.T) {
	e := &Engine{}
	if got := e.exactDraftLen(6); got != 6 {
		t.Fatalf("nothing checked yet: %d, want 6", got)
	}
	e.verifyExact = map[int]bool{7: false, 6: false, 5: true, 3: false}
	for _, c := range []struct{ k, want int }{{6, 4}, {5, 4}, {4, 4}, {3, 3}, {2, 1}, {1, 1}, {0, 0}} {
		if got := e.exactDraftLen(c.k); got != c.want {
			t.Errorf("exactDraftLen(%d) = %d, want %d", c.k, got, c.want)
		}
	}
	e.verifyExact = map[int]bool{2: false, 3: false}
	if got := e.exactDraftLen(2); got != 0 {
		t.Errorf("every size up to 3 inexact: exactDraftLen(2) = %d, want 0", got)
	}
	if !e.verifyKnown(3) || e.verifyKnown(4) {
		t.Error("verifyKnown")
	}
	if sameBits([]float32{1, 2}, []float32{1, 2.0000002}) || !sameBits([]float32{1, 2}, []float32{1, 2}) || sameBits(nil, nil) {
		t.Error("sameBits")
	}
}
