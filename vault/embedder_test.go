package vault

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// queryAwareEmbedder records which texts came as documents and which as
// queries, and embeds each with a prefix as a model with task prefixes
// would.
type queryAwareEmbedder struct {
	vaulttest.HashEmbedder
	mu      sync.Mutex
	docs    []string
	queries []string
}

func (q *queryAwareEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	q.mu.Lock()
	q.docs = append(q.docs, texts...)
	q.mu.Unlock()
	return q.HashEmbedder.Embed(ctx, texts)
}

func (q *queryAwareEmbedder) EmbedQuery(ctx context.Context, texts []string) ([][]float32, error) {
	q.mu.Lock()
	q.queries = append(q.queries, texts...)
	q.mu.Unlock()
	return q.HashEmbedder.Embed(ctx, texts)
}

var _ QueryEmbedder = (*queryAwareEmbedder)(nil)

func TestSearchEmbedsTheQueryAsAQuery(t *testing.T) {
	t.Parallel()
	emb := &queryAwareEmbedder{}
	v, _ := newTestVault(t, WithEmbedder(emb))
	ctx := context.Background()
	if _, err := v.Add(ctx, []string{copyCorpus(t)}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	const q = "where is the spare key"
	for _, mode := range []Mode{Fused, Vector, Lexical} {
		if _, err := v.Search(ctx, q, SearchOptions{Mode: mode}); err != nil {
			t.Fatal(err)
		}
	}
	emb.mu.Lock()
	defer emb.mu.Unlock()
	if !slices.Equal(emb.queries, []string{q, q}) {
		t.Errorf("EmbedQuery got %q, want the query once for fused and once for vector search", emb.queries)
	}
	if slices.Contains(emb.docs, q) {
		t.Error("the query was embedded as a document")
	}
	if len(emb.docs) == 0 {
		t.Error("documents were not embedded with Embed")
	}
}

// conceptEmbedder maps texts about fixing cars to one direction and the
// rest to another: vectors that know what lexical search cannot.
type conceptEmbedder struct{}

func (conceptEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		t = strings.ToLower(t)
		if strings.Contains(t, "repair") || strings.Contains(t, "mechanic") {
			out[i] = []float32{1, 0}
		} else {
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

func TestVectorWeightTradesLexicalForVectorRank(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t, WithEmbedder(conceptEmbedder{}), WithEmbedModel("concepts"))
	ctx := context.Background()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"papers.md": "Automobile registration papers are in the kitchen drawer.",
		"brakes.md": "The mechanic fixed the brakes on Tuesday.",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Add(ctx, []string{dir}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		weight float64
		first  string
	}{
		{"the default weight keeps the lexical match first", 0, "papers.md"},
		{"a heavy vector weight puts the vector match first", 10, "brakes.md"},
		{"a negative weight ignores vectors", -1, "papers.md"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := v.Search(ctx, "automobile repair", SearchOptions{K: 2, VectorWeight: tc.weight})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || filepath.Base(hits[0].Source) != tc.first {
				t.Fatalf("hits %+v, want %s first", hits, tc.first)
			}
		})
	}
}

func TestAddReportSplitsItsTime(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	rep, err := v.Add(context.Background(), []string{copyCorpus(t)}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ParseTime <= 0 || rep.EmbedTime <= 0 || rep.EncryptTime <= 0 || rep.WriteTime <= 0 {
		t.Fatalf("parse %v, embed %v, encrypt %v, write %v: each should be measured", rep.ParseTime, rep.EmbedTime, rep.EncryptTime, rep.WriteTime)
	}
}

func TestAddReportsTheWallTimeOfEmbedding(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	start := time.Now()
	rep, err := v.Add(context.Background(), []string{copyCorpus(t)}, AddOptions{})
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Files embed on several goroutines at once: the wall time with a call
	// in flight is at most the summed time, and at most Add's wall time.
	if rep.EmbedWall <= 0 || rep.EmbedWall > rep.EmbedTime || rep.EmbedWall > wall {
		t.Fatalf("embed wall %v, summed %v, Add's wall %v", rep.EmbedWall, rep.EmbedTime, wall)
	}
}

func TestAUnitIsEmbeddedWithAShortContext(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	tests := []struct {
		name   string
		source string
		chunk  Chunk
		want   string
	}{
		{"title, innermost heading and text", "/n/garden.md",
			Chunk{Heading: "Garden > Spring > Tomatoes", Text: "Sow them in March."},
			"garden > Tomatoes\nSow them in March."},
		{"a heading that repeats the title is said once", "/n/Garden.md",
			Chunk{Heading: "garden", Text: "Water daily."},
			"Garden\nWater daily."},
		{"the date stays", "/n/journal.md",
			Chunk{Heading: "Monday", Date: "2024-03-12", Text: "Ran 5 km."},
			"journal > Monday (" + dateWords("2024-03-12") + ")\nRan 5 km."},
		{"a long heading is cut, the title kept", "/n/meeting notes.md",
			Chunk{Heading: "Top > " + long, Text: "Budget agreed."},
			"meeting notes > word word word word word word word word word word\nBudget agreed."},
		{"a long lead is cut", "/n/t.md",
			Chunk{Lead: long, Text: "- item"},
			"t\n" + strings.TrimSpace(strings.Repeat("word ", embedLeadWords)) + "\n- item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := unitContext(tt.source, &tt.chunk); got != tt.want {
				t.Errorf("unitContext = %q, want %q", got, tt.want)
			}
		})
	}
}
