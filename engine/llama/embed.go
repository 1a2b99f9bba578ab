package llama

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
)

// How the engine embeds.
//
// An embedding model (a GGUF that declares a pooling type, or an encoder
// of the BERT family) gets a context made for it: several sequences per
// decode, one sequence id per text, and the model's own pooling (mean,
// CLS, last) applied by llama.cpp to each sequence. Texts are packed in
// order into decodes of about embedPlan.pack tokens (512 unless
// Options.BatchSize says otherwise) and at most maxSeqs sequences; a
// window longer than that (up to the model's context) goes alone. Such a
// model does not chat.
//
// A chat model used as an embedder keeps its chat context: one text per
// decode, the mean of its hidden states.
//
// A text longer than the model's context (embedPlan.seqLimit tokens,
// counting the special tokens and the prefix; at most maxEmbedWindow,
// or Options.ContextLength when smaller) is split, never cut: it is
// embedded as consecutive windows, each with the model's special tokens
// and the prefix around its part of the text, and the window vectors are
// averaged weighted by their token counts (for mean pooling, about the
// mean over the whole text) before the result is normalised.
//
// Prefixes: an embedding model that was trained with task prefixes
// (nomic-embed-text's "search_query: " and "search_document: ") gets them
// before every query (EmbedQuery) and document (Embed) text. They come
// from the GGUF's <arch>.embedding.query_prefix and
// <arch>.embedding.document_prefix when present, else from the models
// catalog by the model's name (Options.Name, general.name, the file name).

// defaultEmbedPack is how many tokens one embedding decode packs unless
// Options.BatchSize says otherwise. An encoder attends over the whole
// decode (llama.cpp masks the other sequences out, but reads the n×n
// mask or computes the n×n scores), so several long units in one decode
// cost (Σ lengths)² where one each costs Σ length². 128 packs a few short
// units (dialog turns, list items) into a decode and leaves a paragraph
// (~150 tokens) alone, as ollama runs it. Measured with bench/embed
// -packs on the MiniLM shape, 2 threads on a quiet moment of a shared
// 2-core machine: 0.79 CPU s per 1,000 paragraph tokens at 128 against
// 1.04 at 512, short units even (docs/retrieval.md).
const defaultEmbedPack = 128

// maxEmbedWindow bounds the tokens of one sequence whatever the model's
// context (8,192 for some embedders): the attention scores of one window
// grow with its square. Longer texts are split (see the top of the file).
const maxEmbedWindow = 2048

// maxEmbedSeqs bounds the sequences of one decode (llama.cpp allows 256).
const maxEmbedSeqs = 128

// encoderArchs are the architectures llama.cpp runs without a KV cache
// (llama_model::create_memory gives them none): llama_decode encodes the
// whole batch at once, so a decode may hold at most n_ubatch tokens.
var encoderArchs = map[string]bool{
	"bert": true, "nomic-bert": true, "nomic-bert-moe": true, "neo-bert": true,
	"jina-bert-v2": true, "jina-bert-v3": true, "gemma-embedding": true,
}

// embedPlan is how the engine embeds, fixed at Open.
type embedPlan struct {
	only     bool // an embedding model: batched, and no chat
	encoder  bool // no KV cache
	pooling  int  // the context's pooling (poolNone: nook averages hidden states)
	seqLimit int  // tokens per sequence, special tokens and prefix included
	pack     int  // tokens packed into one decode (a longer window goes alone)
	batch    int  // tokens one decode may hold (the context's n_ubatch)
	maxSeqs  int  // sequences per decode
	ctx      int  // context size to create

	query, document string // prefixes
	prefixFrom      string // "gguf", "catalog" or ""

	lead, trail []int // special tokens the tokenizer puts around a text
}

// planEmbed decides, from the header alone, whether f is an embedding
// model and how its context is sized.
func planEmbed(f *gguf.File, o Options) embedPlan {
	arch := f.Architecture()
	pooling, declared := int(f.ArchUint("pooling_type", 0)), f.KV[arch+".pooling_type"] != nil
	p := embedPlan{encoder: encoderArchs[arch], pooling: poolNone}
	p.query, p.document, p.prefixFrom = prefixes(f, o.Name)
	if !p.encoder && !(declared && pooling != poolNone) {
		return p
	}
	p.only = true
	p.pack = o.BatchSize
	if p.pack <= 0 {
		p.pack = defaultEmbedPack
	}
	p.seqLimit = f.ContextLength()
	if p.seqLimit <= 0 {
		p.seqLimit = 512
	}
	if o.ContextLength > 0 {
		p.seqLimit = min(p.seqLimit, o.ContextLength)
	}
	if p.encoder {
		// A window of the model's whole context fits one decode; short
		// texts are packed pack tokens at a time.
		p.seqLimit = min(p.seqLimit, max(maxEmbedWindow, p.pack))
		p.batch = max(p.pack, p.seqLimit)
		p.maxSeqs = min(maxEmbedSeqs, max(1, p.pack/8))
		p.ctx = p.batch
	} else {
		// Each sequence gets its own n_ctx/n_seq_max cells of the KV
		// cache: bound the cache at about twice the batch.
		p.seqLimit = min(p.seqLimit, p.pack)
		p.batch = p.pack
		p.maxSeqs = max(1, min(16, 2*p.pack/p.seqLimit))
		p.ctx = p.maxSeqs * p.seqLimit
	}
	return p
}

// prefixes finds the query and document prefixes for the model in f.
func prefixes(f *gguf.File, name string) (query, document, from string) {
	arch := f.Architecture()
	query, document = f.String(arch+".embedding.query_prefix"), f.String(arch+".embedding.document_prefix")
	if query != "" || document != "" {
		return query, document, "gguf"
	}
	for _, n := range []string{name, f.String("general.name"), f.String("general.basename"), baseName(f.Path)} {
		if n == "" {
			continue
		}
		if p, ok := models.EmbedPrefixes(n); ok {
			return p.Query, p.Document, "catalog"
		}
	}
	return "", "", ""
}

// finishEmbed completes the plan once the context exists: the pooling the
// context really applies, whether it has a KV cache, and the special
// tokens around a text.
func (e *Engine) finishEmbed() error {
	p := &e.embed
	if p.only {
		p.pooling = contextPooling(e.lctx)
		if contextHasMemory(e.lctx) {
			p.encoder = false
			if n := contextSize(e.lctx); n > 0 {
				p.seqLimit = min(p.seqLimit, n/p.maxSeqs)
			}
		}
		e.info.ContextLength = p.seqLimit
	} else {
		p.seqLimit = min(e.nBatch, e.nCtx)
		p.pack, p.batch, p.maxSeqs = p.seqLimit, p.seqLimit, 1
	}
	// The tokens the tokenizer adds around any text ([CLS] … [SEP], <s> …).
	const probe = "hello world"
	with, err := e.model.Tokenize(probe, true, false)
	if err != nil {
		return err
	}
	bare, err := e.model.Tokenize(probe, false, false)
	if err != nil {
		return err
	}
	p.lead, p.trail = nil, nil
	for i := 0; i+len(bare) <= len(with); i++ {
		if slices.Equal(with[i:i+len(bare)], bare) {
			p.lead, p.trail = with[:i], with[i+len(bare):]
			break
		}
	}
	return nil
}

// EmbedInfo says how the engine embeds (for diagnostics and tests).
type EmbedInfo struct {
	// Pooling is the model's: "mean", "cls", "last"; "none" when nook
	// averages the hidden states itself (chat models).
	Pooling string
	// Batched is true for embedding models: several texts per decode.
	Batched bool
	// MaxTokens is the longest sequence, special tokens and prefix
	// included; longer texts are split into windows of this size.
	MaxTokens int
	// BatchTokens and BatchSequences bound what one decode packs (a
	// window longer than BatchTokens, up to MaxTokens, goes alone).
	BatchTokens, BatchSequences int
	// QueryPrefix and DocumentPrefix go before query and document texts;
	// PrefixSource is "gguf", "catalog" or "" (none known).
	QueryPrefix, DocumentPrefix, PrefixSource string
}

// EmbedInfo describes how Embed and EmbedQuery work with this model.
func (e *Engine) EmbedInfo() EmbedInfo {
	p := e.embed
	names := map[int]string{poolNone: "none", poolMean: "mean", poolCLS: "cls", poolLast: "last", poolRank: "rank"}
	pool := names[p.pooling]
	if pool == "" {
		pool = fmt.Sprint(p.pooling)
	}
	return EmbedInfo{Pooling: pool, Batched: p.only, MaxTokens: p.seqLimit, BatchTokens: p.pack, BatchSequences: p.maxSeqs,
		QueryPrefix: p.query, DocumentPrefix: p.document, PrefixSource: p.prefixFrom}
}

// Embed returns one L2-normalised vector per document text, with the
// model's document prefix; see the comment at the top of embed.go.
func (e *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return e.embedWith(ctx, texts, e.embed.document)
}

// EmbedQuery is Embed for search queries: the model's query prefix goes
// before each text (vault.QueryEmbedder).
func (e *Engine) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	return e.embedWith(ctx, texts, e.embed.query)
}

// EmbedQuery is Engine.EmbedQuery for a Parallel that serves an
// embedding model; a chat model embeds queries as documents, as Embed
// does (it knows no prefixes).
func (p *Parallel) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	if p.e.embed.only {
		return p.e.EmbedQuery(ctx, texts)
	}
	return p.Embed(ctx, texts)
}

// window is one sequence to embed: tokens of part of text i.
type window struct {
	text int
	toks []int
}

func (e *Engine) embedWith(ctx context.Context, texts []string, prefix string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, engine.ErrClosed
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if e.embed.pooling == poolRank {
		return nil, hint.New(fmt.Errorf("llama: embed: %s is a reranker (rank pooling): %w", e.info.Name, engine.ErrUnsupported),
			"choose an embedding model (embed_model in the config, or NOOK_EMBED_MODEL)")
	}
	wins, err := e.windows(texts, prefix)
	if err != nil {
		return nil, err
	}
	// Any decode here overwrites the chat's KV cache.
	e.cache = nil
	n := e.model.NEmbd()
	sums := make([][]float32, len(texts))
	for i := range sums {
		sums[i] = make([]float32, n)
	}
	for start := 0; start < len(wins); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Pack windows in order while they fit the decode; a window
		// longer than the packing goes alone (it fits: seqLimit <= batch).
		end, tokens := start, 0
		for end < len(wins) && end-start < e.embed.maxSeqs && (end == start || tokens+len(wins[end].toks) <= e.embed.pack) {
			tokens += len(wins[end].toks)
			end++
		}
		if err := e.embedDecode(wins[start:end], sums); err != nil {
			return nil, err
		}
		start = end
	}
	e.lctx.KvCacheClear()
	for i := range sums {
		sums[i] = engine.Normalize(sums[i])
	}
	return sums, nil
}

// windows tokenizes texts into the sequences to embed, splitting those
// longer than the model's context.
func (e *Engine) windows(texts []string, prefix string) ([]window, error) {
	p := &e.embed
	var pre []int
	if prefix != "" {
		var err error
		if pre, err = e.model.Tokenize(prefix, false, false); err != nil {
			return nil, fmt.Errorf("llama: embed: %w", err)
		}
	}
	head := append(append([]int(nil), p.lead...), pre...)
	room := p.seqLimit - len(head) - len(p.trail)
	if room < 1 {
		return nil, fmt.Errorf("llama: embed: the prefix %q leaves no room in the model's %d-token context", prefix, p.seqLimit)
	}
	wins := make([]window, 0, len(texts))
	for i, text := range texts {
		body, err := e.model.Tokenize(text, false, false)
		if err != nil {
			return nil, fmt.Errorf("llama: embed: %w", err)
		}
		for off := 0; off == 0 || off < len(body); off += room {
			part := body[off:min(off+room, len(body))]
			toks := make([]int, 0, len(head)+len(part)+len(p.trail))
			toks = append(append(append(toks, head...), part...), p.trail...)
			if len(toks) == 0 {
				toks = append(toks, 0) // a model that adds no special tokens, an empty text
			}
			wins = append(wins, window{text: i, toks: toks})
		}
	}
	return wins, nil
}

// embedDecode evaluates wins in one decode, one sequence each, and adds
// each window's vector, weighted by its token count, to its text's sum.
func (e *Engine) embedDecode(wins []window, sums [][]float32) error {
	if !e.embed.encoder {
		e.lctx.KvCacheClear()
	}
	e.batch.Clear()
	for s, w := range wins {
		for pos, t := range w.toks {
			e.batch.Add(t, nil, pos, true, s)
		}
	}
	if err := e.decode(); err != nil {
		return fmt.Errorf("llama: embed: %w", err)
	}
	i := 0 // the batch index of each token
	for s, w := range wins {
		sum := sums[w.text]
		if e.embed.pooling != poolNone {
			vec := e.lctx.GetEmbeddingsSeq(s)
			if vec == nil {
				return errors.New("llama: embed: llama.cpp returned no pooled embedding")
			}
			weight := float32(len(w.toks))
			for j := range sum {
				sum[j] += weight * vec[j]
			}
			i += len(w.toks)
			continue
		}
		for range w.toks {
			h := e.lctx.GetEmbeddingsIth(i)
			if h == nil {
				return errors.New("llama: embed: llama.cpp returned no hidden state")
			}
			for j := range sum {
				sum[j] += h[j]
			}
			i++
		}
	}
	return nil
}

// errEmbeddingOnly is what Chat says on an embedding model.
func (e *Engine) errEmbeddingOnly() error {
	return hint.New(fmt.Errorf("llama: chat: %s is an embedding model: %w", e.info.Name, engine.ErrUnsupported),
		"choose a chat model (model in the config, or NOOK_MODEL); keep this one as embed_model")
}

// capabilities are what Info reports for this model.
func (e *Engine) capabilities() engine.Capabilities {
	if e.embed.only {
		return engine.CapEmbed | engine.CapTokenize
	}
	return engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTokenize
}
