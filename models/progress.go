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

// bar draws one progress line on a terminal: name, percent, bytes, rate, ETA.
// On anything but a terminal it draws nothing.
type bar struct {
	mu      sync.Mutex
	w       io.Writer
	width   int
	start   time.Time
	base    int64 // bytes already on disk when the download started
	last    Progress
	drawn   bool
	samples []sample
}

type sample struct {
	t time.Time
	n int64
}

func newBar(w io.Writer) *bar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &bar{}
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
	b.draw(now)
}

func (b *bar) draw(now time.Time) {
	p := b.last
	var line string
	switch p.Status {
	case "downloading", "done":
		rate := 0.0
		if s := b.samples[0]; now.Sub(s.t) > 200*time.Millisecond {
			rate = float64(p.Completed-s.n) / now.Sub(s.t).Seconds()
		}
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
	if b.w == nil {
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
