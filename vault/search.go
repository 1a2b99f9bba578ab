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
	K      int    // results (default 5)
	Folder string // only sources under this folder
	Tag    string // only documents added with this tag
	Mode   Mode
}

// Hit is one retrieved chunk (the JSON shape of `nook search --json`).
type Hit struct {
	Source    string  `json:"source"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Score     float64 `json:"score"`
	Text      string  `json:"text"`
	Heading   string  `json:"heading,omitempty"`
}

// candidates is how deep each list goes before fusion.
func candidates(k int) int { return max(50, 4*k) }

// Search retrieves the chunks that best match query.
func (v *Vault) Search(ctx context.Context, query string, o SearchOptions) ([]Hit, error) {
	if o.K <= 0 {
		o.K = 5
	}
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
		vs, err := v.opts.embedder.Embed(ctx, []string{embedText(query)})
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
	n := candidates(o.K)
	var lists [][]ranked
	if o.Mode != Vector {
		lists = append(lists, v.idx.bm25(query, n, f))
	}
	if o.Mode != Lexical && qv != nil {
		lists = append(lists, v.idx.vector(qv, n, f))
	}
	var res []ranked
	if len(lists) == 1 {
		res = lists[0]
	} else {
		res = v.idx.fuse(lists...)
	}
	if len(res) > o.K {
		res = res[:o.K]
	}
	hits := make([]Hit, 0, len(res))
	for _, r := range res {
		c := &v.idx.chunks[r.slot]
		hits = append(hits, Hit{Source: c.Source, StartLine: c.Start, EndLine: c.End, Score: r.score, Text: c.Text, Heading: c.Heading})
	}
	return hits, nil
}
