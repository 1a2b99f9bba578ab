package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopGrace is how long nook has, after SIGINT or SIGTERM, to stop on its
// own (work cancelled through the context) before it exits anyway: a model
// load or a C call cannot be interrupted, and every vault write is crash
// safe, so exiting mid-write loses nothing committed.
const stopGrace = 800 * time.Millisecond

// stopContext is signal.NotifyContext with a deadline: the first SIGINT or
// SIGTERM cancels the context and, unless the process ends first, exits
// with 128+signal after stopGrace; a second signal exits at once.
func stopContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			return
		}
		cancel()
		code := 128 + int(sig.(syscall.Signal))
		select {
		case <-sigs:
		case <-time.After(stopGrace):
		case <-done:
			return
		}
		fmt.Fprintf(stderr, "\nnook: stopped (%v)\n", sig)
		os.Exit(code)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
