package vault

import (
	"context"
	"fmt"
	"path/filepath"
)

// Mode selects the retrieval method.
type Mode int

const (
	// Fused (the default) merges lexical and vector results by reciprocal rank.
	Fused Mode = iota
	// Lexical is BM25 alone.
	Lexical
	// Vector is cosine similarity over embeddings alone.
	Vector
)

// SearchOptions tune Search. Zero values take the defaults.
type SearchOptions struct {
	// K is the number of hits when there is no Budget (default 5), and at
	// most this many hits with one (0: as many as fit).
	K      int
	Folder string // only sources under this folder
	Tag    string // only documents added with this tag
	Mode   Mode
	// Budget, when > 0, is how many tokens of text the hits may hold in
	// all: units (paragraphs, list items, table rows, dialog turns) are
	// taken best first, widened with the units around them while those are
	// worth more than the next in the ranking, and merged when they touch.
	Budget int
	// Tokens counts the tokens of a text for Budget (the chat model's
	// tokenizer); nil uses EstimateTokens.
	Tokens func(string) int
	// PerHit is what the caller adds around each hit, in tokens (a source
	// header), counted against Budget; merging neighbours saves it.
	PerHit int
	// VectorWeight is the weight of the vector ranking in Fused mode,
	// against the lexical ranking's 1: a unit scores
	// 1/(2 + lexical rank) + VectorWeight/(2 + vector rank). 0 takes
	// DefaultVectorWeight; a negative weight counts vectors for nothing.
	// The default suits the weak embedders the retrieval tests run with;
	// a real embedding model (all-minilm, nomic-embed-text, bge) is worth
	// more: measure on your own questions (docs/retrieval.md).
	VectorWeight float64
}

// DefaultVectorWeight is the weight of the vector ranking in fused search
// when SearchOptions.VectorWeight is 0.
const DefaultVectorWeight = 0.1

// QueryEmbedder is an Embedder that embeds search queries apart from
// documents: models trained with task prefixes (nomic-embed-text's
// "search_query: ") want their query prefix on queries, and Embed gives
// documents theirs. Search uses EmbedQuery when the vault's Embedder has
// it; engine/llama's engine does.
type QueryEmbedder interface {
	EmbedQuery(ctx context.Context, texts []string) ([][]float32, error)
}

// Hit is one retrieved passage: a unit, or neighbouring units merged (the
// JSON shape of `nook search --json`).
type Hit struct {
	Source    string  `json:"source"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Score     float64 `json:"score"`
	Text      string  `json:"text"`
	Heading   string  `json:"heading,omitempty"`
	// Kind is para, item, row, turn or code; "mixed" for merged units of
	// several kinds, "chunk" for a document indexed before units.
	Kind    string `json:"kind,omitempty"`
	Speaker string `json:"speaker,omitempty"` // of a turn, or of turns all by one speaker
	Date    string `json:"date,omitempty"`    // ISO date in force at the first unit
	Page    int    `json:"page,omitempty"`    // of a PDF: lines are counted within this page
	Tokens  int    `json:"tokens"`            // size of Text, by SearchOptions.Tokens or EstimateTokens
}

// Location says where a passage is, as hits and citations print it:
// "path:3-6", or for a page of a PDF "path, page 2, lines 3-6".
func Location(source string, page, start, end int) string {
	if page > 0 {
		return fmt.Sprintf("%s, page %d, lines %d-%d", source, page, start, end)
	}
	return fmt.Sprintf("%s:%d-%d", source, start, end)
}

// candidates is how deep each list goes before fusion.
func candidates(o *SearchOptions) int {
	return min(max(50, 4*o.K, o.Budget/8), 512)
}

// Search retrieves the passages that best match query.
func (v *Vault) Search(ctx context.Context, query string, o SearchOptions) ([]Hit, error) {
	if o.K <= 0 && o.Budget <= 0 {
		o.K = 5
	}
	o.K = max(o.K, 0)
	f := filter{tag: o.Tag}
	if o.Folder != "" {
		abs, err := filepath.Abs(o.Folder)
		if err != nil {
			return nil, fmt.Errorf("vault: search: folder %q: %w", o.Folder, err)
		}
		f.folder = abs
	}
	var qv []float32
	if o.Mode != Lexical && v.opts.embedder != nil {
		embed := v.opts.embedder.Embed
		if q, ok := v.opts.embedder.(QueryEmbedder); ok {
			embed = q.EmbedQuery
		}
		vs, err := embed(ctx, []string{embedText(query)})
		if err != nil {
			return nil, fmt.Errorf("vault: search: embed query: %w", err)
		}
		if len(vs) == 1 {
			qv = vs[0]
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return nil, err
	}
	return v.idx.search(query, qv, &o, f), nil
}

// search ranks units (lexical with proximity, vector, fused) and assembles
// hits from them.
func (x *index) search(query string, qv []float32, o *SearchOptions, f filter) []Hit {
	n := candidates(o)
	if x.wordSets == nil {
		x.wordSets = map[int32][]uint64{}
	}
	clear(x.wordSets)
	var lex, vec []ranked
	if o.Mode != Vector {
		qterms := queryTerms(query)
		lex = x.proximity(x.bm25(qterms, n, f), qterms)
	}
	if o.Mode != Lexical && qv != nil {
		vec = x.vector(qv, n, f)
	}
	var list []ranked
	switch {
	case lex != nil && vec != nil:
		w := x.p.vecWeight
		switch {
		case o.VectorWeight > 0:
			w = o.VectorWeight
		case o.VectorWeight < 0:
			w = 0
		}
		list = x.fuse(lex, vec, w)
	case vec != nil:
		list = vec
	default:
		list = lex
	}
	return x.assemble(list, o)
}
