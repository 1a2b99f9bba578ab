package vault

import (
	"context"
	"strings"
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// retriever wraps Search in a mode as a budget retriever for vaulttest.
func retriever(t testing.TB, v *Vault, name string, mode Mode) vaulttest.Retriever {
	return vaulttest.Hits(t, name, func(q string, budget int) ([]Hit, error) {
		return v.Search(context.Background(), q, SearchOptions{Budget: budget, Mode: mode})
	}, func(h Hit) vaulttest.Passage {
		return vaulttest.Passage{File: h.Source, Start: h.StartLine, End: h.EndLine, Text: h.Text}
	})
}

var budgetCorpora = vaulttest.Corpora("testdata")

// budgetTable ingests a corpus into a fresh vault and measures nook fused,
// lexical and vector, and the single-paragraph BM25 baseline, at every
// budget.
func budgetTable(t *testing.T, c vaulttest.Corpus, opts ...Option) []vaulttest.Row {
	v, _ := newTestVault(t, opts...)
	if _, err := v.Add(context.Background(), []string{vaulttest.CopyDir(t, c.Dir)}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	rows := vaulttest.Table(c.Load(t), []vaulttest.Retriever{
		retriever(t, v, "nook fused", Fused),
		retriever(t, v, "nook lexical", Lexical),
		retriever(t, v, "nook vector", Vector),
		vaulttest.Baseline(t, c.Dir),
	}, EstimateTokens)
	var b strings.Builder
	vaulttest.PrintTable(&b, c.Name+" (HashEmbedder)", rows)
	t.Log("\n" + b.String())
	return rows
}

// TestRetrievalWithinBudgetHashEmbedder is the retrieval quality bar in
// every test run, with the deterministic hashed-n-gram embedder
// (vaulttest.HashEmbedder: NOT a real model, a baseline that keeps the
// ranking and fusion honest; the real-engine version is in vault/quality):
// recall of the evidence within 128…2,048 tokens of returned text, beside
// plain BM25 over single paragraphs. It replaces recall@5 of whole notes,
// whose bar (≥ 0.9) the notes corpus must now meet within 128 tokens.
func TestRetrievalWithinBudgetHashEmbedder(t *testing.T) {
	t.Parallel()
	// Minimum recall of nook fused and lexical by budget, per corpus.
	bars := map[string]struct{ fused, lexical []float64 }{
		"conversations": {[]float64{0.75, 0.9, 0.95, 0.95, 0.95}, []float64{0.75, 0.85, 0.9, 0.95, 0.95}},
		"notes":         {[]float64{0.95, 1, 1, 1, 1}, []float64{0.9, 0.95, 0.95, 0.95, 0.95}},
	}
	for _, c := range budgetCorpora {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			rows := budgetTable(t, c)
			fused, lexical, vector, base := rows[0].Recall, rows[1].Recall, rows[2].Recall, rows[3].Recall
			bar := bars[c.Name]
			for i, b := range vaulttest.Budgets {
				if fused[i] < bar.fused[i] || lexical[i] < bar.lexical[i] {
					t.Errorf("within %d tokens: fused %.3f (want ≥ %.2f), lexical %.3f (want ≥ %.2f)", b, fused[i], bar.fused[i], lexical[i], bar.lexical[i])
				}
				if fused[i] < base[i] || lexical[i] < base[i] {
					t.Errorf("within %d tokens: fused %.3f, lexical %.3f; single-paragraph BM25 %.3f", b, fused[i], lexical[i], base[i])
				}
				if fused[i] < vector[i] {
					t.Errorf("within %d tokens: fused %.3f below vector alone %.3f", b, fused[i], vector[i])
				}
			}
		})
	}
}
