package llama

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Adaptive threads.
//
// ggml splits every operation of a decode step across its threads and waits
// at a barrier for the slowest one. When the scheduler takes one of them
// away for another program, every token waits for it: on a 2-core machine
// with one busy program, 2 threads decode 3x slower than 1. So the engine
// runs as many threads as there are cores that are free now, measured
// between decode steps, and not as many as the machine was sold with.
//
// threadPlan is the decision, a pure state machine fed with load samples
// (load_linux.go measures them); threadCtl (below) ties it to a context.

// loadSample is the machine's load over the time since the previous sample.
type loadSample struct {
	// Others is how many cores other programs used (and, in a virtual
	// machine, the hypervisor took: steal time), averaged over the window.
	Others float64
	// Waiting is how many tasks of other programs were runnable at the end
	// of the window: the cores they want, which under contention is more
	// than the share they got.
	Waiting float64
	// Own is how many cores this process used outside llama.cpp's compute
	// threads: the Go runtime (GC, scheduler) and the other goroutines.
	Own float64
}

// Hysteresis. A thread that shares its core costs far more (every barrier
// stalls) than a thread too few (one core idles), so the plan drops threads
// quickly and adds them back slowly, and keeps a dead band between the two
// thresholds so that it does not oscillate around a fractional load.
const (
	sampleEvery = 250 * time.Millisecond
	// downAfter samples in a row must ask for fewer threads before dropping.
	downAfter = 2
	// upAfter samples in a row must leave room for more before adding.
	upAfter = 3
	// keepSlack: n threads stay while at least n-keepSlack cores are free.
	keepSlack = 0.5
	// growSlack: n threads are started only when n-growSlack cores are free.
	growSlack = 0.2
	// startSlack is for the first sample, which has no history to lean on.
	startSlack = 0.35
	// waitingBacked: in a window, runnable tasks of other programs count
	// up to this many times the cores those programs used.
	waitingBacked = 2
)

// threadPlan decides how many threads llama.cpp runs.
type threadPlan struct {
	cores  int // CPUs this process may run on (affinity, cgroup quota)
	max    int // most threads worth running: physical cores, tiny-model cap
	why    string
	pinned int // >0: a fixed count from the config (already clamped)

	cur     int
	waiting [3]float64 // the last Waiting readings (an instant each, so noisy)
	samples int
	instant bool // restarted: the first sample is an instant, not a window
	down    int  // consecutive samples asking for fewer threads
	up      int  // consecutive samples leaving room for more
	reason  string
	// others is what other programs used in the last window measured
	// while decoding (not across a pause).
	others float64
}

// newThreadPlan starts a plan for a machine with cores usable CPUs, of
// which max are worth running threads on (maxWhy says why max < cores).
// pin > 0 fixes the count (NOOK_THREADS or the config's threads), clamped
// to the cores: never more threads than the machine can run at once.
func newThreadPlan(cores, max int, maxWhy string, pin int) *threadPlan {
	cores = clampInt(cores, 1, math.MaxInt32)
	max = clampInt(max, 1, cores)
	p := &threadPlan{cores: cores, max: max, why: maxWhy, cur: max}
	switch {
	case pin > cores:
		p.pinned = cores
		p.cur = cores
		p.reason = fmt.Sprintf("pinned: threads=%d clamped to the %s this process may use", pin, plural(cores, "core"))
	case pin > 0:
		p.pinned = pin
		p.cur = pin
		p.reason = fmt.Sprintf("pinned by threads=%d (NOOK_THREADS or the config)", pin)
	default:
		p.reason = fmt.Sprintf("%s; load not measured yet", p.ceiling())
	}
	return p
}

// ceiling describes the most threads the plan will use.
func (p *threadPlan) ceiling() string {
	if p.why != "" {
		return fmt.Sprintf("at most %s (%s)", plural(p.max, "thread"), p.why)
	}
	return fmt.Sprintf("at most %s", plural(p.max, "thread"))
}

// threads is the count in force and why.
func (p *threadPlan) threads() (int, string) { return p.cur, p.reason }

// observe feeds one sample and returns the thread count to use from now on.
func (p *threadPlan) observe(s loadSample) int {
	if p.pinned > 0 {
		return p.cur
	}
	s.Others, s.Waiting, s.Own = sane(s.Others), sane(s.Waiting), sane(s.Own)
	windowed := p.samples > 0 // a window measured while decoding, not an instant
	if windowed {
		// A window's run queue is read at a token boundary, just as the
		// token wakes whoever reads the stream (a client in another
		// process, a terminal): such a task is runnable at that instant
		// and idle the rest of the window. A program that wants a core
		// gets CPU time in the window even when we crowd it (a third of
		// a core at least, with 2 threads on 2 cores), so the run queue
		// counts only as far as other programs' use backs it.
		s.Waiting = min(s.Waiting, waitingBacked*s.Others+0.1)
	}
	// The first window after an instant decision (a restart: the run
	// queue read once, which a burst of another program's work can fill)
	// decides alone, as the first sample does: it has measured what
	// other programs used for a quarter of a second.
	alone := p.samples == 0 || (p.samples == 1 && p.instant)
	if alone {
		p.instant = p.samples == 0 && p.instant
		p.waiting = [3]float64{s.Waiting, s.Waiting, s.Waiting}
	} else {
		p.waiting = [3]float64{p.waiting[1], p.waiting[2], s.Waiting}
	}
	p.samples++
	// The run queue's median over three samples: a program that runs on
	// is counted from its second sample, a passing one not at all.
	w := p.waiting
	waiting := max(min(w[0], w[1]), min(max(w[0], w[1]), w[2]))
	// Other programs want the cores they ran on, or those they wait for
	// when we crowd them out (the share they got under contention
	// understates what they want): take the larger.
	demand := max(s.Others, waiting)
	free := float64(p.cores) - demand - s.Own
	fit := func(slack float64) int { return clampInt(int(math.Floor(free+slack)), 1, p.max) }

	if alone {
		p.cur = fit(startSlack)
		p.down, p.up = 0, 0
	} else {
		keep, grow := fit(keepSlack), fit(growSlack)
		switch {
		case keep < p.cur:
			p.up = 0
			if p.down++; p.down >= downAfter {
				p.cur, p.down = keep, 0
			}
		case grow > p.cur:
			p.down = 0
			if p.up++; p.up >= upAfter {
				p.cur, p.up = grow, 0
			}
		default:
			p.down, p.up = 0, 0
		}
	}
	if windowed {
		p.others = s.Others
	}
	p.reason = describeLoad(p.cur, free, s.Others, waiting, s.Own, p.cores, p.ceiling())
	return p.cur
}

func describeLoad(n int, free, others, waiting, own float64, cores int, ceiling string) string {
	free = min(max(free, 0), float64(cores))
	why := fmt.Sprintf("%.1f of %s free", free, plural(cores, "core"))
	var busy []string
	if others >= 0.05 || waiting >= 0.5 {
		busy = append(busy, fmt.Sprintf("other programs use %.1f and wait for %.1f", others, waiting))
	}
	if own >= 0.05 {
		busy = append(busy, fmt.Sprintf("nook's Go side uses %.1f", own))
	}
	for i, b := range busy {
		if i == 0 {
			why += ": " + b
		} else {
			why += ", " + b
		}
	}
	return fmt.Sprintf("%s adaptive (%s; %s)", plural(n, "thread"), why, ceiling)
}

// sane sanitises a measured number of cores.
func sane(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return min(v, 1e6)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

// loadMeter measures the machine (load_linux.go); nil where it cannot.
type loadMeter interface {
	// sample returns the load since the previous call. decodeCPU is the
	// CPU time that the threads calling llama_decode spent inside it
	// since then (llama.cpp's work, not Go's).
	sample(decodeCPU time.Duration) (loadSample, bool)
	// waitingNow is Waiting measured now, robust to passing processes.
	waitingNow() (float64, bool)
	// othersOver is how many cores other programs use, measured over the
	// next d (the caller waits that long).
	othersOver(d time.Duration) (float64, bool)
}

// confirmWindow: after a pause, a run queue that says another program
// wants a core is checked against what other programs actually use over
// this long before the engine gives up a thread. A process passing through
// the run queue (a client woken by the last answer's end, a peer finishing
// its own request) otherwise cost a whole prompt its second thread: the
// prompt is one decode, and the plan is revised only between decodes.
// /proc/stat counts in 10 ms ticks, so a 60 ms window tells a program that
// used a core (about 6 ticks per core) from one that passed (0–1 tick).
const confirmWindow = 60 * time.Millisecond

// passing: a program that used less than this many cores over the confirm
// window was passing through, not running.
const passing = 0.5

// pauseAfter: a gap between samples longer than this is idle time, not a
// window to average over; the plan starts afresh.
const pauseAfter = 2 * time.Second

// threadCtl applies a threadPlan to a llama.cpp context between decode
// steps (prompt batches, generated tokens, embeddings).
type threadCtl struct {
	plan      *threadPlan
	meter     loadMeter
	set       func(n int) bool // applies n threads to the context
	applied   int
	last      time.Time
	decodeCPU time.Duration
	choice    atomic.Pointer[threadChoice]
}

type threadChoice struct {
	n   int
	why string
}

// newThreadCtl plans the threads of an engine for a model of params
// weights; pin > 0 fixes the count. set applies a count to the context.
func newThreadCtl(params uint64, pin int, set func(int) bool) *threadCtl {
	cores, physical := usableCPUs()
	most, why := physical, ""
	if physical < cores {
		why = fmt.Sprintf("%d physical cores", physical)
	}
	// On tiny models the threads' barrier at every operation costs more
	// than the work they share: no more threads than ~16M weights each.
	if tiny := max(1, int(params/16_000_000)); tiny < most {
		most, why = tiny, fmt.Sprintf("a %.2gM-parameter model gains nothing from more", float64(params)/1e6)
	}
	c := &threadCtl{plan: newThreadPlan(cores, most, why, pin), set: set}
	if pin <= 0 {
		c.meter = newLoadMeter()
		if c.meter == nil {
			c.plan.reason = fmt.Sprintf("%s (load not measurable on this system)", plural(c.plan.cur, "thread"))
		}
	}
	c.start()
	return c
}

// start makes the first decision from the run queue alone (there is no
// window to average over yet) and starts the first window. Open calls it
// again once the model is loaded, so that loading does not count as load.
func (c *threadCtl) start() {
	if c.meter != nil {
		if _, ok := c.meter.sample(0); ok {
			c.fresh(loadSample{})
		}
		c.last, c.decodeCPU = time.Now(), 0
	}
	if n, _ := c.plan.threads(); n != c.applied && c.set(n) {
		c.applied = n
	}
	c.publish()
}

// initial is the thread count to create the context with.
func (c *threadCtl) initial() int { return c.plan.cur }

// beforeDecode re-plans when a sample is due and applies a change.
func (c *threadCtl) beforeDecode() {
	if c.meter == nil {
		return
	}
	now := time.Now()
	gap := now.Sub(c.last)
	if gap < sampleEvery {
		return
	}
	s, ok := c.meter.sample(c.decodeCPU)
	c.last, c.decodeCPU = now, 0
	if !ok {
		return
	}
	var n int
	if gap > pauseAfter {
		// The window spans idle time: what other programs did then says
		// little (and may be a peer's work we waited for); the run queue
		// says what they do now.
		n = c.fresh(loadSample{Own: s.Own})
	} else {
		n = c.plan.observe(s)
	}
	if n != c.applied && c.set(n) {
		c.applied = n
	}
	c.publish()
}

// fresh restarts the plan from the run queue now. When that reading
// would cost a thread, other programs' use over confirmWindow decides
// whether they run or were passing through — unless they were seen
// running in the last window before the pause: then the program waiting
// now is most likely the one that ran then, and the check would only
// delay the prompt.
func (c *threadCtl) fresh(s loadSample) int {
	if w, ok := c.meter.waitingNow(); ok {
		s.Waiting = w
	}
	ranBefore := c.plan.others >= passing
	c.plan.restart()
	n := c.plan.observe(s)
	if n >= c.plan.max || s.Waiting <= 0 || c.plan.pinned > 0 || ranBefore {
		return n
	}
	others, ok := c.meter.othersOver(confirmWindow)
	if !ok {
		return n
	}
	s.Others = others
	if others < passing {
		s.Waiting = others
	} else {
		s.Waiting = min(s.Waiting, waitingBacked*others+0.1)
	}
	c.plan.restart()
	return c.plan.observe(s)
}

// afterDecode adds the CPU time the calling thread spent in llama_decode.
func (c *threadCtl) afterDecode(cpu time.Duration) { c.decodeCPU += max(cpu, 0) }

func (c *threadCtl) publish() {
	n, why := c.plan.threads()
	c.choice.Store(&threadChoice{n: n, why: why})
}

// current is the thread count in force and why (safe from any goroutine).
func (c *threadCtl) current() (int, string) {
	ch := c.choice.Load()
	return ch.n, ch.why
}

// restart forgets the history: the next sample (an instant reading of
// the run queue) decides alone, and so does the first window after it.
func (p *threadPlan) restart() {
	p.samples, p.up, p.down, p.instant = 0, 0, 0, true
}

// ChooseThreads is the thread count an engine opened now would start with,
// and why: the pinned count (clamped to the machine) when pin > 0, else
// the cores free over a quarter-second measurement. For `nook doctor`.
func ChooseThreads(pin int) (int, string) {
	c := newThreadCtl(math.MaxUint64, pin, func(int) bool { return true })
	if c.meter != nil {
		time.Sleep(sampleEvery)
		c.beforeDecode()
	}
	return c.current()
}
