package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/logfile"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/appbackend"
	"github.com/nook-ai/nook/tui/styles"
)

// nook (no subcommand): the terminal app. This file sets up the terminal
// (colours, stderr to a log file) and runs tui over tui/appbackend, the
// tui.Backend over the app.

func init() { runTUI = runTerminalApp }

func runTerminalApp(ctx context.Context, c *cli) error {
	in, inOK := c.stdin.(*os.File)
	out, outOK := c.stdout.(*os.File)
	if !inOK || !outOK || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return hint.New(errors.New("the terminal app needs a terminal"), "in scripts use `nook ask TEXT` or `nook run -p TEXT`")
	}
	noColor := c.getenv("NO_COLOR") != ""
	r := lipgloss.NewRenderer(out)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	// Ask the terminal for its background now, before bubbletea takes the
	// terminal (internal/earlyterm kept bubbletea's init from asking, so
	// that commands which never draw do not wait for an answer).
	dark := termenv.NewOutput(out).HasDarkBackground()
	r.SetHasDarkBackground(dark)
	theme := styles.Pick(dark, r.ColorProfile() == termenv.Ascii)

	// The app owns the screen: nothing may write to stderr meanwhile
	// (warnings, plugin events; llama.cpp logs through slog). llama.cpp and
	// ggml also print to file descriptor 2 from C, so that goes to a log
	// file in NOOK_HOME/logs while the app runs. A model pull shows in the
	// status bar.
	c.quiet.Store(true)
	prevLog := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	restore := redirectStderr(filepath.Join(c.cfg.LogsDir(), "tui.log"))
	defer func() {
		c.app.Close() // before fd 2 comes back: llama.cpp may log as it frees
		restore()
		slog.SetDefault(prevLog)
		c.quiet.Store(false)
	}()

	b := appbackend.New(c.app, []byte(c.getenv("NOOK_PASSPHRASE")))
	copyOut := termenv.NewOutput(out)
	return tui.Run(ctx, b, in, out, tui.Options{
		Styles:    styles.New(r, theme),
		Clipboard: func(s string) error { copyOut.Copy(s); return nil },
		Continue:  c.cont,
	})
}

// tuiLogSize caps tui.log while the app runs (internal/logfile rotates
// it to tui.log.1, tui.log.2).
const tuiLogSize = 1 << 20

// redirectStderr points file descriptor 2 at a pipe whose other end is
// copied into the log file, rotated while it is written (llama.cpp can
// log a lot in a long session), and returns the function that puts fd 2
// back. Failures leave stderr as it is: a garbled screen beats no app.
func redirectStderr(path string) func() {
	w, err := logfile.Open(path, tuiLogSize, 2)
	if err != nil {
		return func() {}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		w.Close()
		return func() {}
	}
	saved, err := unix.Dup(2)
	if err != nil {
		pr.Close()
		pw.Close()
		w.Close()
		return func() {}
	}
	if err := unix.Dup2(int(pw.Fd()), 2); err != nil {
		unix.Close(saved)
		pr.Close()
		pw.Close()
		w.Close()
		return func() {}
	}
	pw.Close() // fd 2 is now the pipe's only write end
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(w, pr)
	}()
	return func() {
		unix.Dup2(saved, 2) // closes the write end: the copy sees EOF
		unix.Close(saved)
		select {
		case <-done:
		case <-time.After(time.Second): // a child still holds the write end
		}
		pr.Close()
		<-done
		w.Close()
	}
}
