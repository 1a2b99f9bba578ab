package llama

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/llama"

	"github.com/nook-ai/nook/engine"
)

// Parallel is an in-process engine that answers several chats at once from
// one model and one llama.cpp context: continuous batching. Each running
// chat is a sequence of its own (a slot, with its own part of the KV cache
// and its own sampler), and one scheduler goroutine builds every decode
// call from one token of each generating sequence plus chunks of the
// prompts being read, so that N clients share each pass over the weights
// instead of taking turns. A chat that arrives when every slot is busy
// waits its turn (first come, first served); one whose caller stops
// listening leaves its slot at the next step. A slot keeps its cache after
// its chat ends, and a new chat goes to the free slot whose cache shares
// the longest prefix with its prompt.
//
// Each generating chat drafts tokens by prompt lookup (lookup.go) in the
// shared batch: every generating sequence gets the same number of drafted
// tokens after its next one (see plan: llama.cpp takes a batch in one pass
// over the weights only when each sequence has as many tokens in it as
// the others), the sampler keeps those it would have picked one at a
// time, and the keys and values of the rest are dropped. How many to
// draft is learned per number of generating chats: what a step costs
// with k drafted tokens each, and how often each chat's drafts are kept.
// The first step with a given set of chats and draft size is checked
// against the same step without drafts, bit for bit, as the one-chat
// engine checks its verifying batches; a combination that differs is
// never drafted again.
//
// Embeddings run between steps on a sequence of their own, without
// touching the chats' caches. [Engine] (one chat at a time) stays what
// `nook run` and the terminal app use; `nook serve` uses Parallel.
type Parallel struct {
	e        *Engine // the model, template and tokenizer; its context holds len(slots)+1 sequences
	slots    []*slot
	embedSeq int

	submit  chan any // *seqJob or *embedJob, to the scheduler
	quit    chan struct{}
	stopped chan struct{}

	mu     sync.Mutex
	closed bool

	// Owned by the scheduler goroutine:
	waiting []*seqJob
	tick    uint64
	order   []*slot // reading's buffer
	// Prompt lookup (see plan): costs[m] is what a step of m generating
	// chats costs with k drafted tokens each; exact records, per set of
	// chats and draft size, whether drafting gave the plain step's logits;
	// sinceProbe and probeEvery space the drafts tried while drafting does
	// not pay.
	costs                  []costs
	exact                  map[draftKey]bool
	sinceProbe, probeEvery int
	// Totals of every chat's drafts (Drafts).
	drafted, kept atomic.Int64
}

// draftKey is a set of generating slots (a bit per slot id) and how many
// tokens each drafted.
type draftKey struct {
	slots uint64
	k     int
}

// slotSet is the set of slots, a bit per slot id.
func slotSet(slots []*slot) uint64 {
	var set uint64
	for _, s := range slots {
		set |= 1 << s.id
	}
	return set
}

var _ engine.Engine = (*Parallel)(nil)

// OpenParallel loads the model at path with room for slots chats at once,
// each with a context of opts.ContextLength tokens (the KV cache grows
// accordingly: slots+1 sequences, one of them for embeddings).
func OpenParallel(path string, slots int, opts Options) (*Parallel, error) {
	if slots < 1 {
		return nil, fmt.Errorf("llama: %d slots: need at least one", slots)
	}
	if slots > 64 { // draftKey's set of slots is a 64-bit mask
		return nil, fmt.Errorf("llama: %d slots: at most 64", slots)
	}
	e, err := open(path, opts, slots+1)
	if err != nil {
		return nil, err
	}
	p := &Parallel{e: e, embedSeq: slots, submit: make(chan any), quit: make(chan struct{}), stopped: make(chan struct{}),
		costs: make([]costs, slots+1), exact: map[draftKey]bool{}, probeEvery: probeFirst}
	for i := range slots {
		p.slots = append(p.slots, &slot{id: i, next: -1, idx: -1})
	}
	go p.run()
	return p, nil
}

// Drafts returns how many tokens prompt lookup has drafted since the
// engine opened, and how many of them the sampler kept.
func (p *Parallel) Drafts() (drafted, kept int64) { return p.drafted.Load(), p.kept.Load() }

// Slots is how many chats run at once.
func (p *Parallel) Slots() int { return len(p.slots) }

// Info describes the model; ContextLength is each chat's.
func (p *Parallel) Info() engine.ModelInfo { return p.e.Info() }

// Tokenize returns the token ids of text, without special tokens.
func (p *Parallel) Tokenize(text string) ([]int, error) { return p.e.Tokenize(text) }

// Close stops the scheduler (running and waiting chats end with
// engine.ErrClosed) and frees the model.
func (p *Parallel) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.quit)
	p.mu.Unlock()
	<-p.stopped
	return p.e.Close()
}

// send hands a job to the scheduler.
func (p *Parallel) send(ctx context.Context, j any) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return engine.ErrClosed
	}
	select {
	case p.submit <- j:
		return nil
	case <-p.quit:
		return engine.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slot is one sequence of the context.
type slot struct {
	id    int
	cache []int   // tokens whose keys and values are in this sequence
	job   *seqJob // nil: free
	used  uint64  // the scheduler tick it was last given a chat

	pending []int // prompt tokens still to evaluate
	next    int   // the sampled token to feed at the next step (-1: none)
	idx     int   // the batch index of this slot's logits after the step (-1: none)
	fed     []int // the tokens this step added to the batch for this slot
	take    int   // prompt tokens this step reads

	// Prompt lookup: look learns how often this chat's drafts are kept
	// (nil: no drafting), hist is its prompt and answer so far, where
	// drafts come from. This step's draft: draft, whose keys and values
	// sit after cache until the sampler confirms them (spec: those not
	// confirmed yet), drawn from a match of match tokens (0: padding).
	look  *lookup
	hist  []int
	draft []int
	spec  []int
	match int
}

func (s *slot) free() {
	s.job, s.pending, s.next, s.idx, s.fed, s.take = nil, nil, -1, -1, nil, 0
	s.look, s.hist, s.draft, s.spec, s.match = nil, nil, nil, nil, 0
}

// seqJob is a chat: what the scheduler needs, and the chunks it produced
// for the caller's goroutine.
type seqJob struct {
	ctx     context.Context
	req     engine.ChatRequest
	toks    []int
	sampler *llama.SamplingContext
	stats   *engine.Stats
	start   time.Time
	evalAt  time.Time // the first prompt token went into a batch
	decAt   time.Time // the first token was sampled
	out     *stopper
	utf8    []byte
	gone    chan struct{} // closed when the caller stops listening

	mu     sync.Mutex
	chunks []engine.Chunk
	err    error
	done   bool
	notify chan struct{}
}

func (j *seqJob) push(c engine.Chunk, err error) {
	j.mu.Lock()
	if err != nil {
		j.err = err
	} else {
		j.chunks = append(j.chunks, c)
	}
	if c.Done || err != nil {
		j.done = true
	}
	j.mu.Unlock()
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

func (j *seqJob) left() bool {
	select {
	case <-j.gone:
		return true
	default:
		return j.ctx.Err() != nil
	}
}

// Chat streams the answer to req; see engine.Engine. Many may run at once.
func (p *Parallel) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			yield(engine.Chunk{}, engine.ErrClosed)
			return
		}
		if p.e.embed.only {
			yield(engine.Chunk{}, p.e.errEmbeddingOnly())
			return
		}
		start := time.Now()
		toks, dropped, err := p.e.promptTokens(req)
		if err != nil {
			yield(engine.Chunk{}, err)
			return
		}
		sampler, err := p.e.samplerFor(req)
		if err != nil {
			yield(engine.Chunk{}, err)
			return
		}
		stops := append(append([]string{}, req.Options.Stop...), p.e.tmpl.Stop...)
		j := &seqJob{ctx: ctx, req: req, toks: toks, sampler: sampler, start: start, out: newStopper(stops),
			stats: &engine.Stats{PromptTokens: len(toks), Dropped: dropped, ContextLength: p.e.nCtx},
			gone:  make(chan struct{}), notify: make(chan struct{}, 1)}
		defer close(j.gone)
		if err := p.send(ctx, j); err != nil {
			yield(engine.Chunk{}, err)
			return
		}
		for {
			j.mu.Lock()
			chunks, err, done := j.chunks, j.err, j.done
			j.chunks = nil
			j.mu.Unlock()
			for _, c := range chunks {
				if err := ctx.Err(); err != nil {
					yield(engine.Chunk{}, err)
					return
				}
				if !yield(c, nil) {
					return
				}
			}
			if err != nil {
				yield(engine.Chunk{}, err)
				return
			}
			if done {
				return
			}
			select {
			case <-j.notify:
			case <-ctx.Done():
				yield(engine.Chunk{}, ctx.Err())
				return
			}
		}
	}
}

// embedJob is an Embed call.
type embedJob struct {
	ctx   context.Context
	texts []string
	vecs  [][]float32
	err   error
	done  chan struct{}
}

// Embed returns one L2-normalised vector per text (see Engine.Embed). It
// runs between two steps of the running chats and leaves their caches as
// they are.
func (p *Parallel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if p.e.embed.only {
		return p.e.Embed(ctx, texts) // embed.go: batched, no chats to share with
	}
	j := &embedJob{ctx: ctx, texts: texts, done: make(chan struct{})}
	if err := p.send(ctx, j); err != nil {
		return nil, err
	}
	select {
	case <-j.done:
		return j.vecs, j.err
	case <-ctx.Done():
		<-j.done // the scheduler checks ctx between texts
		return nil, ctx.Err()
	}
}

// run is the scheduler: the only goroutine that touches the context.
func (p *Parallel) run() {
	defer close(p.stopped)
	for {
		p.reap()
		p.admit()
		var j any
		if p.busy() {
			select { // take what arrived, without waiting
			case j = <-p.submit:
			case <-p.quit:
				p.shutdown()
				return
			default:
			}
		} else {
			select {
			case j = <-p.submit:
			case <-p.quit:
				p.shutdown()
				return
			}
		}
		switch j := j.(type) {
		case *seqJob:
			p.waiting = append(p.waiting, j)
			continue // admit it before the next step
		case *embedJob:
			p.embed(j)
			continue
		}
		p.step()
	}
}

func (p *Parallel) busy() bool {
	for _, s := range p.slots {
		if s.job != nil {
			return true
		}
	}
	return false
}

// shutdown ends every chat with engine.ErrClosed.
func (p *Parallel) shutdown() {
	for _, s := range p.slots {
		if s.job != nil {
			s.job.push(engine.Chunk{}, engine.ErrClosed)
			s.free()
		}
	}
	for _, j := range p.waiting {
		j.push(engine.Chunk{}, engine.ErrClosed)
	}
	p.waiting = nil
}

// reap frees the slots (and queue places) of chats whose callers left.
func (p *Parallel) reap() {
	for _, s := range p.slots {
		if s.job != nil && s.job.left() {
			s.free()
		}
	}
	kept := p.waiting[:0]
	for _, j := range p.waiting {
		if !j.left() {
			kept = append(kept, j)
		}
	}
	clear(p.waiting[len(kept):])
	p.waiting = kept
}

// minReuse is the shortest cached prefix worth choosing a slot for: a
// few shared tokens (a BOS, a template's opening) save nothing.
const minReuse = 16

// admit gives waiting chats free slots, in arrival order: each goes to the
// free slot whose cache shares the longest prefix with its prompt, or,
// when none shares minReuse tokens, to the free slot with the lowest id.
//
// Low ids keep the running chats on consecutive sequence ids. With one
// KV stream per sequence, llama.cpp splits a batch into micro-batches of
// consecutive sequence ids (llama_batch_allocr::split_equal), each a pass
// over the weights: chats on slots 0, 1 and 2 decode in one pass, chats on
// 0 and 2 in two.
func (p *Parallel) admit() {
	for len(p.waiting) > 0 {
		best := pickSlot(p.slots, p.waiting[0].toks)
		if best == nil {
			return
		}
		j := p.waiting[0]
		p.waiting = p.waiting[1:]
		p.tick++
		best.used = p.tick
		p.assign(best, j)
	}
}

// pickSlot is the free slot for a chat whose prompt is toks (see admit);
// nil when every slot is busy.
func pickSlot(slots []*slot, toks []int) *slot {
	var best *slot
	bestKeep := -1
	for _, s := range slots {
		if s.job != nil {
			continue
		}
		keep := commonPrefix(s.cache, toks)
		if keep < minReuse {
			keep = 0
		}
		if keep > bestKeep { // ties: the lowest id, the first found
			best, bestKeep = s, keep
		}
	}
	return best
}

func (p *Parallel) assign(s *slot, j *seqJob) {
	// At least the last prompt token is evaluated again, for its logits.
	keep := min(commonPrefix(s.cache, j.toks), len(j.toks)-1)
	if keep < len(s.cache) && !p.e.lctx.KvCacheSeqRm(s.id, keep, -1) {
		p.e.lctx.KvCacheSeqRm(s.id, 0, -1)
		keep = 0
	}
	s.cache = s.cache[:keep]
	s.job, s.pending, s.next, s.idx = j, j.toks[keep:], -1, -1
	if p.e.lookup {
		s.look = newLookup()
		s.hist = append(make([]int, 0, len(j.toks)+256), j.toks...)
	}
	j.stats.PromptEvaluated = len(s.pending)
	for _, t := range j.toks[max(0, len(j.toks)-64):] { // repetition penalties see the prompt's end
		j.sampler.Accept(t, false)
	}
}

// step runs one decode call: a token for every generating slot (and its
// draft, see plan) and prompt chunks (up to the batch size, first come
// first served) for the slots still reading theirs. The batch lists the
// slots in id order, so that llama.cpp's split into micro-batches of
// consecutive sequences (see admit) takes all of them in its first one.
func (p *Parallel) step() {
	// The prompt budget, in the order the slots were given their chats.
	budget := p.e.nBatch
	for _, s := range p.reading() {
		s.take = min(len(s.pending), budget)
		budget -= s.take
	}
	var gen []*slot
	reading := false
	for _, s := range p.slots {
		switch {
		case s.job == nil:
		case s.next >= 0:
			if len(s.cache) >= p.e.nCtx {
				p.finish(s, "length")
				continue
			}
			gen = append(gen, s)
		case s.take > 0:
			reading = true
		}
	}
	set := slotSet(gen)
	k := 0
	if !reading && len(gen) > 0 {
		k = p.plan(gen, set)
	}
	key := draftKey{set, k}
	// The first draft for a set of chats and a size is checked: the step
	// without drafts first (the logits plain decoding gets), then with.
	var plain [][]float32
	if _, known := p.exact[key]; k > 0 && !known {
		in := p.fill(0)
		if err := p.e.decodeBatch(p.e.batch); err != nil {
			p.fail(in, err)
			return
		}
		for _, s := range gen {
			plain = append(plain, p.e.lctx.GetLogitsIth(s.idx)) // a copy
			p.e.lctx.KvCacheSeqRm(s.id, len(s.cache), -1)
		}
	}
	in := p.fill(k)
	if len(in) == 0 {
		return
	}
	t0 := time.Now()
	if err := p.e.decodeBatch(p.e.batch); err != nil {
		p.fail(in, err)
		return
	}
	took := time.Since(t0)
	if plain != nil {
		exact := true
		for i, s := range gen {
			exact = exact && sameBits(p.e.lctx.GetLogitsIth(s.idx), plain[i])
		}
		p.exact[key] = exact
		if !exact {
			// Not exact: the step is done again without drafts, and
			// timed as neither.
			for _, s := range gen {
				p.e.lctx.KvCacheSeqRm(s.id, len(s.cache), -1)
				s.draft, s.match = nil, 0
			}
			k, took = 0, 0
			in = p.fill(0)
			if err := p.e.decodeBatch(p.e.batch); err != nil {
				p.fail(in, err)
				return
			}
		}
	}
	if took > 0 && !reading {
		c := &p.costs[len(gen)]
		if k == 0 {
			c.step = blend(c.step, took.Seconds())
		} else {
			c.verify[k] = blend(c.verify[k], took.Seconds())
		}
	}
	for _, s := range in {
		s.cache = append(s.cache, s.fed...)
		s.fed = nil
		s.spec = s.draft
		if s.idx >= 0 {
			p.sample(s)
		}
	}
}

// fill builds the step's batch: each generating slot's next token with k
// drafted tokens after it (s.draft), and the prompt chunks the slots
// reading theirs take. It returns the slots in the batch.
func (p *Parallel) fill(k int) []*slot {
	b := p.e.batch
	b.Clear()
	var in []*slot
	for _, s := range p.slots {
		switch {
		case s.job == nil:
		case s.next >= 0:
			b.Add(s.next, nil, len(s.cache), true, s.id)
			s.fed, s.idx = []int{s.next}, b.NumTokens()-1
			for i, d := range s.draft[:k] {
				b.Add(d, nil, len(s.cache)+1+i, true, s.id)
			}
			in = append(in, s)
		case s.take > 0:
			n := s.take
			s.take = 0
			last := n == len(s.pending)
			for i, t := range s.pending[:n] {
				b.Add(t, nil, len(s.cache)+i, last && i == n-1, s.id)
			}
			if s.job.evalAt.IsZero() {
				s.job.evalAt = time.Now()
			}
			s.fed, s.pending, s.idx = s.pending[:n], s.pending[n:], -1
			if last {
				s.idx = b.NumTokens() - 1
			}
			in = append(in, s)
		}
	}
	return in
}

// fail ends the chats of a step whose decode failed.
func (p *Parallel) fail(in []*slot, err error) {
	for _, s := range in {
		p.e.lctx.KvCacheSeqRm(s.id, len(s.cache), -1)
		s.job.push(engine.Chunk{}, fmt.Errorf("llama: decode: %w", err))
		s.free()
	}
}

// plan chooses how many tokens each generating slot drafts this step
// (0: none) and sets each one's draft. The count is the same for every
// slot: llama.cpp splits a batch of several sequences into micro-batches
// that hold as many tokens of each (llama_batch_allocr::split_equal), so
// one slot drafting 10 tokens beside three drafting none would cost two
// passes over the weights. A slot without an n-gram match drafts what
// followed its last token where that last occurred (a one-token match,
// learned like the others), and one whose last token is new pads its
// draft with that token repeated; either costs what any drafted token
// costs.
//
// The count maximises the expected tokens per second of the step: the
// sum over slots of 1 + a + a² + … (a: the slot's learned acceptance for
// its match length, up to the tokens it may still give), over the learned
// cost of a step of len(gen) slots drafting k each; it must beat plain
// decoding by gainNeeded. Sizes whose check found them inexact for this
// set of slots are skipped.
func (p *Parallel) plan(gen []*slot, set uint64) int {
	kmax := min(lookupMaxDraft, p.e.nBatch/len(gen)-1)
	type cand struct {
		size, from int
		a          float64 // acceptance of a drafted token
		left       int     // tokens the chat may still give
	}
	cands := make([]cand, len(gen))
	found := false
	for i, s := range gen {
		s.draft, s.match = nil, 0
		if s.look == nil {
			return 0
		}
		kmax = min(kmax, p.e.nCtx-len(s.cache)-1)
		c := cand{left: math.MaxInt}
		if n := s.job.req.Options.NumPredict; n > 0 {
			c.left = n - s.job.stats.DecodeTokens
		}
		// Down to a one-token match (what followed the last token where
		// it last occurred): a poorer guess than a longer match, learned
		// the same way (acceptance per match length).
		if c.size, c.from = findMatch(s.hist, 1); c.size > 0 {
			c.a = s.look.by[c.size].rate()
			found = true
		}
		cands[i] = c
	}
	if kmax <= 0 || !found {
		return 0
	}
	// expect is the expected tokens of a step with k drafted each: per
	// slot 1 + a + … + a^k, no more terms than the chat may still give.
	expect := func(k int) float64 {
		sum := 0.0
		for _, c := range cands {
			term := 1.0
			for j := 0; j <= k && j < c.left; j++ {
				sum += term
				term *= c.a
			}
		}
		return sum
	}
	usable := func(k int) bool {
		exact, known := p.exact[draftKey{set, k}]
		return exact || !known
	}
	// largest is the largest usable size up to k (0: none).
	largest := func(k int) int {
		for ; k > 0 && !usable(k); k-- {
		}
		return k
	}
	cost := &p.costs[len(gen)]
	bestK := 0
	if fixed := p.e.lookupFixed; fixed > 0 {
		bestK = largest(min(kmax, fixed))
	} else {
		best := gainNeeded * expect(0) / cost.plainStep()
		for k := 1; k <= kmax; k++ {
			if r := expect(k) / cost.verifyCost(k); r > best && usable(k) {
				best, bestK = r, k
			}
		}
		if bestK > 0 {
			p.probeEvery = probeFirst
		} else {
			// Not worth it by what was learned: now and then a cheap
			// probe, so that acceptance is measured again as the text
			// changes.
			if p.sinceProbe++; p.sinceProbe < p.probeEvery {
				return 0
			}
			p.sinceProbe, p.probeEvery = 0, min(p.probeEvery*2, probeMost)
			bestK = largest(min(kmax, 2))
		}
	}
	if bestK == 0 {
		return 0
	}
	for i, s := range gen {
		if c := cands[i]; c.size > 0 {
			s.draft, s.match = continuation(s.hist, c.from, bestK), c.size
		} else {
			s.draft = slices.Repeat(s.hist[len(s.hist)-1:], bestK) // padding
		}
	}
	return bestK
}

// reading lists the slots with prompt tokens left, in the order they were
// given their chats (first come, first served for the prompt budget).
func (p *Parallel) reading() []*slot {
	out := p.order[:0]
	for _, s := range p.slots {
		if s.job != nil && len(s.pending) > 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *slot) int { return cmp.Compare(a.used, b.used) })
	p.order = out
	return out
}

// sample picks the next token of s from its logits and streams its
// text; while the tokens it picks are the ones drafted after it (s.spec,
// already in the cache) it goes on to the logits after each. The keys and
// values of a draft's rest are dropped.
func (p *Parallel) sample(s *slot) {
	j := s.job
	st := j.stats
	if st.DecodeTokens == 0 && s.next < 0 {
		st.PromptDuration = time.Since(j.evalAt)
	}
	idx := s.idx
	s.idx = -1
	for {
		if n := j.req.Options.NumPredict; n > 0 && st.DecodeTokens >= n {
			p.finish(s, "length")
			return
		}
		tok := j.sampler.Sample(p.e.lctx, idx)
		if st.DecodeTokens == 0 {
			st.TimeToFirst = time.Since(j.start)
			j.decAt = time.Now()
		}
		if p.e.model.TokenIsEog(tok) {
			p.finish(s, "stop")
			return
		}
		j.sampler.Accept(tok, true)
		st.DecodeTokens++
		if s.look != nil {
			s.hist = append(s.hist, tok)
		}
		j.utf8 = append(j.utf8, p.e.model.TokenToPiece(tok)...)
		n := completeUTF8(j.utf8)
		text, stopped := j.out.push(string(j.utf8[:n]))
		j.utf8 = append(j.utf8[:0], j.utf8[n:]...)
		if text != "" {
			j.push(engine.Chunk{Text: text}, nil)
		}
		if len(s.spec) > 0 && s.spec[0] == tok {
			// The draft was right: tok is in the cache already, and the
			// logits after it are the next in the batch.
			s.cache = append(s.cache, tok)
			s.spec = s.spec[1:]
			idx++
			if stopped {
				p.finish(s, "stop")
				return
			}
			if j.left() {
				// Nobody reads the rest: the slot is free at once, as
				// reap frees it between steps.
				p.settle(s)
				s.free()
				return
			}
			continue
		}
		if stopped {
			p.finish(s, "stop")
			return
		}
		p.settle(s)
		s.next = tok
		return
	}
}

// settle ends the step's draft of s: the keys and values of the tokens
// not confirmed are dropped, and the chat's lookup learns how many were
// kept.
func (p *Parallel) settle(s *slot) {
	if len(s.spec) > 0 {
		p.e.lctx.KvCacheSeqRm(s.id, len(s.cache), -1)
	}
	if k := len(s.draft); s.look != nil && k > 0 {
		kept := k - len(s.spec)
		p.drafted.Add(int64(k))
		p.kept.Add(int64(kept))
		if s.match > 0 {
			s.look.observeMatch(s.match, k, kept)
		} else { // padding: counted, not learned from
			s.look.Drafted += k
			s.look.Accepted += kept
		}
	}
	s.draft, s.spec, s.match = nil, nil, 0
}

// finish ends the chat of s with its last chunk and frees the slot (its
// cache stays, for the next chat that shares a prefix).
func (p *Parallel) finish(s *slot, reason string) {
	p.settle(s)
	j := s.job
	if s.look != nil {
		j.stats.Drafted, j.stats.Accepted = s.look.Drafted, s.look.Accepted
	}
	if !j.decAt.IsZero() {
		j.stats.DecodeDuration = time.Since(j.decAt)
	}
	// The prompt and the answer (the last token sampled is not in the
	// cache unless it was drafted; either way it is in the context the
	// answer used, as the one-chat engine counts it).
	j.stats.ContextUsed = min(len(j.toks)+j.stats.DecodeTokens, p.e.nCtx)
	j.push(engine.Chunk{Text: j.out.flush(), Done: true, DoneReason: reason, Stats: j.stats}, nil)
	s.free()
}

// embed runs an Embed call on the embedding sequence, text by text.
func (p *Parallel) embed(j *embedJob) {
	defer close(j.done)
	b := p.e.batch
	out := make([][]float32, len(j.texts))
	for i, text := range j.texts {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			return
		}
		toks, err := p.e.model.Tokenize(text, true, false)
		if err != nil {
			j.err = fmt.Errorf("llama: embed: %w", err)
			return
		}
		if len(toks) == 0 {
			toks = []int{0}
		}
		toks = toks[:min(len(toks), p.e.nBatch, p.e.nCtx)]
		b.Clear()
		for pos, t := range toks {
			b.Add(t, nil, pos, true, p.embedSeq)
		}
		err = p.e.decodeBatch(b)
		if err == nil {
			vec := p.e.lctx.GetEmbeddingsSeq(p.embedSeq)
			if vec == nil {
				vec = make([]float32, p.e.model.NEmbd())
				for pos := range toks {
					h := p.e.lctx.GetEmbeddingsIth(pos)
					for k := range vec {
						vec[k] += h[k]
					}
				}
			}
			out[i] = engine.Normalize(vec)
		}
		p.e.lctx.KvCacheSeqRm(p.embedSeq, 0, -1)
		if err != nil {
			j.err = fmt.Errorf("llama: embed: %w", err)
			return
		}
	}
	j.vecs = out
}
