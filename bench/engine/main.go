package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/ollamabin"
	"github.com/nook-ai/nook/internal/testmodels"
)

type result struct {
	promptTokens int
	promptRate   float64 // tok/s
	decodeTokens int
	decodeRate   float64
	ttft         time.Duration
	total        time.Duration
}

func main() {
	model := flag.String("model", "", "GGUF to benchmark (default: a synthetic ~0.5B Q8_0 llama)")
	quant := flag.String("quant", "Q8_0", "synthetic model type: Q8_0 or Q4_0")
	threads := flag.Int("threads", runtime.NumCPU(), "CPU threads for both engines")
	promptLen := flag.Int("prompt", 256, "prompt length in tokens")
	gen := flag.Int("gen", 32, "tokens to generate")
	rounds := flag.Int("rounds", 3, "measured rounds per engine (after one warm-up)")
	ollamaBin := flag.String("ollama", "", "ollama binary (default: build/tools/ollama, installed if missing)")
	flag.Parse()
	slog.SetLogLoggerLevel(slog.LevelError)
	if err := run(*model, *quant, *threads, *promptLen, *gen, *rounds, *ollamaBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench/engine:", err)
		os.Exit(1)
	}
}

func run(model, quant string, threads, promptLen, gen, rounds int, ollamaBin string) error {
	if model == "" {
		dir, err := testmodels.Dir()
		if err != nil {
			return err
		}
		t := gguf.TypeQ8_0
		if quant == "Q4_0" {
			t = gguf.TypeQ4_0
		}
		cfg := synth.Bench(filepath.Join(dir, testmodels.VocabLlama), t)
		fmt.Fprintf(os.Stderr, "writing the synthetic %s model (once; cached)...\n", quant)
		if model, err = testmodels.SynthPath(cfg); err != nil {
			return err
		}
	}
	f, err := gguf.Inspect(model, gguf.Options{})
	if err != nil {
		return err
	}
	fmt.Printf("model: %s (%s, %.2fB params, %s), threads %d, prompt %d tokens, generate %d, %d rounds (median)\n",
		filepath.Base(model), f.Architecture(), float64(f.Parameters())/1e9, f.Quantization(), threads, promptLen, gen, rounds)

	// Prompts are made with a throwaway engine so that the measured one
	// starts cold, as `nook run` does.
	tok, err := llama.Open(model, llama.Options{Threads: threads, ContextLength: 2048})
	if err != nil {
		return err
	}
	prompts, err := makePrompts(tok, promptLen, rounds+1)
	tok.Close()
	if err != nil {
		return err
	}
	if ollamaBin == "" {
		if ollamaBin, err = ollamabin.Ensure(os.Stderr); err != nil {
			return err
		}
	}
	srv, err := startOllama(ollamaBin, model, threads)
	if err != nil {
		return err
	}
	defer srv.Stop()

	// Rounds alternate between the two engines so that a change in the
	// machine's load during the run falls on both alike.
	var nookRes, olRes []result
	var nookCold, olCold time.Duration
	// Ollama's copy of the model was just written, so it sits in the page
	// cache; read nook's file once too so that neither cold start pays a
	// disk read the other does not.
	if err := readAll(model); err != nil {
		return err
	}
	coldStart := time.Now()
	eng, err := llama.Open(model, llama.Options{Threads: threads, ContextLength: 2048})
	if err != nil {
		return err
	}
	defer eng.Close()
	for i, p := range prompts {
		r, err := nookRound(eng, p, gen)
		if err != nil {
			return fmt.Errorf("nook: %w", err)
		}
		if i == 0 {
			nookCold = time.Since(coldStart) - r.total + r.ttft
		}
		o, err := srv.round(p, gen, threads)
		if err != nil {
			return fmt.Errorf("ollama: %w; the end of its log:\n%s", err, srv.Log(15))
		}
		if i == 0 {
			olCold = o.ttft // the model was not loaded yet
			continue
		}
		nookRes = append(nookRes, r)
		olRes = append(olRes, o)
	}
	n, o := median(nookRes), median(olRes)
	fmt.Printf("\n%-22s %12s %12s %12s\n", "metric", "nook", "ollama", "nook/ollama")
	fmt.Printf("%-22s %12d %12d\n", "prompt tokens", n.promptTokens, o.promptTokens)
	fmt.Printf("%-22s %12.1f %12.1f %11.2fx\n", "prompt tok/s", n.promptRate, o.promptRate, n.promptRate/o.promptRate)
	fmt.Printf("%-22s %12.1f %12.1f %11.2fx\n", "decode tok/s", n.decodeRate, o.decodeRate, n.decodeRate/o.decodeRate)
	fmt.Printf("%-22s %12s %12s %11.2fx\n", "time to first token", n.ttft.Round(time.Millisecond), o.ttft.Round(time.Millisecond), float64(n.ttft)/float64(o.ttft))
	fmt.Printf("%-22s %12s %12s %11.2fx\n", "cold start to 1st token", nookCold.Round(time.Millisecond), olCold.Round(time.Millisecond), float64(nookCold)/float64(olCold))
	fmt.Println("targets: prompt and decode >= 1.00x, time to first token <= 0.80x")
	fmt.Println("(warm: model loaded, distinct prompts, no cache reuse; cold: load + first token of the first request)")
	return nil
}

// makePrompts returns n prompts of about promptLen tokens, each starting
// differently so that neither engine can reuse a cached prefix.
func makePrompts(e *llama.Engine, promptLen, n int) ([]string, error) {
	words := strings.Fields("the a small house river green light morning quiet garden stone bird read write open window letter road city winter summer friend music table story old new bright cold warm long short")
	rng := rand.New(rand.NewPCG(1, 2))
	var out []string
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "Round %d. ", i)
		for {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
			if b.Len()%64 == 0 || b.Len() > promptLen*2 {
				toks, err := e.Tokenize(b.String())
				if err != nil {
					return nil, err
				}
				if len(toks) >= promptLen-1 {
					break
				}
			}
		}
		out = append(out, strings.TrimSpace(b.String()))
	}
	return out, nil
}

func nookRound(e *llama.Engine, prompt string, gen int) (result, error) {
	zero := float32(0)
	seed := uint32(1)
	start := time.Now()
	var first time.Duration
	var st *engine.Stats
	for c, err := range e.Chat(context.Background(), engine.ChatRequest{
		Raw:      true,
		Messages: []engine.Message{{Role: engine.RoleUser, Content: prompt}},
		Options:  engine.Options{Temperature: &zero, Seed: &seed, NumPredict: gen, RepeatPenalty: 1},
	}) {
		if err != nil {
			return result{}, err
		}
		if first == 0 && c.Text != "" {
			first = time.Since(start)
		}
		if c.Done {
			st = c.Stats
		}
	}
	if st == nil {
		return result{}, errors.New("no stats")
	}
	return result{st.PromptEvaluated, st.PromptRate(), st.DecodeTokens, st.DecodeRate(), first, time.Since(start)}, nil
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return result{
		promptTokens: rs[0].promptTokens,
		promptRate:   pick(func(r result) float64 { return r.promptRate }),
		decodeTokens: rs[0].decodeTokens,
		decodeRate:   pick(func(r result) float64 { return r.decodeRate }),
		ttft:         time.Duration(pick(func(r result) float64 { return float64(r.ttft) })),
	}
}

// ollama is the peer: `ollama serve` from the pinned module, with the
// model imported as o.name.
type ollama struct {
	*ollamabin.Server
	name string
}

func startOllama(bin, model string, threads int) (*ollama, error) {
	srv, err := ollamabin.Start(bin, "OLLAMA_NUM_PARALLEL=1")
	if err != nil {
		return nil, err
	}
	o := &ollama{Server: srv, name: "nookbench"}
	if err := srv.Create(o.name, model); err != nil {
		srv.Stop()
		return nil, err
	}
	return o, nil
}

func (o *ollama) round(prompt string, gen, threads int) (result, error) {
	body, _ := json.Marshal(map[string]any{
		"model": o.name, "prompt": prompt, "raw": true, "stream": true,
		"options": map[string]any{"temperature": 0, "seed": 1, "num_predict": gen, "num_thread": threads, "num_ctx": 2048, "repeat_penalty": 1},
	})
	start := time.Now()
	resp, err := http.Post(o.Base+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return result{}, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(b.String()))
	}
	var first time.Duration
	var last string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		last = sc.Text()
		var r struct {
			Response           string        `json:"response"`
			Done               bool          `json:"done"`
			Error              string        `json:"error"`
			PromptEvalCount    int           `json:"prompt_eval_count"`
			PromptEvalDuration time.Duration `json:"prompt_eval_duration"`
			EvalCount          int           `json:"eval_count"`
			EvalDuration       time.Duration `json:"eval_duration"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return result{}, err
		}
		if r.Error != "" {
			return result{}, errors.New(r.Error)
		}
		if first == 0 && r.Response != "" {
			first = time.Since(start)
		}
		if r.Done {
			// ollama counts the first sampled token in eval_count; its
			// eval_duration covers the decode steps after it, as nook's does.
			return result{r.PromptEvalCount, rate(r.PromptEvalCount, r.PromptEvalDuration), r.EvalCount, rate(r.EvalCount, r.EvalDuration), first, time.Since(start)}, nil
		}
	}
	if err := sc.Err(); err != nil {
		return result{}, err
	}
	return result{}, fmt.Errorf("stream ended without done; last line %q", last)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
