package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/models"
)

// pullProgress shows a model pull on stderr: on a terminal one line redrawn
// in place (name, percent of the size, rate, time left); elsewhere a line
// when bytes start to flow, one every 10 seconds and one at the end. Call
// end when the pull is over, whatever happened: it ends a drawn line.
func pullProgress(c *cli) (obs func(app.PullEvent), end func()) {
	var mu sync.Mutex
	width := 0
	if f, ok := c.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		width = 80
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w >= 40 {
			width = w
		}
	}
	started, drawn := false, false
	var printed time.Time
	end = func() {
		mu.Lock()
		defer mu.Unlock()
		if drawn {
			fmt.Fprintln(c.stderr)
			drawn = false
		}
	}
	return func(ev app.PullEvent) {
		mu.Lock()
		defer mu.Unlock()
		if width > 0 {
			line := ev.String()
			if len(line) > width-1 {
				line = line[:width-1]
			}
			fmt.Fprintf(c.stderr, "\r%-*s", width-1, line)
			drawn = true
			if ev.Status == "done" || ev.Status == "in ollama store" {
				fmt.Fprintln(c.stderr)
				drawn = false
			}
			return
		}
		switch {
		case ev.Status == "downloading" && !started:
			if ev.Total <= 0 || ev.Done >= ev.Total {
				return // nothing left to fetch
			}
			fmt.Fprintf(c.stderr, "pulling %s: %s\n", ev.Model, models.HumanBytes(ev.Total))
			started, printed = true, time.Now()
		case ev.Status == "downloading" && time.Since(printed) >= 10*time.Second:
			fmt.Fprintln(c.stderr, ev.String())
			printed = time.Now()
		case ev.Status == "done" && started, ev.Status == "in ollama store":
			fmt.Fprintln(c.stderr, ev.String())
		}
	}, end
}
