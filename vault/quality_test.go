package vault

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// retriever wraps Search in a mode as a budget retriever for vaulttest.
func retriever(t testing.TB, v *Vault, name string, mode Mode) vaulttest.Retriever {
	return vaulttest.Retriever{Name: name, Search: func(q string, budget int) []vaulttest.Passage {
		hs, err := v.Search(context.Background(), q, SearchOptions{Budget: budget, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		ps := make([]vaulttest.Passage, len(hs))
		for i, h := range hs {
			ps[i] = vaulttest.Passage{File: h.Source, Start: h.StartLine, End: h.EndLine, Text: h.Text}
		}
		return ps
	}}
}

// budgetCorpus is a retrieval corpus and its questions.
type budgetCorpus struct {
	name string
	dir  string
	qs   func(testing.TB) []vaulttest.BudgetQuestion
}

var budgetCorpora = []budgetCorpus{
	{"conversations", "testdata/conversations", func(tb testing.TB) []vaulttest.BudgetQuestion {
		return vaulttest.LoadEvidence(tb, "testdata/conversations.tsv", "testdata/conversations")
	}},
	{"notes", "testdata/corpus", func(tb testing.TB) []vaulttest.BudgetQuestion {
		return vaulttest.FileEvidence(loadQuestions(tb))
	}},
}

// budgetTable ingests a corpus into a fresh vault and measures nook fused,
// lexical and vector, and the single-paragraph BM25 baseline, at every
// budget.
func budgetTable(t *testing.T, c budgetCorpus, opts ...Option) []vaulttest.Row {
	v, _ := newTestVault(t, opts...)
	if _, err := v.Add(context.Background(), []string{vaulttest.CopyDir(t, c.dir)}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	rows := vaulttest.Table(c.qs(t), []vaulttest.Retriever{
		retriever(t, v, "nook fused", Fused),
		retriever(t, v, "nook lexical", Lexical),
		retriever(t, v, "nook vector", Vector),
		vaulttest.Baseline(t, c.dir),
	}, EstimateTokens)
	var b strings.Builder
	vaulttest.PrintTable(&b, c.name+" (HashEmbedder)", rows)
	t.Log("\n" + b.String())
	return rows
}

func TestRetrievalWithinBudgetHashEmbedder(t *testing.T) {
	t.Parallel()
	for _, c := range budgetCorpora {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			budgetTable(t, c)
		})
	}
	_ = os.Stdout
}
