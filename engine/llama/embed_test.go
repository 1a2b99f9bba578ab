package llama_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/vault"
)

// The vault embeds search queries through EmbedQuery.
var _ vault.QueryEmbedder = (*llama.Engine)(nil)

// embedTexts are of several lengths; the longest is more than the tiny
// models' 64-token context.
var embedTexts = []string{
	"The dog ran in the park.",
	"Mom baked a cake for the party, and everyone had a slice before the music started.",
	"résumé naïve café — 12 ½ cups; x=3.14 (approx.)",
	"",
	strings.Repeat("Lena keeps the spare key under the blue flower pot by the shed door. ", 6),
}

// refTokens is what the reference embeds for text with prefix: [CLS],
// the prefix and text tokenized together, [SEP].
func refTokens(t *testing.T, e *llama.Engine, r *bertRef, text string) []int {
	t.Helper()
	body, err := e.Tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]int{r.clsToken}, body...), r.sepToken)
}

// refEmbed is the reference vector for a text, split as the engine
// documents it: windows of at most max tokens with [CLS], the prefix and
// [SEP] each, averaged by token count.
func refEmbed(t *testing.T, e *llama.Engine, r *bertRef, prefix, text string, max int) []float64 {
	t.Helper()
	toks := refTokens(t, e, r, prefix+text)
	if len(toks) <= max {
		return r.embed(toks)
	}
	pre, err := e.Tokenize(prefix)
	if err != nil {
		t.Fatal(err)
	}
	body, err := e.Tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	room := max - 2 - len(pre)
	sum := make([]float64, r.embd)
	for off := 0; off < len(body); off += room {
		win := append(append(append([]int{r.clsToken}, pre...), body[off:min(off+room, len(body))]...), r.sepToken)
		v := r.embed(win)
		for j := range sum {
			sum[j] += float64(len(win)) * v[j]
		}
	}
	var n float64
	for _, v := range sum {
		n += v * v
	}
	for j := range sum {
		sum[j] /= math.Sqrt(n)
	}
	return sum
}

func TestEmbeddingsMatchAReferenceForwardPass(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	f16 := synth.TinyBERT(vocab, synth.PoolMean)
	f16.Type, f16.Name = gguf.TypeF16, "nook-synth-tiny-bert-f16"
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"bert, mean pooling", synth.TinyBERT(vocab, synth.PoolMean)},
		{"bert, CLS pooling", synth.TinyBERT(vocab, synth.PoolCLS)},
		{"bert, F16 weights", f16},
		{"nomic-bert with its prefixes", synth.TinyNomic(vocab)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := testmodels.Synth(t, tc.cfg)
			e := open(t, path, llama.Options{Threads: 1})
			r := loadBertRef(t, path)
			info := e.EmbedInfo()
			if !info.Batched || info.MaxTokens != tc.cfg.Context {
				t.Fatalf("EmbedInfo %+v: want batched, %d tokens a sequence", info, tc.cfg.Context)
			}
			docs, err := e.Embed(context.Background(), embedTexts)
			if err != nil {
				t.Fatal(err)
			}
			queries, err := e.EmbedQuery(context.Background(), embedTexts)
			if err != nil {
				t.Fatal(err)
			}
			// The check can fail: the model tells the texts apart by more
			// than the tolerance.
			for i := range docs {
				for j := range i {
					var dot float64
					for k := range docs[i] {
						dot += float64(docs[i][k]) * float64(docs[j][k])
					}
					t.Logf("texts %d and %d: cosine %.4f", i, j, dot)
					if dot > 0.995 {
						t.Errorf("texts %d and %d embed alike (cosine %.4f): the model is too degenerate to check", i, j, dot)
					}
				}
			}
			for i, text := range embedTexts {
				for _, c := range []struct {
					what, prefix string
					got          []float32
				}{{"document", tc.cfg.DocumentPrefix, docs[i]}, {"query", tc.cfg.QueryPrefix, queries[i]}} {
					want := refEmbed(t, e, r, c.prefix, text, tc.cfg.Context)
					cos := cosine(c.got, want)
					t.Logf("%s %d (%d bytes): cosine %.6f", c.what, i, len(text), cos)
					if cos < 0.999 {
						t.Errorf("%s %q: cosine with the reference %.6f, want >= 0.999", c.what, text, cos)
					}
				}
			}
		})
	}
}

func TestManyTextsInOneDecodeEmbedAsEachAlone(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	// A 200-token batch holds a few texts at a time: several decodes,
	// several sequences in each.
	e := open(t, testmodels.Synth(t, synth.TinyBERT(vocab, synth.PoolMean)), llama.Options{Threads: 1, BatchSize: 200})
	var texts []string
	for i := range 40 {
		texts = append(texts, fmt.Sprintf("note %d: %s", i, embedTexts[i%len(embedTexts)]))
	}
	all, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := e.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		var dot float64
		for j := range one[0] {
			dot += float64(one[0][j]) * float64(all[i][j])
		}
		if dot < 0.9999 {
			t.Errorf("text %d embeds differently alone (cosine %.6f)", i, dot)
		}
	}
}

func TestABatchSmallerThanTheContextStillEmbedsWholeWindows(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	cfg := synth.TinyBERT(vocab, synth.PoolMean)
	path := testmodels.Synth(t, cfg)
	// 16 tokens a decode against a 64-token context: each text that is
	// longer goes alone, whole, rather than split at 16.
	small := open(t, path, llama.Options{Threads: 1, BatchSize: 16})
	if i := small.EmbedInfo(); i.MaxTokens != cfg.Context || i.BatchTokens != 16 {
		t.Fatalf("EmbedInfo %+v: want %d tokens a sequence, 16 a decode", i, cfg.Context)
	}
	got, err := small.Embed(context.Background(), embedTexts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := open(t, path, llama.Options{Threads: 1}).Embed(context.Background(), embedTexts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range embedTexts {
		if c := cosine(got[i], f64(want[i])); c < 0.9999 {
			t.Errorf("text %d: cosine %.6f between a 16-token and a 512-token batch", i, c)
		}
	}
}

func TestTextsLongerThanTheContextAreSplitNotCut(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	e := open(t, testmodels.Synth(t, synth.TinyBERT(vocab, synth.PoolMean)), llama.Options{Threads: 1})
	long := strings.Repeat("the garden gate squeaks when it rains ", 200) // ~1,400 tokens, 64-token context
	vecs, err := e.Embed(context.Background(), []string{long, long + " and the end differs: a red bicycle"})
	if err != nil {
		t.Fatal(err)
	}
	var dot, norm float64
	for j := range vecs[0] {
		dot += float64(vecs[0][j]) * float64(vecs[1][j])
		norm += float64(vecs[0][j]) * float64(vecs[0][j])
	}
	if math.Abs(norm-1) > 1e-3 {
		t.Fatalf("norm² %f", norm)
	}
	if dot > 0.999999 {
		t.Fatal("text past the context made no difference: it was cut")
	}
}

func TestPrefixesComeFromTheGGUFThenTheCatalog(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	bare := synth.TinyNomic(vocab)
	bare.QueryPrefix, bare.DocumentPrefix, bare.Name = "", "", "nook-synth-tiny-nomic-bare"
	for _, tc := range []struct {
		name, model string
		cfg         synth.Config
		query, doc  string
		from        string
	}{
		{"declared in the GGUF", "", synth.TinyNomic(vocab), "search_query: ", "search_document: ", "gguf"},
		{"known to the catalog by the model's name", "nomic-embed-text:v1.5", bare, "search_query: ", "search_document: ", "catalog"},
		{"known to the catalog as one without", "all-minilm", bare, "", "", ""},
		{"unknown", "my-embedder", bare, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := open(t, testmodels.Synth(t, tc.cfg), llama.Options{Threads: 1, Name: tc.model})
			i := e.EmbedInfo()
			if i.QueryPrefix != tc.query || i.DocumentPrefix != tc.doc || i.PrefixSource != tc.from {
				t.Fatalf("EmbedInfo %+v, want %q, %q from %q", i, tc.query, tc.doc, tc.from)
			}
		})
	}
}

func TestAnEmbeddingModelDoesNotChat(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	e := open(t, testmodels.Synth(t, synth.TinyBERT(vocab, synth.PoolMean)), llama.Options{Threads: 1})
	if c := e.Info().Capabilities; c.Has(engine.CapChat) || !c.Has(engine.CapEmbed) {
		t.Fatalf("capabilities %q", c)
	}
	for _, err := range e.Chat(context.Background(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}}) {
		if !errors.Is(err, engine.ErrUnsupported) || hint.Of(err) == "" || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v, want a one-line ErrUnsupported with a hint", err)
		}
		return
	}
	t.Fatal("Chat yielded nothing")
}

func TestAChatModelStillEmbedsLongTexts(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{Threads: 1, ContextLength: 128})
	if i := e.EmbedInfo(); i.Batched || i.Pooling != "none" || i.MaxTokens != 128 {
		t.Fatalf("EmbedInfo %+v", i)
	}
	long := strings.Repeat("Tom and Lily went to the park to play. ", 60)
	vecs, err := e.Embed(context.Background(), []string{long, long + "Then it rained."})
	if err != nil {
		t.Fatal(err)
	}
	var dot float64
	for j := range vecs[0] {
		dot += float64(vecs[0][j]) * float64(vecs[1][j])
	}
	if dot > 0.999999 {
		t.Fatal("text past the context made no difference: it was cut")
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestAServedEmbeddingModelEmbedsAsTheEngineDoes(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	path := testmodels.Synth(t, synth.TinyNomic(vocab))
	p, err := llama.OpenParallel(path, 2, llama.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e := open(t, path, llama.Options{Threads: 1})
	ctx := context.Background()
	for _, c := range []struct {
		what        string
		served, own func(context.Context, []string) ([][]float32, error)
	}{{"documents", p.Embed, e.Embed}, {"queries", p.EmbedQuery, e.EmbedQuery}} {
		got, err := c.served(ctx, embedTexts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.own(ctx, embedTexts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range embedTexts {
			if cos := cosine(got[i], f64(want[i])); cos < 0.9999 {
				t.Errorf("%s %d: cosine %.6f between Parallel and Engine", c.what, i, cos)
			}
		}
	}
	for _, err := range p.Chat(ctx, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "hi"}}}) {
		if !errors.Is(err, engine.ErrUnsupported) {
			t.Fatalf("Chat: %v, want ErrUnsupported", err)
		}
		return
	}
	t.Fatal("Chat yielded nothing")
}
