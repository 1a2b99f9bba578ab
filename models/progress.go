package models

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// bar reports a pull's progress. On a terminal it redraws one line: name,
// bar, percent, bytes, rate, ETA. On any other writer (a pipe, a log file) it
// writes plain lines: one when the download starts, one every plainEvery,
// and one at the end. A nil writer gets nothing.
type bar struct {
	mu      sync.Mutex
	w       io.Writer
	plain   bool
	every   time.Duration // plain: time between lines
	width   int
	start   time.Time
	base    int64 // bytes already on disk when the download started
	last    Progress
	drawn   bool
	printed time.Time // plain: when the last line was written
	samples []sample
}

const plainEvery = 10 * time.Second

type sample struct {
	t time.Time
	n int64
}

func newBar(w io.Writer) *bar {
	if w == nil {
		return &bar{}
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &bar{w: w, plain: true, every: plainEvery, base: -1}
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width < 40 {
		width = 80
	}
	return &bar{w: w, width: width, base: -1}
}

func (b *bar) update(p Progress) {
	if b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.base < 0 && p.Status == "downloading" {
		b.base, b.start = p.Completed, now
	}
	b.last = p
	b.samples = append(b.samples, sample{now, p.Completed})
	// Rate over the last few seconds.
	for len(b.samples) > 2 && now.Sub(b.samples[0].t) > 5*time.Second {
		b.samples = b.samples[1:]
	}
	if b.plain {
		b.line(now)
		return
	}
	b.draw(now)
}

func (b *bar) rate(now time.Time) float64 {
	s := b.samples[0]
	if now.Sub(s.t) <= 200*time.Millisecond {
		return 0
	}
	return float64(b.last.Completed-s.n) / now.Sub(s.t).Seconds()
}

// line writes the plain form: a line when bytes start to flow, then one
// every b.every, then one when done.
func (b *bar) line(now time.Time) {
	p := b.last
	switch {
	case p.Status == "downloading" && !b.drawn:
		if p.Total <= 0 || p.Completed >= p.Total {
			return // nothing left to fetch: nothing to say
		}
		fmt.Fprintf(b.w, "pulling %s: %s\n", p.Name, HumanBytes(p.Total))
		b.drawn, b.printed = true, now
	case p.Status == "downloading" && now.Sub(b.printed) >= b.every:
		pct := 100 * float64(p.Completed) / float64(max(p.Total, 1))
		fmt.Fprintf(b.w, "pulling %s: %.0f%% %s/%s %s/s\n", p.Name, pct, HumanBytes(p.Completed), HumanBytes(p.Total), HumanBytes(int64(b.rate(now))))
		b.printed = now
	case p.Status == "done" && b.drawn:
		fmt.Fprintf(b.w, "pulled %s: %s in %s\n", p.Name, HumanBytes(p.Total), now.Sub(b.start).Round(100*time.Millisecond))
		b.drawn = false
	}
}

func (b *bar) draw(now time.Time) {
	p := b.last
	var line string
	switch p.Status {
	case "downloading", "done":
		rate := b.rate(now)
		pct := 100.0
		if p.Total > 0 {
			pct = 100 * float64(p.Completed) / float64(p.Total)
		}
		eta := "--"
		if p.Status == "done" {
			eta = "done"
		} else if rate > 0 {
			eta = (time.Duration(float64(p.Total-p.Completed)/rate) * time.Second).String()
		}
		stats := fmt.Sprintf(" %3.0f%% %s/%s %s/s %s", pct, HumanBytes(p.Completed), HumanBytes(p.Total), HumanBytes(int64(rate)), eta)
		name := p.Name
		room := b.width - len(stats) - len(name) - 5
		cells := ""
		if room >= 10 {
			full := int(float64(room) * pct / 100)
			cells = " [" + strings.Repeat("=", full) + strings.Repeat(" ", room-full) + "]"
		}
		line = name + cells + stats
	default:
		line = p.Name + ": " + p.Status
	}
	if len(line) > b.width-1 {
		line = line[:b.width-1]
	}
	fmt.Fprintf(b.w, "\r%-*s", b.width-1, line)
	b.drawn = true
}

func (b *bar) finish() {
	if b.w == nil || b.plain {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// HumanBytes prints a size in decimal units (1.2 GB), as Ollama does.
func HumanBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KB", "MB", "GB", "TB"} {
		if f < 1000 || u == "TB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1000
	}
	return ""
}
