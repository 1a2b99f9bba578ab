package llama_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/testmodels"
)

func TestMain(m *testing.M) {
	slog.SetLogLoggerLevel(slog.LevelError) // llama.cpp logs through slog
	os.Exit(m.Run())
}

func ptr[T any](v T) *T { return &v }

func open(t *testing.T, path string, o llama.Options) *llama.Engine {
	t.Helper()
	e, err := llama.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func collect(t *testing.T, e engine.Engine, req engine.ChatRequest) (string, *engine.Stats) {
	t.Helper()
	var b strings.Builder
	var stats *engine.Stats
	for c, err := range e.Chat(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(c.Text)
		if c.Done {
			stats = c.Stats
		}
	}
	if stats == nil {
		t.Fatal("no final chunk")
	}
	return b.String(), stats
}

func greedy(n int) engine.Options {
	return engine.Options{Temperature: ptr(float32(0)), Seed: ptr(uint32(42)), NumPredict: n}
}

func TestTheTrainedStoriesModelTellsAStory(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	info := e.Info()
	if info.Architecture != "llama" || info.Backend != "CPU" || info.Template != "plain" || info.Parameters != 292800 {
		t.Fatalf("info %+v", info)
	}
	text, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once upon a time"}}, Options: greedy(40)})
	// A 260K-parameter model trained on TinyStories writes English words.
	words := strings.Fields(text)
	if len(words) < 10 {
		t.Fatalf("too little text: %q", text)
	}
	common := 0
	for _, w := range words {
		switch strings.Trim(strings.ToLower(w), ".,!\"'") {
		case "the", "a", "was", "he", "she", "and", "to", "they", "her", "his", "it", "day", "lily", "tim", "big", "one":
			common++
		}
	}
	if common < 3 {
		t.Fatalf("not story-like English: %q", text)
	}
	if st.DecodeTokens != 40 || st.PromptTokens < 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSyntheticAndRandomModelsGenerate(t *testing.T) {
	for _, tc := range []struct{ name, path string }{
		{"synthetic tiny llama with a ChatML template", testmodels.Tiny(t)},
		{"random llama-2", testmodels.Path(t, testmodels.TinyRandom)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := open(t, tc.path, llama.Options{ContextLength: 512})
			_, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Hello there"}}, Options: greedy(12)})
			if st.DecodeTokens == 0 {
				t.Fatalf("generated nothing: %+v", st)
			}
		})
	}
}

func TestGreedyWithAFixedSeedIsRepeatable(t *testing.T) {
	path := testmodels.Path(t, testmodels.Stories260K)
	req := engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "The cat"}}, Options: greedy(30)}
	a, _ := collect(t, open(t, path, llama.Options{}), req)
	b, _ := collect(t, open(t, path, llama.Options{}), req)
	if a != b {
		t.Fatalf("two engines differ:\n%q\n%q", a, b)
	}
	// Sampling with temperature and the same seed is repeatable too.
	req.Options = engine.Options{Temperature: ptr(float32(0.9)), Seed: ptr(uint32(7)), NumPredict: 30}
	e := open(t, path, llama.Options{})
	c, _ := collect(t, e, req)
	d, _ := collect(t, e, req)
	if c != d {
		t.Fatalf("same seed differs:\n%q\n%q", c, d)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var gotErr error
	var cancelledAt time.Time
	for c, err := range e.Chat(ctx, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: engine.Options{NumPredict: 100000}}) {
		if err != nil {
			gotErr = err
			break
		}
		if c.Text != "" {
			n++
		}
		if n == 5 {
			cancelledAt = time.Now()
			cancel()
		}
	}
	if !errors.Is(gotErr, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", gotErr)
	}
	// One decode step is a few milliseconds; allow for a loaded CI machine.
	if d := time.Since(cancelledAt); d > 2*time.Second {
		t.Fatalf("took %v to stop", d)
	}
	// The engine stays usable.
	if _, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: greedy(5)}); st.DecodeTokens != 5 {
		t.Fatalf("after cancel: %+v", st)
	}
}

func TestBreakingOutOfTheLoopStopsGeneration(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	n := 0
	for range e.Chat(context.Background(), engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: engine.Options{NumPredict: 100000}}) {
		n++
		if n == 3 {
			break
		}
	}
	if _, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: greedy(3)}); st.DecodeTokens != 3 {
		t.Fatalf("after break: %+v", st)
	}
}

func TestSecondTurnEvaluatesOnlyTheNewTokens(t *testing.T) {
	e := open(t, testmodels.Tiny(t), llama.Options{ContextLength: 1024})
	msgs := []engine.Message{
		{Role: "system", Content: "You are a helpful assistant who answers briefly and well."},
		{Role: "user", Content: "What is the capital of France? Please answer in one word."},
	}
	answer, first := collect(t, e, engine.ChatRequest{Messages: msgs, Options: greedy(8)})
	if first.PromptEvaluated != first.PromptTokens {
		t.Fatalf("first turn: evaluated %d of %d", first.PromptEvaluated, first.PromptTokens)
	}
	msgs = append(msgs, engine.Message{Role: "assistant", Content: answer}, engine.Message{Role: "user", Content: "And of Spain?"})
	_, second := collect(t, e, engine.ChatRequest{Messages: msgs, Options: greedy(8)})
	newTokens := second.PromptTokens - first.PromptTokens
	// Only the suffix after the reused prefix is evaluated: the new user
	// turn plus the re-tokenized answer at most.
	if second.PromptEvaluated > newTokens+first.DecodeTokens+2 || second.PromptEvaluated >= second.PromptTokens/2 {
		t.Fatalf("second turn evaluated %d of %d tokens (first prompt %d, answer %d)", second.PromptEvaluated, second.PromptTokens, first.PromptTokens, first.DecodeTokens)
	}
	// A repeated identical request evaluates a single token.
	_, third := collect(t, e, engine.ChatRequest{Messages: msgs, Options: greedy(1)})
	if third.PromptEvaluated > 1+second.DecodeTokens {
		t.Fatalf("identical prompt evaluated %d tokens", third.PromptEvaluated)
	}
}

func TestOverflowDropsOldestTurnsAndKeepsTheSystemPrompt(t *testing.T) {
	e := open(t, testmodels.Tiny(t), llama.Options{ContextLength: 256})
	msgs := []engine.Message{{Role: "system", Content: "SYSTEM RULES: be kind."}}
	for i := range 20 {
		msgs = append(msgs,
			engine.Message{Role: "user", Content: strings.Repeat("question number "+string(rune('a'+i))+" ", 4)},
			engine.Message{Role: "assistant", Content: strings.Repeat("answer ", 8)})
	}
	msgs = append(msgs, engine.Message{Role: "user", Content: "last question"})
	_, st := collect(t, e, engine.ChatRequest{Messages: msgs, Options: greedy(16)})
	if st.Dropped == 0 || st.PromptTokens > 256-16 {
		t.Fatalf("nothing dropped: %+v", st)
	}
	// The system prompt and the last question were kept.
	text, err := e.Template().Render([]engine.Message{{Role: "system", Content: "SYSTEM RULES: be kind."}}, nil)
	if err != nil || !strings.Contains(text, "SYSTEM RULES") {
		t.Fatal(text, err)
	}
	// A single message longer than the context is an error, not a crash.
	huge := []engine.Message{{Role: "system", Content: "rules"}, {Role: "user", Content: strings.Repeat("word ", 600)}}
	for _, err := range e.Chat(context.Background(), engine.ChatRequest{Messages: huge, Options: greedy(4)}) {
		if err == nil {
			continue
		}
		if !errors.Is(err, engine.ErrContextFull) || hint.Of(err) == "" {
			t.Fatalf("err = %v (hint %q), want ErrContextFull with a hint", err, hint.Of(err))
		}
		return
	}
	t.Fatal("no error for a message larger than the context")
}

func TestGenerationStopsAtTheContextEnd(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{ContextLength: 64})
	_, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once upon a time"}}, Options: engine.Options{Temperature: ptr(float32(1)), Seed: ptr(uint32(1)), NumPredict: 1000, RepeatPenalty: 1}})
	if st.ContextUsed > 64 {
		t.Fatalf("context used %d of 64", st.ContextUsed)
	}
}

func TestStopSequencesEndTheAnswer(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	full, _ := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once upon a time"}}, Options: greedy(60)})
	words := strings.Fields(full)
	if len(words) < 6 {
		t.Fatalf("too short: %q", full)
	}
	stop := words[4]
	o := greedy(60)
	o.Stop = []string{stop}
	cut, _ := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once upon a time"}}, Options: o})
	want := full[:strings.Index(full, stop)]
	if cut != want {
		t.Fatalf("with stop %q got %q, want %q", stop, cut, want)
	}
}

func TestJSONSchemaConstrainsTheOutput(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	schema := map[string]any{
		"type":       "object",
		"properties": map[string]any{"happy": map[string]any{"type": "boolean"}, "mood": map[string]any{"enum": []any{"sad", "glad"}}},
		"required":   []any{"happy", "mood"},
	}
	text, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once upon a time"}}, Format: schema, Options: greedy(200)})
	var got struct {
		Happy *bool  `json:"happy"`
		Mood  string `json:"mood"`
	}
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("not JSON (%v): %q (stats %+v)", err, text, st)
	}
	if got.Happy == nil || (got.Mood != "sad" && got.Mood != "glad") {
		t.Fatalf("does not match the schema: %q", text)
	}
}

func TestEmbeddingsAreNormalisedAndDistinct(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	vecs, err := e.Embed(context.Background(), []string{"The dog ran in the park.", "The dog ran in the park.", "Mom baked a cake for the party."})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 3 || len(vecs[0]) != 64 {
		t.Fatalf("shape %d x %d", len(vecs), len(vecs[0]))
	}
	dot := func(a, b []float32) (s float64) {
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return
	}
	for i, v := range vecs {
		if n := dot(v, v); n < 0.999 || n > 1.001 {
			t.Fatalf("vector %d has norm² %f", i, n)
		}
	}
	if dot(vecs[0], vecs[1]) < 0.9999 {
		t.Fatal("the same text embeds differently")
	}
	if dot(vecs[0], vecs[2]) > 0.9999 {
		t.Fatal("different texts embed the same")
	}
	// Chat still works after embedding (the cache was cleared).
	if _, st := collect(t, e, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: greedy(3)}); st.DecodeTokens != 3 {
		t.Fatalf("%+v", st)
	}
}

func TestBadModelFilesAreOneLineErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(testmodels.Path(t, testmodels.Stories260K))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, says string
	}{
		{"missing", filepath.Join(dir, "missing.gguf"), "no such file"},
		{"truncated", write("trunc.gguf", good[:len(good)/2]), "truncated"},
		{"foreign", write("photo.gguf", []byte("\x89PNG\r\n\x1a\n not a model at all")), "not GGUF"},
		{"vocabulary only", testmodels.Path(t, testmodels.VocabLlama), "no weights"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := llama.Open(tc.path, llama.Options{})
			if !errors.Is(err, engine.ErrBadModel) {
				t.Fatalf("err = %v, want ErrBadModel", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.says) || !strings.Contains(msg, tc.path) {
				t.Fatalf("message %q should be one line naming %q and saying %q", msg, tc.path, tc.says)
			}
			if hint.Of(err) == "" {
				t.Fatal("no hint")
			}
		})
	}
	var _ = gguf.ErrTruncated
}

func TestTokenizeMatchesLlamaCppVectors(t *testing.T) {
	// A synthetic model carries the real Llama-2 vocabulary; its tokens must
	// match the upstream tokenizer's expected ids for llama.cpp's test input.
	e := open(t, testmodels.Tiny(t), llama.Options{ContextLength: 256})
	inp, err := os.ReadFile(testmodels.Path(t, testmodels.VocabLlama) + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(testmodels.Path(t, testmodels.VocabLlama) + ".out")
	if err != nil {
		t.Fatal(err)
	}
	cases := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	wants := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	checked := 0
	for i, c := range cases {
		if i >= len(wants) || c == "" {
			continue
		}
		got, err := e.Tokenize(c)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(wants[i])
		if len(got) != len(want) {
			t.Errorf("case %d %q: %d tokens, want %d", i, c, len(got), len(want))
			continue
		}
		for j := range want {
			if w := want[j]; w != itoa(got[j]) {
				t.Errorf("case %d %q: token %d = %d, want %s", i, c, j, got[j], w)
				break
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d cases checked", checked)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// Prompt-lookup decoding must not change a single byte of the output: at
// temperature 0, and with sampling under a fixed seed (each token is drawn
// by the same sampler from the same distribution in the same order). The
// prompts repeat themselves so that drafts are made and accepted. A model
// whose verifying batches do not give one-token decoding's logits bit for
// bit on this CPU (F32 weights through llamafile's tinyBLAS, see lookup.go)
// must not draft at those sizes; the test fails unless the cases that can
// draft do, both accepted and rejected drafts, so it cannot pass by never
// drafting.
func TestPromptLookupGivesTheSameTextAsPlainDecoding(t *testing.T) {
	story := "Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. " +
		"One day Lily went to the park with her dog. She liked to play in the park with her dog."
	repeatAfterMe := strings.Repeat("red blue green yellow red blue green yellow ", 6)
	// A synthetic model with a small vocabulary (stories260K's 512 tokens)
	// falls into loops, which lookup drafts from.
	small := synth.Tiny(testmodels.Path(t, testmodels.Stories260K))
	small.Name = "nook-synth-tiny-vocab512"
	smallVocab := testmodels.Synth(t, small)
	// The same in Q8_0: its batches take the same dot products as one
	// token does on the CPUs tried, so drafts are verified.
	small.Type, small.Name = gguf.TypeQ8_0, "nook-synth-tiny-vocab512-q8"
	smallVocabQ8 := testmodels.Synth(t, small)
	exercised, accepted, rejected := 0, 0, 0
	for _, tc := range []struct {
		name, path, prompt string
		opts               engine.Options
		ctx                int
	}{
		{"trained stories model, greedy", testmodels.Path(t, testmodels.Stories260K), story, greedy(160), 512},
		{"trained stories model, sampled", testmodels.Path(t, testmodels.Stories260K), story,
			engine.Options{Temperature: ptr(float32(0.3)), Seed: ptr(uint32(3)), NumPredict: 200}, 512},
		{"random llama-2, greedy", testmodels.Path(t, testmodels.TinyRandom), repeatAfterMe, greedy(120), 512},
		{"synthetic llama, greedy", smallVocab, story, greedy(120), 512},
		{"synthetic llama, sampled", smallVocab, story,
			engine.Options{Temperature: ptr(float32(0.1)), Seed: ptr(uint32(9)), NumPredict: 160, TopK: -1, TopP: 1}, 512},
		{"synthetic llama, greedy up to the context end", smallVocab, "Lily and her dog", greedy(1000), 256},
		{"synthetic Q8_0 llama, greedy", smallVocabQ8, story, greedy(120), 512},
		{"synthetic Q8_0 llama, sampled", smallVocabQ8, story,
			engine.Options{Temperature: ptr(float32(0.1)), Seed: ptr(uint32(9)), NumPredict: 160, TopK: -1, TopP: 1}, 512},
		{"synthetic Q8_0 llama, greedy up to the context end", smallVocabQ8, "Lily and her dog", greedy(1000), 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := engine.ChatRequest{Raw: true, Messages: []engine.Message{{Role: "user", Content: tc.prompt}}, Options: tc.opts}
			plain, pst := collect(t, open(t, tc.path, llama.Options{ContextLength: tc.ctx, NoLookup: true}), req)
			if pst.Drafted != 0 {
				t.Fatalf("plain decoding drafted %d tokens", pst.Drafted)
			}
			// Adaptive drafting (what users get), then drafting at every
			// match (so that acceptance and rejection both happen often).
			adaptive := open(t, tc.path, llama.Options{ContextLength: tc.ctx})
			always := open(t, tc.path, llama.Options{ContextLength: tc.ctx})
			llama.DraftAlways(always, 4)
			var look *llama.Engine
			var got string
			for _, e := range []*llama.Engine{adaptive, always} {
				text, lst := collect(t, e, req)
				if text != plain {
					t.Fatalf("with lookup:\n%q\nplain:\n%q", text, plain)
				}
				if lst.DecodeTokens != pst.DecodeTokens || lst.ContextUsed != pst.ContextUsed {
					t.Fatalf("stats differ: lookup %+v, plain %+v", lst, pst)
				}
				exact := llama.VerifyExact(e)
				t.Logf("drafted %d, accepted %d of %d tokens; verifying batch exact by size: %v", lst.Drafted, lst.Accepted, lst.DecodeTokens, exact)
				canDraft := slices.Contains(slices.Collect(maps.Values(exact)), true)
				if !canDraft && lst.Drafted > 0 {
					t.Fatalf("drafted %d tokens although no verifying batch size was found exact: %v", lst.Drafted, exact)
				}
				if e == always && canDraft {
					if lst.Drafted == 0 {
						t.Fatalf("drafting at every match, nothing was drafted: %q", text)
					}
					exercised++
					accepted += lst.Accepted
					rejected += lst.Drafted - lst.Accepted
				}
				look, got = e, text
			}
			if pst.ContextUsed >= pst.ContextLength-1 {
				return // no room for a second turn
			}
			// The cache holds exactly the answer: a second turn that extends
			// it gives the same text on both engines too.
			req.Messages[0].Content += got + " and"
			a, _ := collect(t, look, req)
			b, _ := collect(t, open(t, tc.path, llama.Options{ContextLength: tc.ctx, NoLookup: true}), req)
			if a != b {
				t.Fatalf("second turn differs:\n%q\n%q", a, b)
			}
		})
	}
	// The quantized models' batches are exact on every CPU tried: at least
	// those cases must have verified drafts, accepted and rejected.
	if exercised == 0 || accepted == 0 || rejected == 0 {
		t.Fatalf("%d cases drafted, %d drafted tokens accepted and %d rejected: the test needs drafts both accepted and rejected", exercised, accepted, rejected)
	}
}

func TestInfoShowsTheThreadChoice(t *testing.T) {
	e := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{})
	if info := e.Info(); info.Threads != 1 || !strings.Contains(info.ThreadsWhy, "gains nothing from more") {
		t.Fatalf("a 0.3M-parameter model: threads %d (%q)", info.Threads, info.ThreadsWhy)
	}
	pinned := open(t, testmodels.Path(t, testmodels.Stories260K), llama.Options{Threads: 100000})
	if info := pinned.Info(); info.Threads < 1 || info.Threads > runtime.NumCPU() || !strings.Contains(info.ThreadsWhy, "clamped") {
		t.Fatalf("threads=100000: %d (%q)", info.Threads, info.ThreadsWhy)
	}
	// It still answers (with no more threads than CPUs).
	if _, st := collect(t, pinned, engine.ChatRequest{Messages: []engine.Message{{Role: "user", Content: "Once"}}, Options: greedy(4)}); st.DecodeTokens != 4 {
		t.Fatalf("%+v", st)
	}
}
