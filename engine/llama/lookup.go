package llama

import (
	"fmt"
	"math"
	"time"
)

// Prompt-lookup speculative decoding.
//
// An answer that quotes its sources repeats spans of its prompt (and a model
// that loops repeats its own output). After each token the engine looks for
// the last few tokens earlier in the prompt and answer; when they occur
// there, the tokens that followed them are a draft of what comes next. The
// draft is checked in the same decode as the token itself: one batch of
// 1+k tokens gives the model's distribution after each of them, and the
// sampler picks each next token from those exactly as it would one at a
// time. Tokens are kept while they equal the draft; the first that differs
// is kept too and ends the step.
//
// Because every emitted token is drawn by the same sampler from the same
// distribution, in the same order, as in plain decoding, the output follows
// the same distribution (with a deterministic draft, "sample and compare" is
// standard speculative acceptance: a draft token d is accepted with
// probability p(d), and otherwise the token comes from p without d), and at
// temperature 0 or with a fixed seed it is the same text.
//
// Exactness rests on the batch giving, at each position, the logits that
// decoding the tokens one at a time gives. In llama.cpp's CPU backend that
// holds for most weight types (every batch size takes the same dot
// products) but not for all: a batch of 2 or more F32/F16 rows (4 or more
// for Q8_0 and Q4_0 on some CPUs) goes to llamafile's tinyBLAS, whose sums
// run in another order than the one-token kernels', so the last bits of a
// logit differ and where two tokens tie that closely greedy decoding can
// pick the other. So the first draft of each size is checked: the token is
// decoded alone (as plain decoding would), then the batch, and the two
// logit vectors for the token are compared bit for bit. Where they are the
// same the batch is used as any other (the check cost one extra one-token
// step); a size that differs is never drafted again by this engine (a
// shorter one still may be), and its step is redone as a plain step, so
// the text stays exact either way.
//
// Verifying costs more than decoding one token, so the engine learns both
// the acceptance rate and what a verifying step of each size costs, drafts
// only as many tokens as pay off, and stops drafting when none does,
// probing again now and then (less often after each probe that fails).
//
// The cost is learned per draft size, not as a cost per drafted token:
// it is not linear. On a 2-core AVX-512 machine with a Q8_0 model a step
// of 2 tokens costs 2.1 one-token steps (the batch leaves ggml's one-token
// dot products for tinyBLAS's matrix kernel), yet one of 11 tokens costs
// only 4.8: past the switch each drafted token adds about a third of a
// step. Learning one cost per drafted token from the first short drafts
// priced long drafts at twice what they cost, and the engine never drafted
// more than 2 tokens where drafts of 10 were accepted 98% of the time.
// Sizes not measured yet are estimated from the nearest measured ones
// (and beyond the largest, from the slope between the two largest), so a
// long draft is tried when the measured short ones say it should pay.

const (
	lookupMinN = 2 // shortest n-gram matched
	// lookupMaxN: longest n-gram matched (tried first). A retrieved
	// passage, the question and the answer quoting them share many short
	// phrases; a match of up to 8 tokens finds the place being quoted where
	// the most recent 4-token one often is elsewhere (acceptance 89% → 93%
	// on bench/engine's own-answer prompt).
	lookupMaxN     = 8
	lookupMaxDraft = 10 // most tokens drafted in one step
	// Learned estimates start from these.
	priorAccept   = 0.6
	priorWeight   = 2    // in tested tokens
	priorPerDraft = 0.25 // a drafted token's share of a one-token step, until measured
	// A drafted token's estimated share of a one-token step is kept within
	// these when it is extrapolated from measured sizes.
	minPerDraft, maxPerDraft = 0.05, 2.0
	// Evidence decays by this per verifying step, so the estimates follow
	// the text (a quoted span starts or ends).
	evidenceDecay = 0.85
	// probeFirst, probeMost: steps with a match between probes while off.
	probeFirst = 4
	probeMost  = 256
	// gainNeeded: a draft must promise this much more tokens per second
	// than plain decoding.
	gainNeeded = 1.05
)

// lookup drafts tokens and learns whether drafting pays. Acceptance is
// learned per match length: a 4-token match predicts better than a
// 2-token one, and one may pay while the other does not.
type lookup struct {
	by [lookupMaxN + 1]evidence // by match length
	costs
	// fixed > 0 drafts that many tokens whenever a match allows, without
	// learning (tests: every step exercises verification).
	fixed int
	last  int // match length of the pending draft

	Drafted, Accepted int // totals, for Stats
}

// costs are what lookup learns about decode steps, a property of the model
// and the machine (the engine keeps them from one request to the next):
// step is the seconds of a one-token decode, verify[k] of a verifying
// decode with k drafted tokens (EWMAs; 0: not measured yet).
type costs struct {
	step   float64
	verify [lookupMaxDraft + 1]float64
}

// verifyCost estimates the seconds of a verifying step with k drafted
// tokens: measured, or interpolated between the nearest measured sizes
// (k = 0 is the one-token step), or extrapolated past the largest one by
// the slope between the two largest (the prior per drafted token when one
// is measured). Before anything is measured, step is 1 and a drafted
// token costs priorPerDraft.
func (c *costs) verifyCost(k int) float64 {
	step := c.plainStep()
	if c.verify[k] > 0 {
		return c.verify[k]
	}
	lo, hi := 0, -1 // nearest measured sizes below and above k (0: the step)
	for j := k - 1; j >= 1; j-- {
		if c.verify[j] > 0 {
			lo = j
			break
		}
	}
	for j := k + 1; j <= lookupMaxDraft; j++ {
		if c.verify[j] > 0 {
			hi = j
			break
		}
	}
	at := func(j int) float64 {
		if j == 0 {
			return step
		}
		return c.verify[j]
	}
	if hi > 0 {
		return at(lo) + (at(hi)-at(lo))*float64(k-lo)/float64(hi-lo)
	}
	per := priorPerDraft * step
	if lo > 0 {
		prev := 0
		for j := lo - 1; j >= 1; j-- {
			if c.verify[j] > 0 {
				prev = j
				break
			}
		}
		if prev > 0 {
			per = (at(lo) - at(prev)) / float64(lo-prev)
		}
	}
	per = min(max(per, minPerDraft*step), maxPerDraft*step)
	return at(lo) + per*float64(k-lo)
}

// plainStep is the one-token step's cost: measured, else 1 (the unit
// the priors are in).
func (c *costs) plainStep() float64 {
	if c.step > 0 {
		return c.step
	}
	return 1
}

// evidence about drafts from matches of one length.
type evidence struct {
	// hits and tests: accepted draft tokens and tokens tested, decayed (a
	// token is tested when all before it were accepted).
	hits, tests float64
	off         bool
	sinceProbe  int
	probeEvery  int
}

func newLookup() *lookup {
	l := &lookup{}
	for i := range l.by {
		l.by[i].probeEvery = probeFirst
	}
	return l
}

// rate is the estimated chance that a drafted token is accepted, given
// that the ones before it were.
func (v *evidence) rate() float64 {
	return (v.hits + priorAccept*priorWeight) / (v.tests + priorWeight)
}

// draftLen is how many tokens to draft from a match of size tokens with
// avail tokens after it, when at most limit fit: the k that maximises the
// expected tokens per second, 0 when none beats plain decoding.
func (l *lookup) draftLen(size, avail, limit int) int {
	kmax := min(avail, limit, lookupMaxDraft)
	if kmax <= 0 {
		return 0
	}
	if l.fixed > 0 {
		return min(kmax, l.fixed)
	}
	v := &l.by[size]
	if v.off {
		if v.sinceProbe++; v.sinceProbe < v.probeEvery {
			return 0
		}
		v.sinceProbe = 0
		return min(kmax, 2) // a cheap probe
	}
	a := v.rate()
	step := l.plainStep()
	// Tokens per second: plain decoding's, raised by the margin a draft
	// must beat, against each draft length's expected rate.
	best, bestK := gainNeeded/step, 0
	for k := 1; k <= kmax; k++ {
		// Expected tokens from a step with k drafted: 1 + a + a² + … + a^k.
		exp := (1 - math.Pow(a, float64(k+1))) / (1 - a)
		if r := exp / l.verifyCost(k); r > best {
			best, bestK = r, k
		}
	}
	if bestK == 0 {
		v.off, v.sinceProbe = true, 0
	}
	return bestK
}

// draft returns up to limit tokens that followed the most recent earlier
// occurrence of the longest n-gram that ends hist, or nil.
func (l *lookup) draft(hist []int, limit int) []int {
	if limit <= 0 {
		return nil
	}
	size, from := findMatch(hist, lookupMinN)
	if size == 0 {
		return nil
	}
	k := l.draftLen(size, lookupMaxDraft, limit)
	if k == 0 {
		return nil // a shorter match would predict worse
	}
	l.last = size
	return continuation(hist, from, k)
}

// findMatch finds the most recent earlier occurrence of the longest
// n-gram (minN to lookupMaxN tokens) that ends hist: its size (0: none)
// and where the tokens that followed it start.
func findMatch(hist []int, minN int) (size, from int) {
	n := len(hist)
	for size := min(lookupMaxN, n-1); size >= minN; size-- {
		pat := hist[n-size:]
		last := pat[size-1]
		// The most recent earlier occurrence (it may overlap the suffix:
		// a loop continues itself).
		for i := n - size - 1; i >= 0; i-- {
			if hist[i+size-1] == last && equalInts(hist[i:i+size-1], pat[:size-1]) {
				return size, i + size
			}
		}
	}
	return 0, 0
}

// continuation is the draft of k tokens that follow a match ending at
// from: what followed it, and where the match is recent (a loop), what
// follows reaches the end of hist and repeats with the loop's period.
func continuation(hist []int, from, k int) []int {
	period := len(hist) - from
	if k <= period {
		return hist[from : from+k : from+k]
	}
	out := make([]int, k)
	for j := range out {
		out[j] = hist[from+j%period]
	}
	return out
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const ewma = 0.2

// observePlain records a one-token decode step.
func (l *lookup) observePlain(d time.Duration) {
	l.step = blend(l.step, d.Seconds())
}

// observeDraft records a verifying step for the last draft, which drafted
// k tokens, of which accepted were kept, and took d.
func (l *lookup) observeDraft(k, accepted int, d time.Duration) {
	if k <= lookupMaxDraft {
		l.verify[k] = blend(l.verify[k], d.Seconds())
	}
	l.observeMatch(l.last, k, accepted)
}

// observeMatch records what became of a draft of k tokens from a match of
// size tokens: accepted of them were kept.
func (l *lookup) observeMatch(size, k, accepted int) {
	l.Drafted += k
	l.Accepted += accepted
	v := &l.by[size]
	v.hits = v.hits*evidenceDecay + float64(accepted)
	v.tests = v.tests*evidenceDecay + float64(min(accepted+1, k))
	if v.off {
		if accepted == k {
			// The probe paid: draft again, and probe soon next time.
			v.off, v.probeEvery = false, probeFirst
		} else {
			v.probeEvery = min(v.probeEvery*2, probeMost)
		}
	}
}

func blend(old, v float64) float64 {
	if old <= 0 {
		return v
	}
	return old + ewma*(v-old)
}

// verifyKnown reports whether a verifying batch of n tokens was checked.
func (e *Engine) verifyKnown(n int) bool {
	_, ok := e.verifyExact[n]
	return ok
}

// exactDraftLen is the longest draft of at most k tokens whose verifying
// batch is exact or not yet checked.
func (e *Engine) exactDraftLen(k int) int {
	for ; k > 0; k-- {
		if exact, known := e.verifyExact[1+k]; exact || !known {
			return k
		}
	}
	return 0
}

// decodeAlone decodes tok alone at the end of the cache and returns a
// copy of its logits, then forgets its keys and values again (e.cache is
// not extended): the first half of a verifying batch's check.
func (e *Engine) decodeAlone(tok int) ([]float32, error) {
	if err := e.decodeOne(tok); err != nil {
		return nil, err
	}
	logits := e.lctx.GetLogitsIth(0)
	e.lctx.KvCacheSeqRm(0, len(e.cache), -1)
	return logits, nil
}

// decodeOne decodes tok alone at the end of the cache, in place of
// whatever keys and values sit past e.cache (a verifying batch's).
func (e *Engine) decodeOne(tok int) error {
	e.lctx.KvCacheSeqRm(0, len(e.cache), -1)
	e.batch.Clear()
	e.batch.Add(tok, nil, len(e.cache), true, 0)
	if err := e.decode(); err != nil {
		e.dropCacheFrom(len(e.cache))
		return fmt.Errorf("llama: decode: %w", err)
	}
	return nil
}

// checkVerify runs after a verifying batch of n tokens whose first token
// was decoded alone before (single: its logits then): it records and
// returns whether the batch gave the same logits for it, bit for bit.
func (e *Engine) checkVerify(single []float32, n int) bool {
	exact := sameBits(e.lctx.GetLogitsIth(0), single)
	if e.verifyExact == nil {
		e.verifyExact = map[int]bool{}
	}
	e.verifyExact[n] = exact
	return exact
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
