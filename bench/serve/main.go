package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/ollamabin"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/serve"
)

func main() {
	model := flag.String("model", "", "GGUF file (default: the synthetic bench model)")
	threads := flag.Int("threads", 0, "pin CPU threads for both servers (default: each server's own choice: nook adaptive, ollama its default)")
	gen := flag.Int("gen", 64, "tokens each client streams")
	promptWords := flag.Int("prompt", 48, "words in each client's prompt")
	rounds := flag.Int("rounds", 3, "rounds per setting (median)")
	slots := flag.Int("slots", 4, "parallel sequences: nook's slots, OLLAMA_NUM_PARALLEL")
	ctxLen := flag.Int("ctx", 1024, "context per sequence")
	ollamaBin := flag.String("ollama", "", "ollama binary (default: build/tools, built if missing)")
	plain := flag.Bool("plain", true, "also run nook without prompt lookup (a third column)")
	temp := flag.Float64("temp", 0, "sampling temperature of every request (0: greedy)")
	flag.Parse()
	slog.SetLogLoggerLevel(slog.LevelError)
	temperature = *temp
	if err := run(*model, *threads, *gen, *promptWords, *rounds, *slots, *ctxLen, *ollamaBin, *plain); err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

// result is one round: clients streaming at once.
type result struct {
	tokens int
	wall   time.Duration
	ttft   time.Duration // mean over the clients
}

func (r result) rate() float64 { return float64(r.tokens) / r.wall.Seconds() }

func run(model string, threads, gen, promptWords, rounds, slots, ctxLen int, ollamaBin string, plain bool) error {
	if model == "" {
		dir, err := testmodels.Dir()
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "writing the synthetic Q8_0 model (once; cached)...")
		if model, err = testmodels.SynthPath(synth.Bench(filepath.Join(dir, testmodels.VocabLlama), gguf.TypeQ8_0)); err != nil {
			return err
		}
	}
	f, err := gguf.Inspect(model, gguf.Options{})
	if err != nil {
		return err
	}
	threadsLabel := "each server's default threads (nook adaptive)"
	if threads > 0 {
		threadsLabel = fmt.Sprintf("threads %d", threads)
	}
	fmt.Printf("model: %s (%s, %.2fB params, %s), %s, %d tokens per client, temperature %g, %d rounds (median), %d CPUs\n",
		filepath.Base(model), f.Architecture(), float64(f.Parameters())/1e9, f.Quantization(), threadsLabel, gen, temperature, rounds, runtime.NumCPU())
	fmt.Printf("nook:   engine/llama.Parallel, %d slots (n_seq_max %d: one more for embeddings), %d tokens of context each, batch %d, prompt lookup on (nook plain: off)\n", slots, slots+1, ctxLen, 512)
	fmt.Printf("ollama: OLLAMA_NUM_PARALLEL=%d, num_ctx %d (its KV cache: %d tokens in %d sequences), its default batch\n", slots, ctxLen, slots*ctxLen, slots)

	if ollamaBin == "" {
		if ollamaBin, err = ollamabin.Ensure(os.Stderr); err != nil {
			return err
		}
	}
	ol, err := ollamabin.Start(ollamaBin, fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", slots))
	if err != nil {
		return err
	}
	defer ol.Stop()
	if err := ol.Create("bench", model); err != nil {
		return err
	}
	nook, eng, stop, err := startNook(model, threads, slots, ctxLen, false)
	if err != nil {
		return err
	}
	defer stop()
	servers := []server{
		{"nook", nook, "bench", nil},
		{"ollama", ol.Base, "bench", map[string]any{"num_ctx": ctxLen}},
	}
	if threads > 0 {
		servers[1].extra["num_thread"] = threads
	}
	if plain {
		// The same engine without prompt lookup: what drafting adds.
		base, _, stop, err := startNook(model, threads, slots, ctxLen, true)
		if err != nil {
			return err
		}
		defer stop()
		servers = append(servers, server{"plain", base, "bench", nil})
	}
	// Warm both alike: load the model, then one request on every slot at once.
	for _, s := range servers {
		if _, err := clients(s.base, s.model, s.extra, slots, 8, promptWords, 999); err != nil {
			return fmt.Errorf("%s warm-up: %w", s.name, err)
		}
	}
	res := map[string]map[int][]result{}
	for _, s := range servers {
		res[s.name] = map[int][]result{}
	}
	retried := map[string]int{}
	seq := 0
	for r := range rounds {
		for _, n := range []int{1, 4} {
			// Each round another server goes first.
			order := append(slices.Clone(servers[r%len(servers):]), servers[:r%len(servers)]...)
			seq++ // both servers get the same prompts in a setting of a round
			for _, s := range order {
				quiet() // the previous server's work has ended
				out, err := clients(s.base, s.model, s.extra, n, gen, promptWords, seq)
				if err != nil && retried[s.name] < 2 {
					// A server that drops a stream once (ollama v0.24 does,
					// now and then, with several at once) gets the round
					// again; the count is printed with the table.
					retried[s.name]++
					fmt.Fprintf(os.Stderr, "round %d, %d client(s), %s: %v; running the round again\n", r+1, n, s.name, err)
					out, err = clients(s.base, s.model, s.extra, n, gen, promptWords, seq+10000*retried[s.name])
				}
				if err != nil {
					if s.name == "ollama" {
						err = fmt.Errorf("%w; the end of its log:\n%s", err, ol.Log(15))
					}
					return fmt.Errorf("%s, %d clients, round %d: %w", s.name, n, r+1, err)
				}
				res[s.name][n] = append(res[s.name][n], out)
				fmt.Fprintf(os.Stderr, "round %d, %d client(s), %-6s %6.1f tok/s, first token %s\n", r+1, n, s.name, out.rate(), out.ttft.Round(time.Millisecond))
			}
		}
	}
	// Columns: each nook server, Ollama, then each nook server's ratio to
	// Ollama.
	labels := map[string]string{"nook": "nook", "plain": "nook plain"}
	var ours []string
	for _, s := range servers {
		if s.name != "ollama" {
			ours = append(ours, s.name)
		}
	}
	fmt.Printf("\n%-8s %-20s", "clients", "metric")
	for _, name := range ours {
		fmt.Printf(" %12s", labels[name])
	}
	fmt.Printf(" %12s", "ollama")
	for _, name := range ours {
		fmt.Printf(" %12s", name+"/ollama")
	}
	fmt.Println()
	for _, n := range []int{1, 4} {
		ol := median(res["ollama"][n])
		ms := map[string]result{}
		for _, name := range ours {
			ms[name] = median(res[name][n])
		}
		fmt.Printf("%-8d %-20s", n, "aggregate tok/s")
		for _, name := range ours {
			fmt.Printf(" %12.1f", ms[name].rate())
		}
		fmt.Printf(" %12.1f", ol.rate())
		for _, name := range ours {
			fmt.Printf(" %11.2fx", ms[name].rate()/ol.rate())
		}
		fmt.Printf("\n%-8d %-20s", n, "time to first token")
		for _, name := range ours {
			fmt.Printf(" %12s", ms[name].ttft.Round(time.Millisecond))
		}
		fmt.Printf(" %12s", ol.ttft.Round(time.Millisecond))
		for _, name := range ours {
			fmt.Printf(" %11.2fx", float64(ms[name].ttft)/float64(ol.ttft))
		}
		fmt.Println()
	}
	if d, k := eng.Drafts(); d > 0 {
		fmt.Printf("nook prompt lookup: %d tokens drafted, %d kept (%.0f%%), warm-up included\n", d, k, 100*float64(k)/float64(d))
	} else {
		fmt.Println("nook prompt lookup: nothing drafted")
	}
	t, why := eng.Info().Threads, eng.Info().ThreadsWhy
	fmt.Printf("nook threads at the end: %d (%s)\n", t, why)
	fmt.Println("targets: aggregate tok/s >= 1.00x at 1 client, >= 1.30x at 4 clients (higher is better; TTFT: lower is better)")
	if retried["nook"]+retried["ollama"] > 0 {
		fmt.Printf("rounds run again after a dropped stream: nook %d, ollama %d\n", retried["nook"], retried["ollama"])
	}
	return nil
}

// quiet waits (at most 3 s) until the machine has been idle for 200 ms:
// less than a fifth of a core busy by /proc/stat. A server whose round
// starts while the previous one's threads still run would otherwise pay
// for them (nook's thread plan reads a busy core as another program's
// and starts on fewer threads; Ollama's shares its cores).
func quiet() {
	busy := func() (busy, total uint64, ok bool) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, false
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "cpu" {
			return 0, 0, false
		}
		for i, v := range f[1:8] {
			var n uint64
			fmt.Sscan(v, &n)
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total, true
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b0, t0, ok := busy()
		time.Sleep(200 * time.Millisecond)
		b1, t1, ok1 := busy()
		if !ok || !ok1 || t1 == t0 {
			return
		}
		if cores := float64(runtime.NumCPU()) * float64(b1-b0) / float64(t1-t0); cores < 0.2 {
			return
		}
	}
}

// server is one side of the comparison.
type server struct {
	name, base, model string
	extra             map[string]any // options sent with every request
}

// startNook serves model through nook's server over its batching engine,
// on a loopback port, with keyless chat open.
func startNook(model string, threads, slots, ctxLen int, noLookup bool) (string, *llama.Parallel, func(), error) {
	eng, err := llama.OpenParallel(model, slots, llama.Options{Threads: threads, ContextLength: ctxLen, Name: "bench", NoLookup: noLookup})
	if err != nil {
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		eng.Close()
		return "", nil, nil, err
	}
	srv, err := serve.New(serve.Backend{Models: oneModel{eng}}, serve.Options{Addr: ln.Addr().String(), Open: []string{serve.ScopeChat}})
	if err != nil {
		eng.Close()
		return "", nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	return "http://" + ln.Addr().String(), eng, func() { cancel(); <-done; eng.Close() }, nil
}

// oneModel serves one engine as the model "bench" (nook serve gets its
// models from the application layer's pool).
type oneModel struct{ e *llama.Parallel }

func (m oneModel) List(context.Context) ([]serve.ModelEntry, error) {
	return []serve.ModelEntry{{Name: "bench"}}, nil
}

func (m oneModel) Show(_ context.Context, name string) (*serve.ModelDetails, error) {
	if name != "bench" {
		return nil, serve.ErrModelNotFound
	}
	return &serve.ModelDetails{ModelEntry: serve.ModelEntry{Name: "bench"}}, nil
}

func (m oneModel) Acquire(_ context.Context, name string) (engine.Engine, error) {
	if name != "bench" {
		return nil, serve.ErrModelNotFound
	}
	return keep{m.e}, nil
}

func (m oneModel) Loaded() []serve.LoadedModel { return nil }
func (m oneModel) DefaultChat() string         { return "bench" }

// keep is a reference that does not close the shared engine.
type keep struct{ engine.Engine }

func (keep) Close() error { return nil }

// temperature is every request's (-temp).
var temperature float64

// clients runs n clients at once, each streaming gen tokens from its own
// prompt through /api/generate.
func clients(base, model string, extra map[string]any, n, gen, promptWords, seq int) (result, error) {
	var wg sync.WaitGroup
	ttfts := make([]time.Duration, n)
	toks := make([]int, n)
	errs := make([]error, n)
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = requestBody(model, extra, testmodels.Prompt(seq, i, promptWords), gen)
	}
	// The clients start together: each is ready to send before any does.
	var ready sync.WaitGroup
	ready.Add(n)
	release := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-release
			toks[i], ttfts[i], errs[i] = stream(base, bodies[i], gen)
		}()
	}
	ready.Wait()
	start := time.Now()
	close(release)
	wg.Wait()
	wall := time.Since(start)
	r := result{wall: wall}
	for i := range n {
		if errs[i] != nil {
			return r, errs[i]
		}
		r.tokens += toks[i]
		r.ttft += ttfts[i] / time.Duration(n)
	}
	return r, nil
}

// requestBody is a streamed /api/generate of gen tokens at temperature 0
// (the same options for both servers; extra adds server-specific ones).
func requestBody(model string, extra map[string]any, prompt string, gen int) []byte {
	opts := map[string]any{"temperature": temperature, "seed": 1, "num_predict": gen, "repeat_penalty": 1}
	for k, v := range extra {
		opts[k] = v
	}
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "raw": true, "stream": true, "options": opts})
	return body
}

// stream sends body and reads the stream to its end: the tokens the
// server counted (they must be gen: no early stop) and the time to the
// first text.
func stream(base string, body []byte, gen int) (int, time.Duration, error) {
	start := time.Now()
	resp, err := http.Post(base+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return 0, 0, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(b.String()))
	}
	var first time.Duration
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			Response  string `json:"response"`
			Done      bool   `json:"done"`
			Error     string `json:"error"`
			EvalCount int    `json:"eval_count"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return 0, 0, err
		}
		if r.Error != "" {
			return 0, 0, errors.New(r.Error)
		}
		if first == 0 && r.Response != "" {
			first = time.Since(start)
		}
		if r.Done {
			if r.EvalCount != gen {
				return 0, 0, fmt.Errorf("%d tokens streamed, want %d", r.EvalCount, gen)
			}
			return r.EvalCount, first, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return 0, 0, errors.New("the stream ended before done")
}

func median(rs []result) result {
	sort.Slice(rs, func(i, j int) bool { return rs[i].rate() < rs[j].rate() })
	m := rs[len(rs)/2]
	ts := make([]time.Duration, len(rs))
	for i, r := range rs {
		ts[i] = r.ttft
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	m.ttft = ts[len(ts)/2]
	return m
}
