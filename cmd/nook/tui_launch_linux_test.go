package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/sys/unix"
)

// BenchmarkLaunchFirstFrame runs the real binary on a pseudo-terminal and
// measures from exec to the first frame of the app (the input line drawn).
// The harness answers the terminal queries (background colour, device
// attributes) the way a terminal does. The model loads in the background;
// the target is under 100 ms.
func BenchmarkLaunchFirstFrame(b *testing.B) {
	bin := buildNook(b)
	env := nookEnv(b, bin)
	var total time.Duration
	for b.Loop() {
		total += launchOnce(b, bin, env)
	}
	ms := float64(total.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "ms/first-frame")
	b.Logf("launch to first frame: %.1f ms (target < 100 ms)", ms)
}

func launchOnce(b *testing.B, bin string, env []string) time.Duration {
	b.Helper()
	master, slave := openPTY(b, 24, 80)
	defer master.Close()
	c := exec.Command(bin)
	c.Env = append(os.Environ(), append(env, "TERM=xterm-256color")...)
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	t0 := time.Now()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	slave.Close()
	var seen bytes.Buffer
	buf := make([]byte, 32<<10)
	var took, first time.Duration
	answered := 0
	deadline := time.Now().Add(20 * time.Second)
	for took == 0 {
		if time.Now().After(deadline) {
			c.Process.Kill()
			b.Fatalf("no first frame in 20s; output so far: %q", seen.String())
		}
		master.SetReadDeadline(time.Now().Add(time.Second))
		n, err := master.Read(buf)
		if n > 0 {
			if first == 0 {
				first = time.Since(t0)
			}
			seen.Write(buf[:n])
			out := seen.String()
			// Answer termenv's queries as a terminal does: background
			// colour (OSC 11), then the cursor position report it sends
			// after it to know the terminal has answered.
			for strings.Count(out, "\x1b]11;?") > answered {
				master.WriteString("\x1b]11;rgb:1c1c/1c1c/1c1c\x1b\\\x1b[1;1R")
				answered++
			}
			if strings.Contains(ansi.Strip(out), "Ask anything") {
				took = time.Since(t0)
			}
		}
		if err != nil && !os.IsTimeout(err) {
			b.Fatalf("read: %v; output so far: %q", err, seen.String())
		}
	}
	b.Logf("first byte (process start and package init) %v, first frame %v", first, took)
	master.WriteString("\x04") // ctrl+d quits
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	go func() { // keep draining so the app can write its last frame
		for {
			master.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := master.Read(buf); err != nil && !os.IsTimeout(err) {
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			b.Fatalf("nook exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		c.Process.Kill()
		b.Fatal("nook did not quit on ctrl+d")
	}
	return took
}

// openPTY opens a pseudo-terminal pair of rows×cols.
func openPTY(tb testing.TB, rows, cols uint16) (master, slave *os.File) {
	tb.Helper()
	// Non-blocking, so that read deadlines work.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	m := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		tb.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		tb.Fatal(err)
	}
	return m, s
}
