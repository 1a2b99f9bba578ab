package vault

import (
	"context"
	"testing"
)

// The retrieval quality suite with the deterministic hashed-n-gram embedder
// (vaulttest.HashEmbedder): NOT a real model, a baseline that keeps the
// fusion logic honest in every test run. The real-engine version is
// TestRetrievalQualityRealEmbedder.
func TestRetrievalQualityHashEmbedderBaseline(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	notes := copyCorpus(t)
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	qs := loadQuestions(t)
	if len(qs) < 20 {
		t.Fatalf("%d questions, want ≥ 20", len(qs))
	}
	fused, fm := recallAt5(t, v, qs, Fused)
	lex, lm := recallAt5(t, v, qs, Lexical)
	vec, vm := recallAt5(t, v, qs, Vector)
	t.Logf("recall@5 fused %.3f (missed %v) lexical %.3f (missed %v) vector %.3f (missed %v)", fused, fm, lex, lm, vec, vm)
	if fused < 0.9 {
		t.Errorf("fused recall@5 = %.3f, want ≥ 0.9", fused)
	}
	if lex >= fused {
		t.Errorf("lexical-only recall@5 %.3f not below fused %.3f", lex, fused)
	}
	if vec >= fused {
		t.Errorf("vector-only recall@5 %.3f not below fused %.3f", vec, fused)
	}
}
