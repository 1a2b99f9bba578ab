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
	"os/exec"
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
	// streamRate is decode tok/s as the client sees the stream: tokens
	// after the first over the time from the first to the last. The
	// engines' own decode figures differ in what they time (ollama's
	// eval_duration counts only llama_decode, not its sampling or the rest
	// of its loop; nook's counts the whole loop), this one does not.
	streamRate float64
	ttft       time.Duration
	total      time.Duration
	drafted    int // prompt-lookup tokens drafted and accepted (nook)
	accepted   int
	text       string
}

func main() {
	if os.Getenv(spinEnv) != "" {
		spin()
	}
	model := flag.String("model", "", "GGUF to benchmark (default: a synthetic ~0.5B Q8_0 llama)")
	quant := flag.String("quant", "Q8_0", "synthetic model type: Q8_0 or Q4_0")
	threads := flag.Int("threads", 0, "pin CPU threads for both engines (default: each engine's own choice: nook adaptive, ollama its default)")
	promptLen := flag.Int("prompt", 256, "prompt length in tokens")
	gen := flag.Int("gen", 32, "tokens to generate")
	rounds := flag.Int("rounds", 3, "measured rounds per engine (after one warm-up)")
	ollamaBin := flag.String("ollama", "", "ollama binary (default: build/tools/ollama, installed if missing)")
	load := flag.Int("load", 0, "also measure with N busy background processes running during both engines' rounds")
	grounded := flag.Bool("grounded", false, "measure prompt-lookup decoding on answers that copy from their prompt, and its cost where nothing is copied")
	groundedGen := flag.Int("grounded-gen", 128, "tokens to generate in -grounded rounds")
	flag.Parse()
	slog.SetLogLoggerLevel(slog.LevelError)
	cfg := config{*model, *quant, *threads, *promptLen, *gen, *rounds, *ollamaBin, *load, *grounded, *groundedGen}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/engine:", err)
		os.Exit(1)
	}
}

type config struct {
	model, quant       string
	threads, promptLen int
	gen, rounds        int
	ollamaBin          string
	load               int
	grounded           bool
	groundedGen        int
}

func run(c config) error {
	model := c.model
	if model == "" {
		dir, err := testmodels.Dir()
		if err != nil {
			return err
		}
		t := gguf.TypeQ8_0
		if c.quant == "Q4_0" {
			t = gguf.TypeQ4_0
		}
		cfg := synth.Bench(filepath.Join(dir, testmodels.VocabLlama), t)
		fmt.Fprintf(os.Stderr, "writing the synthetic %s model (once; cached)...\n", c.quant)
		if model, err = testmodels.SynthPath(cfg); err != nil {
			return err
		}
	}
	f, err := gguf.Inspect(model, gguf.Options{})
	if err != nil {
		return err
	}
	threadsLabel := "each engine's default threads (nook adaptive)"
	if c.threads > 0 {
		threadsLabel = fmt.Sprintf("threads %d", c.threads)
	}
	fmt.Printf("model: %s (%s, %.2fB params, %s), %s, prompt %d tokens, generate %d, %d rounds (median), %d CPUs\n",
		filepath.Base(model), f.Architecture(), float64(f.Parameters())/1e9, f.Quantization(), threadsLabel, c.promptLen, c.gen, c.rounds, runtime.NumCPU())

	// Prompts are made with a throwaway engine so that the measured one
	// starts cold, as `nook run` does.
	tok, err := llama.Open(model, llama.Options{Threads: c.threads, ContextLength: 2048})
	if err != nil {
		return err
	}
	prompts, err := makePrompts(tok, c.promptLen, 2*(c.rounds+1))
	tok.Close()
	if err != nil {
		return err
	}
	ollamaBin := c.ollamaBin
	if ollamaBin == "" {
		if ollamaBin, err = ollamabin.Ensure(os.Stderr); err != nil {
			return err
		}
	}
	srv, err := startOllama(ollamaBin, model)
	if err != nil {
		return err
	}
	defer srv.Stop()

	// Ollama's copy of the model was just written, so it sits in the page
	// cache; read nook's file once too so that neither cold start pays a
	// disk read the other does not.
	if err := readAll(model); err != nil {
		return err
	}
	// The thread and load tables measure plain decoding on both sides
	// (prompt lookup off; -grounded measures it).
	coldStart := time.Now()
	eng, err := llama.Open(model, llama.Options{Threads: c.threads, ContextLength: 2048, NoLookup: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	b := &bench{eng: eng, srv: srv, threads: c.threads, gen: c.gen}

	idle, err := b.section(prompts[:c.rounds+1], coldStart)
	if err != nil {
		return err
	}
	idle.print("idle machine", true)
	if c.grounded {
		if err := groundedBench(b, model, c); err != nil {
			return err
		}
	}
	if c.load > 0 { // the loaded table comes last
		stop, err := startSpinners(c.load)
		if err != nil {
			return err
		}
		loaded, err := b.section(prompts[c.rounds+1:], time.Time{})
		stop()
		if err != nil {
			return err
		}
		loaded.print(fmt.Sprintf("%d busy background process(es), both engines' rounds", c.load), false)
	}
	if b.reruns > 0 {
		fmt.Printf("\nollama dropped %d stream(s) before the end; those rounds ran again\n", b.reruns)
	}
	return nil
}

type bench struct {
	eng     *llama.Engine
	srv     *ollama
	threads int
	gen     int
	reruns  int // ollama rounds run again after a dropped stream
}

// table is one measured section: medians of both engines.
type table struct {
	nook, ollama     result
	nookCold, olCold time.Duration
	load             string // what the machine's load was
	nookThreads      string
}

// section runs one warm-up round and the measured rounds, alternating
// between the engines so that a change in the machine's load during the
// run falls on both alike. With a non-zero coldStart the first nook round
// also gives the cold start (load + first token).
func (b *bench) section(prompts []string, coldStart time.Time) (table, error) {
	var t table
	var nookRes, olRes []result
	before := readLoad()
	for i, p := range prompts {
		r, err := nookRound(b.eng, p, b.gen, true)
		if err != nil {
			return t, fmt.Errorf("nook: %w", err)
		}
		if i == 0 && !coldStart.IsZero() {
			t.nookCold = time.Since(coldStart) - r.total + r.ttft
		}
		o, err := b.ollamaRound(p, b.gen, true)
		if err != nil {
			return t, fmt.Errorf("ollama: %w; the end of its log:\n%s", err, b.srv.Log(15))
		}
		if i == 0 {
			t.olCold = o.ttft // the model was not loaded yet (first section)
			continue
		}
		nookRes = append(nookRes, r)
		olRes = append(olRes, o)
	}
	t.nook, t.ollama = median(nookRes), median(olRes)
	t.load = fmt.Sprintf("load average %s before, %s after", before, readLoad())
	n, why := b.eng.Info().Threads, b.eng.Info().ThreadsWhy
	t.nookThreads = fmt.Sprintf("%d (%s)", n, why)
	return t, nil
}

func (t table) print(title string, cold bool) {
	n, o := t.nook, t.ollama
	fmt.Printf("\n%s (%s)\n", title, t.load)
	fmt.Printf("%-22s %12s %12s %12s\n", "metric", "nook", "ollama", "nook/ollama")
	fmt.Printf("%-22s %12d %12d\n", "prompt tokens", n.promptTokens, o.promptTokens)
	fmt.Printf("%-22s %12.1f %12.1f %11.2fx\n", "prompt tok/s", n.promptRate, o.promptRate, n.promptRate/o.promptRate)
	fmt.Printf("%-22s %12.1f %12.1f %11.2fx\n", "decode tok/s", n.decodeRate, o.decodeRate, n.decodeRate/o.decodeRate)
	fmt.Printf("%-22s %12.1f %12.1f %11.2fx\n", "decode tok/s, streamed", n.streamRate, o.streamRate, n.streamRate/o.streamRate)
	fmt.Printf("%-22s %12s %12s %11.2fx\n", "time to first token", n.ttft.Round(time.Millisecond), o.ttft.Round(time.Millisecond), float64(n.ttft)/float64(o.ttft))
	if cold {
		fmt.Printf("%-22s %12s %12s %11.2fx\n", "cold start to 1st token", t.nookCold.Round(time.Millisecond), t.olCold.Round(time.Millisecond), float64(t.nookCold)/float64(t.olCold))
	}
	fmt.Printf("nook threads at the end: %s\n", t.nookThreads)
	fmt.Println("(decode tok/s: each engine's own figure; ollama's times llama_decode only, nook's its whole loop with sampling; streamed: both timed by this client from the first token to the last)")
	if cold {
		fmt.Println("targets: prompt and decode >= 1.00x, time to first token <= 0.80x")
		fmt.Println("(warm: model loaded, distinct prompts, no cache reuse; cold: load + first token of the first request)")
	} else {
		fmt.Println("targets (2 cores, one busy process): decode >= 2.00x, prompt >= 1.10x")
	}
}

// readLoad is the 1-minute load average.
func readLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// spinEnv makes this program a busy background process (for -load).
const spinEnv = "NOOK_BENCH_SPIN"

func spin() {
	runtime.GOMAXPROCS(1)
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Print("")
		}
	}
}

// startSpinners starts n busy processes (this program, re-run) and returns
// the function that stops them.
func startSpinners(n int) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}
	for range n {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), spinEnv+"=1")
		c.SysProcAttr = spinAttr()
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	time.Sleep(500 * time.Millisecond) // let them get going
	return stop, nil
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

func nookRound(e *llama.Engine, prompt string, gen int, greedy bool) (result, error) {
	temp := float32(0)
	if !greedy {
		temp = 1
	}
	seed := uint32(1)
	start := time.Now()
	var first, last time.Duration
	var st *engine.Stats
	var text strings.Builder
	for c, err := range e.Chat(context.Background(), engine.ChatRequest{
		Raw:      true,
		Messages: []engine.Message{{Role: engine.RoleUser, Content: prompt}},
		Options:  engine.Options{Temperature: &temp, Seed: &seed, NumPredict: gen, RepeatPenalty: 1, TopK: -1, TopP: 1},
	}) {
		if err != nil {
			return result{}, err
		}
		if first == 0 && c.Text != "" {
			first = time.Since(start)
		}
		text.WriteString(c.Text)
		if c.Done {
			st = c.Stats
			last = time.Since(start)
		}
	}
	if st == nil {
		return result{}, errors.New("no stats")
	}
	return result{promptTokens: st.PromptEvaluated, promptRate: st.PromptRate(), decodeTokens: st.DecodeTokens, decodeRate: st.DecodeRate(),
		streamRate: rate(st.DecodeTokens-1, last-first), ttft: first, total: time.Since(start),
		drafted: st.Drafted, accepted: st.Accepted, text: text.String()}, nil
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
		streamRate:   pick(func(r result) float64 { return r.streamRate }),
		ttft:         time.Duration(pick(func(r result) float64 { return float64(r.ttft) })),
		drafted:      int(pick(func(r result) float64 { return float64(r.drafted) })),
		accepted:     int(pick(func(r result) float64 { return float64(r.accepted) })),
	}
}

// ollama is the peer: `ollama serve` from the pinned module, with the
// model imported as o.name.
type ollama struct {
	*ollamabin.Server
	name string
}

func startOllama(bin, model string) (*ollama, error) {
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

// round runs one request; threads 0 leaves ollama's default.
func (o *ollama) round(prompt string, gen, threads int, greedy bool) (result, error) {
	opts := map[string]any{"temperature": 0, "seed": 1, "num_predict": gen, "num_ctx": 2048, "repeat_penalty": 1, "top_k": 0, "top_p": 1}
	if !greedy {
		opts["temperature"] = 1
	}
	if threads > 0 {
		opts["num_thread"] = threads
	}
	body, _ := json.Marshal(map[string]any{"model": o.name, "prompt": prompt, "raw": true, "stream": true, "options": opts})
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
	var text strings.Builder
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
		text.WriteString(r.Response)
		if r.Done {
			// ollama counts the first sampled token in eval_count; its
			// eval_duration covers the decode steps after it, as nook's does
			// (but only their llama_decode calls: see result.streamRate).
			end := time.Since(start)
			return result{promptTokens: r.PromptEvalCount, promptRate: rate(r.PromptEvalCount, r.PromptEvalDuration), decodeTokens: r.EvalCount, decodeRate: rate(r.EvalCount, r.EvalDuration),
				streamRate: rate(r.EvalCount-1, end-first), ttft: first, total: end, text: text.String()}, nil
		}
	}
	if err := sc.Err(); err != nil {
		return result{}, err
	}
	return result{}, fmt.Errorf("%w; last line %q", errDropped, last)
}

// errDropped: ollama closed a stream before its last message (it does now
// and then on a loaded machine).
var errDropped = errors.New("stream ended without done")

// ollamaRound is one ollama round; a dropped stream runs again (at most
// twice), and the count is printed at the end.
func (b *bench) ollamaRound(prompt string, gen int, greedy bool) (result, error) {
	for try := 0; ; try++ {
		r, err := b.srv.round(prompt, gen, b.threads, greedy)
		if err == nil || !errors.Is(err, errDropped) || try == 2 {
			return r, err
		}
		b.reruns++
	}
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
