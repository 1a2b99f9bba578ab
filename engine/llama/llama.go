package llama

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/prompt"
	"github.com/nook-ai/nook/internal/hint"
)

// Options for [Open]. Zero values take the defaults noted.
type Options struct {
	// ContextLength in tokens; default min(trained length, 8192).
	ContextLength int
	// Threads pins the CPU threads (clamped to the cores this process may
	// use). Default 0: adaptive, as many as there are free cores, measured
	// between decode steps (see threads.go); fewer for tiny models.
	Threads int
	// BatchSize is how many prompt tokens one decode call evaluates; default 512.
	BatchSize int
	// GPULayers to offload when a GPU backend is present: <0 all (default), 0 none.
	GPULayers *int
	// Mmap says whether the weights are mapped from the file or read into
	// memory. nil: mapped when layers run on a GPU or when the file does
	// not fit in the memory available now, read otherwise (mmap.go).
	Mmap *bool
	// Name to report in Info; default the file name.
	Name string
	// Progress, if set, is called with the loading progress (0..1).
	Progress func(float32)
	// NoLookup turns off prompt-lookup speculative decoding (lookup.go).
	NoLookup bool
}

// Engine is an in-process llama.cpp model. It runs one request at a time;
// concurrent calls wait for each other.
type Engine struct {
	mu      sync.Mutex
	closed  bool
	model   *llama.Model
	lctx    *llama.Context
	batch   *llama.Batch
	tmpl    *prompt.Template
	info    engine.ModelInfo
	nCtx    int
	nBatch  int
	cache   []int // tokens whose keys/values are in the KV cache (sequence 0)
	special map[string]bool
	embed   embedPlan // how Embed works (embed.go)
	threads *threadCtl
	lookup  bool
	// lookupFixed > 0 drafts that many tokens at every match (tests).
	lookupFixed int
	// lookupCost keeps what lookup learned about decode costs (a property
	// of the model and machine) from one request to the next; acceptance
	// depends on the text and starts afresh.
	lookupCost costs
	// verifyExact: for a verifying batch of n tokens, whether it gives
	// the logits one-token decoding gives, bit for bit (lookup.go's
	// exactness check; absent until a draft of that size is first made).
	verifyExact map[int]bool
}

var _ engine.Engine = (*Engine)(nil)

var backendOnce sync.Once

// Backends initialises ggml (once) and lists the compute devices found:
// "CPU" always, then each GPU as "LIBRARY ID" (e.g. "CUDA 0", "Metal 0").
func Backends() []string {
	backendOnce.Do(llama.BackendInit)
	out := []string{"CPU"}
	for _, d := range llama.EnumerateGPUs() {
		out = append(out, strings.TrimSpace(d.Library+" "+d.ID))
	}
	return out
}

// Open validates and loads the GGUF model at path.
func Open(path string, opts Options) (*Engine, error) { return open(path, opts, 1) }

// open loads the model with a context of seqs sequences of
// opts.ContextLength tokens each (parallel.go uses more than one).
func open(path string, opts Options, seqs int) (*Engine, error) {
	start := time.Now()
	f, err := gguf.Inspect(path, gguf.Options{})
	if err != nil {
		return nil, badModel(path, err)
	}
	tmpl, err := prompt.ForModel(f.ChatTemplate())
	if err != nil {
		return nil, fmt.Errorf("llama: %s: %w", path, err)
	}
	backendOnce.Do(llama.BackendInit)

	trained := f.ContextLength()
	nCtx := opts.ContextLength
	if nCtx <= 0 {
		nCtx = 8192
		if trained > 0 {
			nCtx = min(nCtx, trained)
		}
	}
	// An embedding model decodes whole batches of texts (embed.go): the
	// work per decode is the batch's, not one token's.
	plan := planEmbed(f, opts)
	work := f.Parameters()
	if plan.only {
		work *= uint64(plan.batch)
	}
	var lctx *llama.Context
	threads := newThreadCtl(work, opts.Threads, func(n int) bool { return setThreads(lctx, n) })
	nBatch := opts.BatchSize
	if nBatch <= 0 {
		nBatch = 512
	}
	nBatch = min(nBatch, nCtx)
	ctxTokens, nSeq := nCtx*seqs, seqs
	if plan.only {
		// Whatever seqs asks: Parallel hands an embedding model's Embed
		// calls to the Engine (embed.go).
		nCtx, nBatch, nSeq = plan.ctx, plan.batch, plan.maxSeqs
		ctxTokens = nCtx
	}

	backend := "CPU"
	progress := opts.Progress
	if progress == nil {
		progress = func(float32) {} // llama.cpp would print dots
	}
	gpus := llama.EnumerateGPUs()
	layers := -1
	if opts.GPULayers != nil {
		layers = *opts.GPULayers
	}
	onGPU := len(gpus) > 0 && layers != 0
	params := llama.ModelParams{UseMmap: useMmap(opts.Mmap, onGPU, f.Size, memAvailable()), Progress: progress}
	if onGPU {
		backend = gpus[0].Library
		params.NumGpuLayers = 999
		if layers > 0 {
			params.NumGpuLayers = layers
		}
		params.Devices = []uint64{gpus[0].LlamaID}
	}
	model, err := llama.LoadModelFromFile(path, params)
	if err != nil {
		return nil, badModel(path, err)
	}
	lctx, err = llama.NewContextWithModel(model, llama.NewContextParams(ctxTokens, nBatch, nSeq, threads.initial(), ml.FlashAttentionAuto, ""))
	if err != nil {
		llama.FreeModel(model)
		return nil, hint.New(fmt.Errorf("llama: %s: context of %d tokens: %w", path, nCtx, err), "try a smaller context length (context_length in the config)")
	}
	batch, err := llama.NewBatch(nBatch, seqs, 0)
	if err != nil {
		freeContext(lctx)
		llama.FreeModel(model)
		return nil, fmt.Errorf("llama: %s: %w", path, err)
	}
	name := opts.Name
	if name == "" {
		name = strings.TrimSuffix(baseName(path), ".gguf")
	}
	e := &Engine{
		model: model, lctx: lctx, batch: batch, tmpl: tmpl, nCtx: nCtx, nBatch: nBatch,
		info: engine.ModelInfo{
			Name: name, Path: path, Architecture: f.Architecture(), Parameters: f.Parameters(),
			Quantization: f.Quantization(), ContextLength: nCtx, TrainedLength: trained,
			EmbeddingSize: model.NEmbd(), Backend: backend, Template: tmpl.Name,
		},
		special: map[string]bool{},
		embed:   plan,
		threads: threads,
		lookup:  !opts.NoLookup,
	}
	if err := e.finishEmbed(); err != nil {
		e.Close()
		return nil, fmt.Errorf("llama: %s: %w", path, err)
	}
	threads.start() // the load so far was ours: measure from now
	e.info.LoadDuration = time.Since(start)
	return e, nil
}

func badModel(path string, err error) error {
	what := "the file is not a usable GGUF model"
	switch {
	case errors.Is(err, os.ErrNotExist):
		what = "no such file"
	case errors.Is(err, gguf.ErrTruncated):
		what = "the file is truncated"
	case errors.Is(err, gguf.ErrNotGGUF):
		what = "the file is not GGUF"
	case errors.Is(err, gguf.ErrNoWeights):
		what = "the file has no weights (a vocabulary-only GGUF)"
	case errors.Is(err, gguf.ErrUnsupported):
		what = "this build of llama.cpp does not support it"
	}
	return hint.New(fmt.Errorf("llama: %s: %s: %w: %w", path, what, engine.ErrBadModel, err),
		"check the path, or download the model again (`nook pull NAME` verifies it)")
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Info describes the loaded model, with the threads in use now and why.
func (e *Engine) Info() engine.ModelInfo {
	i := e.info
	// Tool calls go through Format: the engine does not parse calls out of text.
	i.Capabilities = e.capabilities()
	i.Threads, i.ThreadsWhy = e.threads.current()
	return i
}

// Template is the prompt template in use.
func (e *Engine) Template() *prompt.Template { return e.tmpl }

// Close frees the model and its context. It waits for a running request.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.batch.Free()
	freeContext(e.lctx)
	llama.FreeModel(e.model)
	e.cache = nil
	return nil
}

// Tokenize returns the token ids of text, without special tokens.
func (e *Engine) Tokenize(text string) ([]int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, engine.ErrClosed
	}
	return e.model.Tokenize(text, false, false)
}

// tokenizePrompt tokenizes rendered prompt text: BOS as the model wants and
// the template's special tokens parsed as such.
func (e *Engine) tokenizePrompt(text string, raw bool) ([]int, error) {
	return e.model.Tokenize(text, true, !raw)
}

// CachedTokens is the number of tokens now in the KV cache (for tests and
// diagnostics).
func (e *Engine) CachedTokens() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.cache)
}

// Chat streams the answer to req; see engine.Engine.
func (e *Engine) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.closed {
			yield(engine.Chunk{}, engine.ErrClosed)
			return
		}
		if e.embed.only {
			yield(engine.Chunk{}, e.errEmbeddingOnly())
			return
		}
		if err := e.chat(ctx, req, yield); err != nil {
			yield(engine.Chunk{}, err)
		}
	}
}

// reserve is how much of the context to keep free for the answer when
// fitting the prompt.
func (e *Engine) reserve(o engine.Options) int {
	r := min(256, e.nCtx/4)
	if o.NumPredict > 0 {
		r = min(o.NumPredict, e.nCtx/2)
	}
	return r
}

func (e *Engine) promptTokens(req engine.ChatRequest) ([]int, int, error) {
	if len(req.Messages) == 0 {
		return nil, 0, errors.New("llama: chat: no messages")
	}
	raw := req.Raw || e.tmpl.Plain()
	render := func(msgs []engine.Message) ([]int, error) {
		if req.Raw {
			return e.tokenizePrompt(msgs[len(msgs)-1].Content, true)
		}
		text, err := e.tmpl.Render(msgs, req.Tools)
		if err != nil {
			return nil, err
		}
		return e.tokenizePrompt(text, raw)
	}
	budget := e.nCtx - e.reserve(req.Options)
	var toks []int
	kept, dropped, err := prompt.Fit(req.Messages, budget, func(m []engine.Message) (int, error) {
		t, err := render(m)
		toks = t
		return len(t), err
	})
	if err != nil {
		if errors.Is(err, engine.ErrContextFull) {
			err = hint.New(fmt.Errorf("llama: chat: %w", err), "shorten the message or the system prompt, or raise context_length")
		}
		return nil, 0, err
	}
	if toks, err = render(kept); err != nil {
		return nil, 0, err
	}
	return toks, dropped, nil
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// evaluate feeds toks (which follow e.cache) to the model; the logits of the
// last one are kept for sampling.
func (e *Engine) evaluate(ctx context.Context, toks []int) error {
	for start := 0; start < len(toks); start += e.nBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+e.nBatch, len(toks))
		e.batch.Clear()
		for i, t := range toks[start:end] {
			e.batch.Add(t, nil, len(e.cache)+i, start+i == len(toks)-1, 0)
		}
		if err := e.decode(); err != nil {
			e.dropCacheFrom(len(e.cache))
			return fmt.Errorf("llama: decode: %w", err)
		}
		e.cache = append(e.cache, toks[start:end]...)
	}
	return nil
}

// decode evaluates e.batch. The thread plan is revised first when a load
// sample is due; the calling thread's CPU time inside llama.cpp is counted
// so that the plan can tell llama.cpp's work from the Go runtime's.
func (e *Engine) decode() error { return e.decodeBatch(e.batch) }

// decodeBatch is decode for any batch (parallel.go's).
func (e *Engine) decodeBatch(b *llama.Batch) error {
	e.threads.beforeDecode()
	runtime.LockOSThread()
	cpu := threadCPU()
	err := e.lctx.Decode(b)
	e.threads.afterDecode(threadCPU() - cpu)
	runtime.UnlockOSThread()
	return err
}

// dropCacheFrom forgets cached tokens at positions >= p.
func (e *Engine) dropCacheFrom(p int) {
	if p >= len(e.cache) && p > 0 {
		// Positions past what we track may still hold a failed batch.
		e.lctx.KvCacheSeqRm(0, p, -1)
		return
	}
	if !e.lctx.KvCacheSeqRm(0, p, -1) {
		e.lctx.KvCacheClear()
		p = 0
	}
	e.cache = e.cache[:p]
}

func (e *Engine) samplerFor(req engine.ChatRequest) (*llama.SamplingContext, error) {
	o := req.Options
	p := llama.SamplingParams{TopK: 40, TopP: 0.9, MinP: o.MinP, TypicalP: 1, Temp: 0.8, RepeatLastN: 64, PenaltyRepeat: 1.1}
	if o.Temperature != nil {
		p.Temp = *o.Temperature
	}
	if o.TopK != 0 {
		p.TopK = max(o.TopK, 0)
	}
	if o.TopP != 0 {
		p.TopP = o.TopP
	}
	if o.RepeatPenalty != 0 {
		p.PenaltyRepeat = o.RepeatPenalty
	}
	if o.RepeatLastN != 0 {
		p.RepeatLastN = o.RepeatLastN
	}
	if o.Seed != nil {
		p.Seed = *o.Seed
	} else {
		var b [4]byte
		_, _ = rand.Read(b[:])
		p.Seed = binary.LittleEndian.Uint32(b[:]) &^ 0x80000000
	}
	if req.Format != nil {
		schema, err := json.Marshal(req.Format)
		if err != nil {
			return nil, fmt.Errorf("llama: format: %w", err)
		}
		g := llama.SchemaToGrammar(schema)
		if g == nil {
			return nil, fmt.Errorf("llama: format: not a JSON schema llama.cpp can turn into a grammar: %s", schema)
		}
		p.Grammar = string(g)
	}
	s, err := llama.NewSamplingContext(e.model, p)
	if err != nil {
		return nil, fmt.Errorf("llama: sampler: %w", err)
	}
	return s, nil
}

func (e *Engine) chat(ctx context.Context, req engine.ChatRequest, yield func(engine.Chunk, error) bool) error {
	start := time.Now()
	toks, dropped, err := e.promptTokens(req)
	if err != nil {
		return err
	}
	stats := &engine.Stats{PromptTokens: len(toks), Dropped: dropped, ContextLength: e.nCtx}

	// Reuse the cached prefix; at least the last token is evaluated again
	// so there are logits to sample from.
	keep := min(commonPrefix(e.cache, toks), len(toks)-1)
	e.dropCacheFrom(keep)
	keep = len(e.cache)
	sampler, err := e.samplerFor(req)
	if err != nil {
		return err
	}
	evalStart := time.Now()
	if err := e.evaluate(ctx, toks[keep:]); err != nil {
		return err
	}
	stats.PromptEvaluated = len(toks) - keep
	stats.PromptDuration = time.Since(evalStart)
	// Repetition penalties see the end of the prompt.
	for _, t := range toks[max(0, len(toks)-64):] {
		sampler.Accept(t, false)
	}

	stops := append(append([]string{}, req.Options.Stop...), e.tmpl.Stop...)
	out := newStopper(stops)
	var pending []byte // bytes of an incomplete UTF-8 character
	reason := ""

	// Prompt lookup (lookup.go): hist is the prompt and the answer so far,
	// where drafts come from; spec holds drafted tokens that sit in the KV
	// cache after e.cache until the sampler confirms them.
	var look *lookup
	var hist []int
	if e.lookup {
		look = newLookup()
		look.fixed = e.lookupFixed
		look.costs = e.lookupCost
		hist = append(make([]int, 0, len(toks)+256), toks...)
	}
	var spec []int
	defer func() {
		if len(spec) > 0 {
			e.dropCacheFrom(len(e.cache))
		}
		if look != nil {
			e.lookupCost = look.costs
		}
	}()
	idx := e.batch.NumTokens() - 1 // the logits to sample the next token from
	var stepTime time.Duration     // the last decode step: its time, drafted and accepted tokens
	stepDrafted, stepAccepted := 0, 0

	decodeStart := time.Now()
	finish := func(r string) bool {
		stats.DecodeDuration = time.Since(decodeStart)
		stats.ContextUsed = len(e.cache)
		if look != nil {
			stats.Drafted, stats.Accepted = look.Drafted, look.Accepted
		}
		text := out.flush()
		return yield(engine.Chunk{Text: text, Done: true, DoneReason: r, Stats: stats}, nil)
	}
	for {
		if err := ctx.Err(); err != nil {
			stats.DecodeDuration = time.Since(decodeStart)
			return err
		}
		if req.Options.NumPredict > 0 && stats.DecodeTokens >= req.Options.NumPredict {
			reason = "length"
			break
		}
		if len(e.cache) >= e.nCtx {
			reason = "length"
			break
		}
		tok := sampler.Sample(e.lctx, idx)
		if stats.DecodeTokens == 0 {
			stats.TimeToFirst = time.Since(start)
		}
		if e.model.TokenIsEog(tok) {
			reason = "stop"
			break
		}
		sampler.Accept(tok, true)
		stats.DecodeTokens++
		pending = append(pending, e.model.TokenToPiece(tok)...)
		n := completeUTF8(pending)
		text, stopped := out.push(string(pending[:n]))
		pending = append(pending[:0], pending[n:]...)
		if text != "" && !yield(engine.Chunk{Text: text}, nil) {
			return nil
		}
		if look != nil {
			hist = append(hist, tok)
		}
		if len(spec) > 0 && spec[0] == tok {
			// The draft was right: tok is in the cache already, and the
			// logits after it are the next in the batch.
			e.cache = append(e.cache, tok)
			spec = spec[1:]
			idx++
			stepAccepted++
			if stopped {
				reason = "stop"
				break
			}
			continue
		}
		if len(spec) > 0 {
			// The rest of the draft is wrong: forget its keys and values.
			e.dropCacheFrom(len(e.cache))
			spec = nil
		}
		if look != nil && stepTime > 0 {
			if stepDrafted > 0 {
				look.observeDraft(stepDrafted, stepAccepted, stepTime)
			} else {
				look.observePlain(stepTime)
			}
		}
		if stopped {
			// Keep the stop sequence's tokens in the cache: the next turn's
			// template usually starts with the same text.
			e.batch.Clear()
			e.batch.Add(tok, nil, len(e.cache), false, 0)
			if err := e.decode(); err == nil {
				e.cache = append(e.cache, tok)
			}
			reason = "stop"
			break
		}
		var draft []int
		if look != nil {
			limit := min(e.nCtx-len(e.cache)-1, e.nBatch-1)
			if req.Options.NumPredict > 0 {
				limit = min(limit, req.Options.NumPredict-stats.DecodeTokens-1)
			}
			draft = look.draft(hist, limit)
			draft = draft[:e.exactDraftLen(len(draft))]
		}
		// The first draft of each size checks that verifying it is exact:
		// tok alone first (the logits plain decoding gets), then the batch.
		var single []float32
		if len(draft) > 0 && !e.verifyKnown(1+len(draft)) {
			var err error
			if single, err = e.decodeAlone(tok); err != nil {
				return err
			}
		}
		e.batch.Clear()
		e.batch.Add(tok, nil, len(e.cache), true, 0)
		for i, d := range draft {
			e.batch.Add(d, nil, len(e.cache)+1+i, true, 0)
		}
		t0 := time.Now()
		if err := e.decode(); err != nil {
			e.dropCacheFrom(len(e.cache))
			return fmt.Errorf("llama: decode: %w", err)
		}
		stepTime, stepDrafted, stepAccepted = time.Since(t0), len(draft), 0
		if single != nil && !e.checkVerify(single, 1+len(draft)) {
			// Not exact: the step becomes a plain one (the batch's keys
			// and values are dropped, tok decoded alone again), timed as
			// neither.
			if err := e.decodeOne(tok); err != nil {
				return err
			}
			draft, stepTime, stepDrafted = nil, 0, 0
		}
		e.cache = append(e.cache, tok)
		spec, idx = draft, 0
	}
	finish(reason)
	return nil
}

// completeUTF8 returns how many leading bytes of b form whole characters.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-4; i-- {
		c := b[i]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xF8 { // never a lead byte: not UTF-8, pass it on
			return len(b)
		}
		if c >= 0xC0 { // a lead byte: is its sequence complete?
			need := 2
			if c >= 0xF0 {
				need = 4
			} else if c >= 0xE0 {
				need = 3
			}
			if len(b)-i >= need {
				return len(b)
			}
			return i
		}
	}
	return len(b) // only continuation bytes: not UTF-8, pass them on
}

// stopper holds back text that may be the start of a stop sequence.
type stopper struct {
	stops []string
	held  string
}

func newStopper(stops []string) *stopper {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopper{stops: s}
}

// push adds text; it returns what can be shown now, and whether a stop
// sequence was reached (the text before it is returned, the rest dropped).
func (s *stopper) push(text string) (string, bool) {
	s.held += text
	cut := -1
	for _, st := range s.stops {
		if i := strings.Index(s.held, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := s.held[:cut]
		s.held = ""
		return out, true
	}
	// Hold back the longest suffix that is a prefix of a stop sequence.
	hold := 0
	for _, st := range s.stops {
		for n := min(len(st)-1, len(s.held)); n > hold; n-- {
			if strings.HasSuffix(s.held, st[:n]) {
				hold = n
				break
			}
		}
	}
	out := s.held[:len(s.held)-hold]
	s.held = s.held[len(s.held)-hold:]
	return out, false
}

func (s *stopper) flush() string {
	out := s.held
	s.held = ""
	return out
}
