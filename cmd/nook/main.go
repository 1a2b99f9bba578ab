package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/hint"
)

// app is what every subcommand shares: the config and the standard streams.
type app struct {
	cfg    *config.Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// verbose: -v/--verbose was given (timings, debug logs).
	verbose bool
	// engines loaded by this command, by GGUF path; closed when it ends.
	engines map[string]engine.Engine
}

// subcommands registered by the files of this package, in their init.
var subcommands []func(*app) *cobra.Command

func register(f func(*app) *cobra.Command) { subcommands = append(subcommands, f) }

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "nook",
		Short:         "a personal AI assistant whose data stays on your devices",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelError // llama.cpp and ggml log through slog
			if a.verbose && a.getenv("NOOK_DEBUG") != "" {
				level = slog.LevelDebug
			}
			slog.SetLogLoggerLevel(level)
			cfg, err := config.Load(a.getenv)
			if err != nil {
				return hint.New(err, "fix or remove the config file, or unset the NOOK_* variable it names")
			}
			a.cfg = cfg
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTUI(cmd.Context(), a)
		},
	}
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "print timings (and, with NOOK_DEBUG=1, debug logs) to stderr")
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	for _, f := range subcommands {
		root.AddCommand(f(a))
	}
	return root
}

// runTUI is replaced by the terminal app when it is built in.
var runTUI = func(ctx context.Context, a *app) error {
	return hint.New(errors.New("the terminal app is not built yet"), "use `nook run -m MODEL -p TEXT`")
}

func execute(ctx context.Context, a *app, args []string) int {
	root := newRoot(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	a.closeEngines()
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintln(a.stderr, "nook: interrupted")
		return 130
	}
	printError(a.stderr, err)
	return 1
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	// Errors are one line; a C library or a wrapped server may add more.
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
	fmt.Fprintf(w, "nook: error: %s\n", msg)
	if h := hint.Of(err); h != "" {
		fmt.Fprintf(w, "nook: hint: %s\n", h)
	}
}

func main() {
	ctx, stop := stopContext(os.Stderr)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := execute(ctx, a, os.Args[1:])
	stop()
	os.Exit(code)
}
