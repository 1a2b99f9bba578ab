package llama

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
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
}

var _ engine.Engine = (*Parallel)(nil)

// OpenParallel loads the model at path with room for slots chats at once,
// each with a context of opts.ContextLength tokens (the KV cache grows
// accordingly: slots+1 sequences, one of them for embeddings).
func OpenParallel(path string, slots int, opts Options) (*Parallel, error) {
	if slots < 1 {
		return nil, fmt.Errorf("llama: %d slots: need at least one", slots)
	}
	e, err := open(path, opts, slots+1)
	if err != nil {
		return nil, err
	}
	p := &Parallel{e: e, embedSeq: slots, submit: make(chan any), quit: make(chan struct{}), stopped: make(chan struct{})}
	for i := range slots {
		p.slots = append(p.slots, &slot{id: i, next: -1, idx: -1})
	}
	go p.run()
	return p, nil
}

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
}

func (s *slot) free() {
	s.job, s.pending, s.next, s.idx, s.fed, s.take = nil, nil, -1, -1, nil, 0
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
	j.stats.PromptEvaluated = len(s.pending)
	for _, t := range j.toks[max(0, len(j.toks)-64):] { // repetition penalties see the prompt's end
		j.sampler.Accept(t, false)
	}
}

// step runs one decode call: a token for every generating slot and
// prompt chunks (up to the batch size, first come first served) for the
// slots still reading theirs. The batch lists the slots in id order, so
// that llama.cpp's split into micro-batches of consecutive sequences (see
// admit) takes all of them in its first one.
func (p *Parallel) step() {
	b := p.e.batch
	b.Clear()
	// The prompt budget, in the order the slots were given their chats.
	budget := p.e.nBatch
	for _, s := range p.reading() {
		s.take = min(len(s.pending), budget)
		budget -= s.take
	}
	var in []*slot
	for _, s := range p.slots {
		switch {
		case s.job == nil:
		case s.next >= 0:
			if len(s.cache) >= p.e.nCtx {
				p.finish(s, "length")
				continue
			}
			b.Add(s.next, nil, len(s.cache), true, s.id)
			s.fed, s.idx = []int{s.next}, b.NumTokens()-1
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
	if len(in) == 0 {
		return
	}
	if err := p.e.decodeBatch(b); err != nil {
		for _, s := range in {
			p.e.lctx.KvCacheSeqRm(s.id, len(s.cache), -1)
			s.job.push(engine.Chunk{}, fmt.Errorf("llama: decode: %w", err))
			s.free()
		}
		return
	}
	for _, s := range in {
		s.cache = append(s.cache, s.fed...)
		s.fed = nil
		if s.idx >= 0 {
			p.sample(s)
		}
	}
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

// sample picks the next token of s from its logits and streams its text.
func (p *Parallel) sample(s *slot) {
	j := s.job
	st := j.stats
	if st.DecodeTokens == 0 && s.next < 0 {
		st.PromptDuration = time.Since(j.evalAt)
	}
	if n := j.req.Options.NumPredict; n > 0 && st.DecodeTokens >= n {
		p.finish(s, "length")
		return
	}
	tok := j.sampler.Sample(p.e.lctx, s.idx)
	s.idx = -1
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
	j.utf8 = append(j.utf8, p.e.model.TokenToPiece(tok)...)
	n := completeUTF8(j.utf8)
	text, stopped := j.out.push(string(j.utf8[:n]))
	j.utf8 = append(j.utf8[:0], j.utf8[n:]...)
	if text != "" {
		j.push(engine.Chunk{Text: text}, nil)
	}
	if stopped {
		p.finish(s, "stop")
		return
	}
	s.next = tok
}

// finish ends the chat of s with its last chunk and frees the slot (its
// cache stays, for the next chat that shares a prefix).
func (p *Parallel) finish(s *slot, reason string) {
	j := s.job
	if !j.decAt.IsZero() {
		j.stats.DecodeDuration = time.Since(j.decAt)
	}
	j.stats.ContextUsed = len(s.cache)
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
