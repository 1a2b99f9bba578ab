package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/config"
	"github.com/nook-ai/nook/internal/earlyterm"
	"github.com/nook-ai/nook/internal/harden"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/plugins"
)

// cli is what every subcommand shares: the streams, the config and the app.
type cli struct {
	cfg    *config.Config
	app    *app.App
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// verbose: -v/--verbose was given (timings, debug logs).
	verbose bool
	// cont: -c, continue the last session.
	cont bool
	// quiet: the terminal app owns the screen; warnings are dropped.
	quiet atomic.Bool
}

// subcommands registered by the files of this package, in their init.
var subcommands []func(*cli) *cobra.Command

func register(f func(*cli) *cobra.Command) { subcommands = append(subcommands, f) }

func newRoot(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "nook",
		Short: "a personal AI assistant whose data stays on your devices",
		Long: `nook is a personal AI assistant whose data stays on your devices.

Run 'nook' with no command to open the app: the first time it creates your
encrypted vault and lets you pick a model (nothing is downloaded until you
do). 'nook -c' opens it on your last session.`,
		Example: `  nook                                   # the app
  nook -c                                # the app, continuing the last session
  nook run llama3.2 "why is the sky blue?"
  cat notes.txt | nook run -p "Summarise:"
  nook add ~/notes && nook ask "where is the spare key?"
  nook ask -c "and the back door?"       # continue the last session`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelError // llama.cpp and ggml log through slog
			if c.verbose && c.getenv("NOOK_DEBUG") != "" {
				level = slog.LevelDebug
			}
			slog.SetLogLoggerLevel(level)
			return c.open()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTUI(cmd.Context(), c)
		},
	}
	root.PersistentFlags().BoolVarP(&c.verbose, "verbose", "v", false, "print timings (and, with NOOK_DEBUG=1, debug logs) to stderr")
	root.Flags().BoolVarP(&c.cont, "continue", "c", false, "open the app on the last session")
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	for _, f := range subcommands {
		root.AddCommand(f(c))
	}
	return root
}

// open loads the config and makes the app (once).
func (c *cli) open() error {
	if c.app != nil {
		return nil
	}
	cfg, err := config.Load(c.getenv)
	if err != nil {
		return hint.New(err, "fix or remove the config file, or unset the NOOK_* variable it names")
	}
	c.cfg = cfg
	c.app = app.New(cfg, c.appOptions()...)
	return nil
}

// appOptions are the options every command's App is made with.
func (c *cli) appOptions() []app.Option {
	return []app.Option{app.WithWarnings(c.warn), app.WithPluginEvents(c.pluginEvent), app.WithNotices(c.notice)}
}

// runTUI is replaced by the terminal app when it is built in.
var runTUI = func(ctx context.Context, c *cli) error {
	return hint.New(errors.New("the terminal app is not built yet"), "use `nook run -m MODEL -p TEXT`")
}

func execute(ctx context.Context, c *cli, args []string) int {
	earlyterm.Restore()
	root := newRoot(c)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if c.app != nil {
		if cerr := c.app.Close(); cerr != nil {
			fmt.Fprintf(c.stderr, "nook: warning: %v\n", cerr)
		}
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintln(c.stderr, "nook: interrupted")
		return 130
	}
	printError(c.stderr, err)
	return 1
}

func printError(w io.Writer, err error) {
	msg := err.Error()
	// Errors are one line; a C library or a wrapped server may add more.
	// They may quote a file name, a plugin's or a server's words: shown,
	// never obeyed by the terminal.
	msg = termsafe.Line(strings.ReplaceAll(strings.TrimSpace(msg), "\n", " "))
	fmt.Fprintf(w, "nook: error: %s\n", msg)
	if h := hint.Of(err); h != "" {
		fmt.Fprintf(w, "nook: hint: %s\n", termsafe.Line(h))
	}
}

// warn prints a problem that stops nothing.
func (c *cli) warn(err error) {
	if !c.quiet.Load() {
		fmt.Fprintf(c.stderr, "nook: warning: %s\n", termsafe.Line(err.Error()))
	}
}

// notice prints a one-time notice; in the terminal app (which owns the
// screen) it declines, and the app shows it with the first turn.
func (c *cli) notice(s string) bool {
	if c.quiet.Load() {
		return false
	}
	fmt.Fprintf(c.stderr, "nook: %s\n", termsafe.Line(s))
	return true
}

// pluginEvent prints crashes and timeouts (everything with -v).
func (c *cli) pluginEvent(e plugins.Event) {
	if !c.quiet.Load() && (e.Kind == "crash" || e.Kind == "timeout" || c.verbose) {
		fmt.Fprintf(c.stderr, "nook: plugin %s: %s %s\n", termsafe.Line(e.Plugin), e.Kind, termsafe.Line(e.Detail))
	}
}

func main() {
	earlyterm.Restore()                         // TERM as the user set it (see internal/earlyterm)
	harden.Process()                            // non-dumpable: /proc/<nook>/mem and environ closed to the user's other programs
	getenv := harden.TakeEnv("NOOK_PASSPHRASE") // read once, then out of the environment children inherit
	ctx, stop := stopContext(os.Stderr)
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: getenv}
	code := execute(ctx, c, os.Args[1:])
	stop()
	os.Exit(code)
}
