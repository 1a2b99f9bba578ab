package llama

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Scripted load for the thread plan: each step is one sample (a quarter
// second of the machine) and the thread count the plan must answer with.
type step struct {
	s    loadSample
	want int
}

func repeat(n int, s loadSample, want int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{s, want}
	}
	return out
}

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	idle     = loadSample{Others: 0.03, Waiting: 0, Own: 0.02}
	oneBusy  = loadSample{Others: 1.0, Waiting: 1, Own: 0.02}  // while we run 1 thread: it gets its core
	crowded  = loadSample{Others: 0.67, Waiting: 1, Own: 0.02} // while we run 2: it gets 2/3 of a core
	compiler = loadSample{Others: 0.9, Waiting: 3, Own: 0}     // a burst of short processes
)

func TestThreadPlanFollowsScriptedLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		cores, max   int
		script       []step
		reasonSays   string
		reasonLacks  string
		pin          int
		restartAfter int // restart the plan after this many steps (0: never)
	}{
		{name: "an idle 2-core machine runs 2 threads", cores: 2, max: 2,
			script: repeat(6, idle, 2), reasonSays: "of 2 cores free"},
		{name: "a busy program already running gets its core from the first sample", cores: 2, max: 2,
			script: repeat(5, oneBusy, 1), reasonSays: "other programs use 1.0"},
		{name: "a busy program that starts costs a thread after two samples", cores: 2, max: 2,
			script: seq(repeat(3, idle, 2), []step{{crowded, 2}, {crowded, 1}}, repeat(4, oneBusy, 1))},
		{name: "a thread comes back one second after the program stops", cores: 2, max: 2,
			script: seq(repeat(3, oneBusy, 1), repeat(3, idle, 1), repeat(3, idle, 2))},
		{name: "a stream's reader, runnable at each token and idle otherwise, does not cost a thread", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2), repeat(8, loadSample{Others: 0.02, Waiting: 1, Own: 0.02}, 2)), reasonSays: "of 2 cores free"},
		{name: "several readers of streams do not cost a thread either", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2), repeat(8, loadSample{Others: 0.05, Waiting: 4, Own: 0.05}, 2))},
		{name: "a single burst of short processes does not cost a thread", cores: 2, max: 2,
			script: seq(repeat(3, idle, 2), []step{{compiler, 2}}, repeat(4, idle, 2))},
		{name: "half a core of load in the dead band does not oscillate", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2),
				[]step{{loadSample{Others: 0.45}, 2}, {loadSample{Others: 0.55}, 2}, {loadSample{Others: 0.45}, 2}, {loadSample{Others: 0.55}, 2}, {loadSample{Others: 0.4}, 2}})},
		{name: "from one thread, a load just under a core's worth keeps one", cores: 2, max: 2,
			script: seq(repeat(2, oneBusy, 1), repeat(8, loadSample{Others: 0.35}, 1))},
		{name: "the Go runtime's own use counts against the cores", cores: 2, max: 2,
			script: repeat(4, loadSample{Own: 0.9}, 1), reasonSays: "nook's Go side uses 0.9"},
		{name: "an 8-core machine with three busy programs runs 5", cores: 8, max: 8,
			script: repeat(4, loadSample{Others: 3, Waiting: 3}, 5)},
		{name: "an overloaded machine still runs one thread", cores: 2, max: 2,
			script: repeat(4, loadSample{Others: 2, Waiting: 14, Own: 0.1}, 1)},
		{name: "a tiny model's cap holds on an idle machine", cores: 8, max: 1,
			script: repeat(3, idle, 1), reasonSays: "at most 1 thread"},
		{name: "a restart after a pause decides from the new sample alone", cores: 2, max: 2,
			script: seq(repeat(3, oneBusy, 1), repeat(1, idle, 2)), restartAfter: 3},
		{name: "a burst in the run queue at a restart costs a thread only until the first window", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2), []step{{loadSample{Waiting: 1}, 1}}, repeat(3, idle, 2)), restartAfter: 2},
		{name: "a busy program seen at a restart keeps its core through the first window", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2), []step{{loadSample{Waiting: 1}, 1}}, repeat(4, oneBusy, 1)), restartAfter: 2},
		{name: "after the first window, the hysteresis is back", cores: 2, max: 2,
			script: seq(repeat(2, idle, 2), []step{{loadSample{Waiting: 1}, 1}, {idle, 2}, {crowded, 2}, {crowded, 1}}), restartAfter: 2},
		{name: "a pinned count ignores the load", cores: 4, max: 4, pin: 3,
			script: seq(repeat(3, oneBusy, 3), repeat(3, idle, 3)), reasonSays: "pinned by threads=3", reasonLacks: "clamped"},
		{name: "a pin beyond the machine is clamped to its cores", cores: 2, max: 2, pin: 100000,
			script: repeat(3, idle, 2), reasonSays: "threads=100000 clamped to the 2 cores"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newThreadPlan(tc.cores, tc.max, "", tc.pin)
			var got []int
			for i, st := range tc.script {
				if tc.restartAfter > 0 && i == tc.restartAfter {
					p.restart()
				}
				got = append(got, p.observe(st.s))
			}
			for i, st := range tc.script {
				if got[i] != st.want {
					t.Fatalf("threads by sample = %v; sample %d want %d", got, i, st.want)
				}
			}
			n, why := p.threads()
			if n != got[len(got)-1] {
				t.Fatalf("threads() = %d, last decision %d", n, got[len(got)-1])
			}
			if !strings.Contains(why, tc.reasonSays) || (tc.reasonLacks != "" && strings.Contains(why, tc.reasonLacks)) {
				t.Fatalf("reason %q should say %q (and not %q)", why, tc.reasonSays, tc.reasonLacks)
			}
		})
	}
}

func TestThreadPlanNeverLeavesOneToCores(t *testing.T) {
	t.Parallel()
	// Whatever the samples, the count stays within [1, max].
	p := newThreadPlan(4, 3, "3 physical cores", 0)
	vals := []float64{-1, 0, 0.5, 3.9, 7, 1e9, math.NaN()}
	for _, o := range vals {
		for _, w := range vals {
			for _, own := range vals {
				n := p.observe(loadSample{Others: o, Waiting: w, Own: own})
				if n < 1 || n > 3 {
					t.Fatalf("observe(%v, %v, %v) = %d", o, w, own, n)
				}
			}
		}
	}
}

// fakeMeter replays samples.
type fakeMeter struct {
	samples []loadSample
	cpu     []time.Duration // decodeCPU passed in
	now     float64         // waitingNow
	over    float64         // othersOver
	asked   int             // othersOver calls
}

func (f *fakeMeter) waitingNow() (float64, bool) { return f.now, true }

func (f *fakeMeter) othersOver(time.Duration) (float64, bool) { f.asked++; return f.over, true }

func (f *fakeMeter) sample(cpu time.Duration) (loadSample, bool) {
	f.cpu = append(f.cpu, cpu)
	if len(f.samples) == 0 {
		return loadSample{}, false
	}
	s := f.samples[0]
	f.samples = f.samples[1:]
	return s, true
}

func TestThreadCtlAppliesChangesToTheContextOnly(t *testing.T) {
	t.Parallel()
	var applied []int
	c := &threadCtl{plan: newThreadPlan(2, 2, "", 0), set: func(n int) bool { applied = append(applied, n); return true }}
	c.applied = c.plan.cur
	c.publish()
	m := &fakeMeter{samples: []loadSample{oneBusy, oneBusy, oneBusy, idle, idle, idle, idle}}
	c.meter = m
	for range 7 {
		c.last = time.Now().Add(-sampleEvery) // a sample is due
		c.afterDecode(5 * time.Millisecond)
		c.beforeDecode()
	}
	if want := []int{1, 2}; len(applied) != 2 || applied[0] != want[0] || applied[1] != want[1] {
		t.Fatalf("applied %v, want %v", applied, want)
	}
	if n, why := c.current(); n != 2 || !strings.Contains(why, "adaptive") {
		t.Fatalf("current() = %d %q", n, why)
	}
	if m.cpu[1] != 5*time.Millisecond {
		t.Fatalf("decode CPU handed to the meter: %v", m.cpu)
	}
	// No sample is taken before one is due.
	before := len(m.cpu)
	c.beforeDecode()
	if len(m.cpu) != before {
		t.Fatal("sampled again within sampleEvery")
	}
}

func TestThreadCtlAfterAPauseDecidesFromTheRunQueueNow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		waitingNow float64
		over       float64 // other programs' use over the confirm window
		want       int
		confirmed  bool // the run queue's reading was checked over a window
	}{
		// While we were idle a peer (say, ollama in a benchmark) used both
		// cores: that was then, nothing waits now.
		{"a peer's past work does not cost threads", 0, 0, 2, false},
		{"a program waiting now that runs on costs a thread", 1, 1, 1, true},
		{"two programs that run on cost a thread, not more", 2, 2, 1, true},
		// A client woken by the end of the last answer sits in the run
		// queue for a moment: the prompt keeps both threads.
		{"a program passing through the run queue does not", 1, 0.1, 2, true},
		{"one of two waiting programs passing does", 2, 0.9, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var applied []int
			c := &threadCtl{plan: newThreadPlan(2, 2, "", 0), set: func(n int) bool { applied = append(applied, n); return true }}
			c.applied = 2
			m := &fakeMeter{samples: []loadSample{{Others: 1.9, Waiting: 0}}, now: tc.waitingNow, over: tc.over}
			c.meter = m
			c.last = time.Now().Add(-10 * time.Second)
			c.beforeDecode()
			if n, why := c.current(); n != tc.want {
				t.Fatalf("threads %d (%s), want %d", n, why, tc.want)
			}
			if confirmed := m.asked > 0; confirmed != tc.confirmed {
				t.Fatalf("confirmed over a window: %v, want %v", confirmed, tc.confirmed)
			}
		})
	}
}

// A program seen running in the last window before a pause, and waiting
// now, is taken at its word: the check over a window would only delay the
// prompt (a busy machine pays it on every request otherwise).
func TestThreadCtlDoesNotRecheckAProgramSeenRunningBeforeThePause(t *testing.T) {
	t.Parallel()
	c := &threadCtl{plan: newThreadPlan(2, 2, "", 0), set: func(int) bool { return true }}
	c.applied = 2
	m := &fakeMeter{samples: []loadSample{oneBusy, oneBusy, {Others: 0, Waiting: 0}}, now: 1, over: 0}
	c.meter = m
	for range 2 { // decoding beside a busy program
		c.last = time.Now().Add(-sampleEvery)
		c.beforeDecode()
	}
	if n, why := c.current(); n != 1 {
		t.Fatalf("beside a busy program: %d threads (%s)", n, why)
	}
	c.last = time.Now().Add(-10 * time.Second) // a pause, then a request
	c.beforeDecode()
	if n, why := c.current(); n != 1 || m.asked != 0 {
		t.Fatalf("after the pause: %d threads (%s), %d checks over a window; want 1 thread and none", n, why, m.asked)
	}
}
