package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/ollamabin"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/vault"
)

type config struct {
	threads, rounds    int
	short, long        int // chunks per round (MiniLM; nomic gets a quarter)
	notes              int
	skipAdd, skipNomic bool
	skipCompare        bool
	skipQ8             bool
	ollamaBin          string
	batch              int
	packs              string
	perRequest         int
}

func main() {
	var c config
	flag.IntVar(&c.threads, "threads", runtime.NumCPU(), "CPU threads for both engines")
	flag.IntVar(&c.rounds, "rounds", 3, "measured rounds per engine (after one warm-up)")
	flag.IntVar(&c.short, "short", 64, "short units (~150 bytes) per round with the MiniLM shape; nomic gets a quarter")
	flag.IntVar(&c.long, "long", 32, "paragraphs (~700 bytes) per round with the MiniLM shape; nomic gets a quarter")
	flag.IntVar(&c.perRequest, "per-request", 32, "texts per Embed call and per /api/embed request")
	flag.IntVar(&c.notes, "notes", 4200, "notes of ~2 kB for the `nook add` run")
	flag.IntVar(&c.batch, "batch", 0, "nook's tokens per embedding decode (0: the engine's default)")
	flag.StringVar(&c.packs, "packs", "", "comma-separated tokens per decode to sweep with nook alone (MiniLM shape), instead of the comparison")
	flag.BoolVar(&c.skipAdd, "skip-add", false, "skip the `nook add` run")
	flag.BoolVar(&c.skipNomic, "skip-nomic", false, "skip the nomic-shape model")
	flag.BoolVar(&c.skipCompare, "skip-compare", false, "skip the comparison with ollama")
	flag.BoolVar(&c.skipQ8, "skip-q8", false, "skip the extra row with a Q8_0 copy of the MiniLM shape")
	flag.StringVar(&c.ollamaBin, "ollama", "", "ollama binary (default: build/tools/ollama-<version>-<flags>, built if missing)")
	flag.Parse()
	slog.SetLogLoggerLevel(slog.LevelError)
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench/embed:", err)
		os.Exit(1)
	}
}

type model struct {
	label string
	path  string
	cfg   synth.Config
}

func run(c config) error {
	dir, err := testmodels.Dir()
	if err != nil {
		return err
	}
	vocab := filepath.Join(dir, testmodels.VocabBertBGE)
	fmt.Fprintln(os.Stderr, "writing the synthetic models (once; cached)...")
	mini := model{label: "MiniLM shape (bert, F16)", cfg: synth.MiniLM(vocab, gguf.TypeF16)}
	nomic := model{label: "nomic shape (nomic-bert, F16)", cfg: synth.Nomic(vocab, gguf.TypeF16)}
	mini8 := model{label: "MiniLM shape (bert, Q8_0)", cfg: synth.MiniLM(vocab, gguf.TypeQ8_0)}
	for _, m := range []*model{&mini, &nomic, &mini8} {
		if m.path, err = testmodels.SynthPath(m.cfg); err != nil {
			return err
		}
	}
	fmt.Printf("nook bench/embed: %d CPUs, threads %d (both engines), %d rounds (median), %d texts per request; load average %s\n",
		runtime.NumCPU(), c.threads, c.rounds, c.perRequest, loadAvg())
	if c.packs != "" {
		return sweep(c, mini)
	}
	if !c.skipCompare {
		bin := c.ollamaBin
		if bin == "" {
			if bin, err = ollamabin.Ensure(os.Stderr); err != nil {
				return err
			}
		}
		models := []model{mini}
		if !c.skipNomic {
			models = append(models, nomic)
		}
		if !c.skipQ8 {
			models = append(models, mini8)
		}
		fmt.Printf("\n%-30s %-24s %7s %9s %9s %7s %9s %9s %7s %7s %8s\n", "model", "workload", "tokens",
			"nook c/s", "ollama", "ratio", "nook MB/s", "ollama", "ratio", "cosine", "GFLOP/s")
		for _, m := range models {
			short, long := c.short, c.long
			if m.cfg.Arch == synth.ArchNomicBERT {
				short, long = max(1, short/4), max(1, long/4)
			}
			if err := compare(c, bin, m, short, long); err != nil {
				return fmt.Errorf("%s: %w", m.label, err)
			}
		}
		fmt.Println("c/s: chunks (texts) per second; ratio: nook/ollama (target >= 1.00x); cosine: mean agreement of the two engines' vectors")
		fmt.Println("GFLOP/s: nook's model FLOPs per second (matrix products and attention over each sequence, estimated from the shape)")
	}
	if !c.skipAdd {
		return addBench(c, mini)
	}
	return nil
}

// workload is a named set of texts.
type workload struct {
	name  string
	texts []string
	bytes int
}

func makeWorkload(name string, n, size int, seed uint64) workload {
	g := newTextGen(seed)
	w := workload{name: name}
	for range n {
		t := g.chunk(size)
		w.texts = append(w.texts, t)
		w.bytes += len(t)
	}
	return w
}

type measure struct {
	d      time.Duration
	tokens int
	sq     int // the sum of the squares of the sequence lengths
	vecs   [][]float32
}

// modelFLOPs estimates the floating-point operations of an encoder of
// shape c over sequences of tokens tokens in all whose lengths' squares
// sum to sq: per token and layer, the four attention projections (4 d²
// multiply-adds) and the feed-forward (2 d·ffn, 3 for nomic's SwiGLU);
// per layer and sequence, the attention scores and their weighted sum
// (2 n² d). Two FLOPs a multiply-add; the embeddings, norms and softmax
// are left out (they are small beside these).
func modelFLOPs(c synth.Config, tokens, sq int) float64 {
	d, f, l := float64(c.Embedding), float64(c.FFN), float64(c.Layers)
	mats := 2.0
	if c.Arch == synth.ArchNomicBERT {
		mats = 3
	}
	return 2 * l * (float64(tokens)*(4*d*d+mats*d*f) + 2*d*float64(sq))
}

func compare(c config, bin string, m model, short, long int) error {
	srv, err := ollamabin.Start(bin, "OLLAMA_NUM_PARALLEL=1")
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.Create(ollamaModel, m.path); err != nil {
		return err
	}
	eng, err := llama.Open(m.path, llama.Options{Threads: c.threads, BatchSize: c.batch})
	if err != nil {
		return err
	}
	defer eng.Close()
	prefix := eng.EmbedInfo().DocumentPrefix
	loads := []workload{
		makeWorkload(fmt.Sprintf("short (%d x ~150 B)", short), short, 150, 1),
		makeWorkload(fmt.Sprintf("paragraphs (%d x ~700 B)", long), long, 700, 2),
	}
	for _, w := range loads {
		var nookRuns, olRuns []measure
		// Round 0 warms both (ollama loads the model on its first request).
		for r := 0; r <= c.rounds; r++ {
			n, err := nookRound(eng, w.texts, c.perRequest, prefix)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			o, err := ollamaRound(srv, w.texts, c.perRequest, c.threads, prefix)
			if err != nil {
				return fmt.Errorf("ollama: %w; the end of its log:\n%s", err, srv.Log(15))
			}
			if r > 0 {
				nookRuns, olRuns = append(nookRuns, n), append(olRuns, o)
			}
		}
		n, o := median(nookRuns), median(olRuns)
		cos := meanCosine(n.vecs, o.vecs)
		cps := func(x measure) float64 { return float64(len(w.texts)) / x.d.Seconds() }
		mbs := func(x measure) float64 { return float64(w.bytes) / 1e6 / x.d.Seconds() }
		fmt.Printf("%-30s %-24s %7d %9.1f %9.1f %6.2fx %9.4f %9.4f %6.2fx %7.4f %8.1f\n", m.label, w.name, n.tokens,
			cps(n), cps(o), cps(n)/cps(o), mbs(n), mbs(o), mbs(n)/mbs(o), cos, modelFLOPs(m.cfg, n.tokens, n.sq)/1e9/n.d.Seconds())
		if n.tokens != o.tokens {
			fmt.Printf("%-30s note: nook embedded %d tokens, ollama %d\n", "", n.tokens, o.tokens)
		}
	}
	return nil
}

// sweep measures nook alone on the two workloads with each packing of
// c.packs: chunks/s (median round) and the process's CPU time per 1,000
// tokens (the least of the rounds: other programs' load disturbs it less
// than the wall time, with 1 thread).
func sweep(c config, m model) error {
	fmt.Printf("\n%-6s %-24s %7s %9s %9s %12s\n", "pack", "workload", "tokens", "nook c/s", "GFLOP/s", "min CPU s/1k tok")
	for _, f := range strings.Split(c.packs, ",") {
		var pack int
		if _, err := fmt.Sscan(f, &pack); err != nil {
			return fmt.Errorf("-packs: %q: %w", f, err)
		}
		eng, err := llama.Open(m.path, llama.Options{Threads: c.threads, BatchSize: pack})
		if err != nil {
			return err
		}
		for _, w := range []workload{
			makeWorkload(fmt.Sprintf("short (%d x ~150 B)", c.short), c.short, 150, 1),
			makeWorkload(fmt.Sprintf("paragraphs (%d x ~700 B)", c.long), c.long, 700, 2),
		} {
			var runs []measure
			var cpus []time.Duration
			for r := 0; r <= c.rounds; r++ {
				cpu := cpuTime()
				n, err := nookRound(eng, w.texts, c.perRequest, "")
				if err != nil {
					eng.Close()
					return err
				}
				if r > 0 {
					runs, cpus = append(runs, n), append(cpus, cpuTime()-cpu)
				}
			}
			n := median(runs)
			sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
			fmt.Printf("%-6d %-24s %7d %9.1f %9.1f %16.3f\n", pack, w.name, n.tokens, float64(len(w.texts))/n.d.Seconds(),
				modelFLOPs(m.cfg, n.tokens, n.sq)/1e9/n.d.Seconds(), cpus[0].Seconds()*1000/float64(n.tokens))
		}
		eng.Close()
	}
	return nil
}

// nookRound embeds texts with the engine, perRequest at a time.
func nookRound(e *llama.Engine, texts []string, perRequest int, prefix string) (measure, error) {
	var m measure
	for _, t := range texts {
		toks, err := e.Tokenize(prefix + t)
		if err != nil {
			return m, err
		}
		m.tokens += len(toks) + 2 // [CLS] … [SEP]
		m.sq += (len(toks) + 2) * (len(toks) + 2)
	}
	start := time.Now()
	for i := 0; i < len(texts); i += perRequest {
		vs, err := e.Embed(context.Background(), texts[i:min(i+perRequest, len(texts))])
		if err != nil {
			return m, err
		}
		m.vecs = append(m.vecs, vs...)
	}
	m.d = time.Since(start)
	return m, nil
}

// ollamaModel is the name the GGUF is created under in ollama.
const ollamaModel = "nookbench-embed"

// ollamaRound embeds texts through /api/embed, perRequest at a time, each
// text with the prefix nook adds by itself.
func ollamaRound(s *ollamabin.Server, texts []string, perRequest, threads int, prefix string) (measure, error) {
	var m measure
	start := time.Now()
	for i := 0; i < len(texts); i += perRequest {
		var in []string
		for _, t := range texts[i:min(i+perRequest, len(texts))] {
			in = append(in, prefix+t)
		}
		body, _ := json.Marshal(map[string]any{"model": ollamaModel, "input": in, "truncate": true,
			"options": map[string]any{"num_thread": threads}})
		resp, err := http.Post(s.Base+"/api/embed", "application/json", bytes.NewReader(body))
		if err != nil {
			return m, err
		}
		var r struct {
			Embeddings      [][]float32 `json:"embeddings"`
			PromptEvalCount int         `json:"prompt_eval_count"`
			Error           string      `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			return m, err
		}
		if r.Error != "" || resp.StatusCode != http.StatusOK {
			return m, fmt.Errorf("%s: %s", resp.Status, r.Error)
		}
		if len(r.Embeddings) != len(in) {
			return m, fmt.Errorf("%d embeddings for %d texts", len(r.Embeddings), len(in))
		}
		m.vecs = append(m.vecs, r.Embeddings...)
		m.tokens += r.PromptEvalCount
	}
	m.d = time.Since(start)
	return m, nil
}

func median(ms []measure) measure {
	sort.Slice(ms, func(i, j int) bool { return ms[i].d < ms[j].d })
	return ms[len(ms)/2]
}

func meanCosine(a, b [][]float32) float64 {
	var sum float64
	for i := range a {
		var dot, na, nb float64
		for j := range a[i] {
			dot += float64(a[i][j]) * float64(b[i][j])
			na += float64(a[i][j]) * float64(a[i][j])
			nb += float64(b[i][j]) * float64(b[i][j])
		}
		sum += dot / math.Sqrt(na*nb)
	}
	return sum / float64(len(a))
}

// countingEmbedder keeps what the vault embeds, to count its tokens
// after the timed run.
type countingEmbedder struct {
	*llama.Engine
	mu    sync.Mutex
	texts []string
	bytes int
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	c.mu.Lock()
	c.texts = append(c.texts, texts...)
	c.bytes += n
	c.mu.Unlock()
	return c.Engine.Embed(ctx, texts)
}

// tokens counts the tokens of texts as the engine embeds them (the
// document prefix and [CLS] … [SEP] included) and the sum of their squares.
func tokens(e *llama.Engine, texts []string) (n, sq int, err error) {
	prefix := e.EmbedInfo().DocumentPrefix
	for _, t := range texts {
		toks, err := e.Tokenize(prefix + t)
		if err != nil {
			return 0, 0, err
		}
		k := len(toks) + 2
		n, sq = n+k, sq+k*k
	}
	return n, sq, nil
}

func addBench(c config, m model) error {
	tmp, err := os.MkdirTemp("", "nook-bench-embed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	notes := filepath.Join(tmp, "notes")
	fmt.Fprintf(os.Stderr, "writing %d notes...\n", c.notes)
	texts, err := writeNotes(notes, c.notes)
	if err != nil {
		return err
	}
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	eng, err := llama.Open(m.path, llama.Options{Threads: c.threads, BatchSize: c.batch})
	if err != nil {
		return err
	}
	defer eng.Close()
	emb := &countingEmbedder{Engine: eng}
	v, err := vault.Init(filepath.Join(tmp, "vault"), []byte("bench passphrase"), vault.WithEmbedder(emb), vault.WithEmbedModel("minilm-shape"))
	if err != nil {
		return err
	}
	defer v.Close()
	load := loadAvg()
	cpu0 := cpuTime()
	start := time.Now()
	rep, err := v.Add(context.Background(), []string{notes}, vault.AddOptions{})
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return errors.Join(rep.Errors...)
	}
	after := loadAvg()
	embedded, sq, err := tokens(eng, emb.texts)
	if err != nil {
		return err
	}
	// The notes' own tokens: every word once, no context, no special tokens.
	inNotes := 0
	for _, t := range texts {
		toks, err := eng.Tokenize(strings.Join(strings.Fields(t), " "))
		if err != nil {
			return err
		}
		inNotes += len(toks)
	}
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	n := float64(rep.Added)
	fmt.Printf("\nnook add: %d notes, %.1f MB, %s, threads %d, %d CPUs; load average %s before, %s after\n",
		rep.Added, float64(total)/1e6, m.label, c.threads, runtime.NumCPU(), load, after)
	fmt.Printf("%-38s %10s\n", "wall time", sec(wall))
	fmt.Printf("%-38s %10s\n", "  embed (wall: a call in flight)", sec(rep.EmbedWall))
	fmt.Printf("%-38s %10s\n", "  the rest (parse, encrypt, write)", sec(wall-rep.EmbedWall))
	fmt.Printf("%-38s %10s\n", "summed over files (they overlap):", "")
	fmt.Printf("%-38s %10s\n", "  parse (read, parse, units)", sec(rep.ParseTime))
	fmt.Printf("%-38s %10s\n", "  embed (incl. waiting for the engine)", sec(rep.EmbedTime))
	fmt.Printf("%-38s %10s\n", "  encrypt", sec(rep.EncryptTime))
	fmt.Printf("%-38s %10s\n", "  write (objects, log, index)", sec(rep.WriteTime))
	fmt.Printf("%-38s %10s\n", "process CPU time", sec(cpu))
	fmt.Printf("units embedded: %d (%.1f per note; %.1f MB with their context), %.1f units/s, %.3f MB/s of notes\n",
		len(emb.texts), float64(len(emb.texts))/n, float64(emb.bytes)/1e6, float64(len(emb.texts))/wall.Seconds(), float64(total)/1e6/wall.Seconds())
	fmt.Printf("tokens embedded: %d (%.0f per note), tokens in the notes: %d (%.0f per note): %.2fx\n",
		embedded, float64(embedded)/n, inNotes, float64(inNotes)/n, float64(embedded)/float64(inNotes))
	flops := modelFLOPs(m.cfg, embedded, sq)
	rate := flops / rep.EmbedWall.Seconds()
	fmt.Printf("model work: %.1f MFLOP a token, %.2f TFLOP in all; %.0f tokens/s, %.1f GFLOP/s while embedding\n",
		flops/float64(embedded)/1e6, flops/1e12, float64(embedded)/rep.EmbedWall.Seconds(), rate/1e9)
	scale := 4200 / n
	fmt.Printf("4,200 notes: %s at this rate (measured %d, scaled); the embedding alone, %.1f TFLOP at %.1f GFLOP/s, is %s;\n",
		sec(time.Duration(float64(wall)*scale)), rep.Added, flops*scale/1e12, rate/1e9, sec(time.Duration(float64(rep.EmbedWall)*scale)))
	fmt.Printf("  2 minutes would need %.0f GFLOP/s (%.1fx this); embedding each note's tokens once and nothing else would take %s\n",
		flops*scale/120/1e9, flops*scale/120/rate, sec(time.Duration(float64(time.Second)*modelFLOPs(m.cfg, inNotes, 0)*scale/rate)))
	fmt.Println("(target: 4,200 notes under 2 minutes on 2 cores)")
	return nil
}

func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// writeNotes writes n Markdown notes of about 2 kB into dir and returns
// them.
func writeNotes(dir string, n int) ([]string, error) {
	g := newTextGen(42)
	var notes []string
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("%02d", i%64))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		note := g.note(2000)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("note-%04d.md", i)), []byte(note), 0o644); err != nil {
			return nil, err
		}
		notes = append(notes, note)
	}
	return notes, nil
}

// textGen makes deterministic English-like text.
type textGen struct{ rng *rand.Rand }

func newTextGen(seed uint64) *textGen { return &textGen{rand.New(rand.NewPCG(seed, 0x656d6265))} }

var words = strings.Fields(`the a and of to in is it that was for on are with as at be this have from or
had by not but what all were when we there can an your which their said if do will each about how up out
them then she many some so these would other into has more her two like him see time could no make than
first been its who now people my made over did down only way find use may water long little very after
words called just where most know get through back much before go good new write our used me man too any
day same right look think also around another came come work three word must because does part even place
well such here take why things help put years different away again off went old number great tell men say
small every found still between name should home big give air line set own under read last never us left end
along while might next sound below saw something thought both few those always looked show large often
together asked house world going want school important until form food keep children feet land side without
boy once animals life enough took sometimes four head above kind began almost live page got earth need far
hand high year mother light parts country father let night following picture being study second eyes soon
times story boys since white days ever paper hard near sentence better best across during today others
however sure means knew try told young miles sun ways thing whole hear example heard several change answer
room sea against top turned learn point city play toward five using himself usually garden kitchen meeting
doctor appointment tuesday friday budget invoice recipe flour butter oven bicycle train ticket passport key
drawer insurance dentist birthday present holiday beach mountain river bridge market coffee tea letter`)

func (g *textGen) sentence() string {
	n := 6 + g.rng.IntN(14)
	var b strings.Builder
	for i := range n {
		w := words[g.rng.IntN(len(words))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteByte('.')
	return b.String()
}

// chunk is one unit of about size bytes.
func (g *textGen) chunk(size int) string {
	var b strings.Builder
	for b.Len() < size {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.sentence())
	}
	return b.String()
}

// note is a Markdown note of about size bytes: a title, a few paragraphs
// under headings, and a list.
func (g *textGen) note(size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", strings.TrimSuffix(g.sentence(), "."))
	for b.Len() < size {
		switch g.rng.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "## %s\n\n", strings.TrimSuffix(g.sentence(), "."))
		case 1:
			for range 2 + g.rng.IntN(4) {
				fmt.Fprintf(&b, "- %s\n", g.sentence())
			}
			b.WriteByte('\n')
		default:
			b.WriteString(g.chunk(200 + g.rng.IntN(400)))
			b.WriteString("\n\n")
		}
	}
	return b.String()
}
