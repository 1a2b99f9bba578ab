package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/termsafe"
)

// nook run: one-shot generation, or an interactive chat on a terminal.

type runFlags struct {
	model  string
	prompt string
	system string
	n      int
	temp   float32
	seed   int64
	topK   int
	topP   float32
	stop   []string
}

func init() {
	register(func(c *cli) *cobra.Command {
		var f runFlags
		rc := &cobra.Command{
			Use:   "run [MODEL] [PROMPT...] [flags]",
			Short: "generate with a model: a prompt, text on stdin, or an interactive chat",
			Example: `  nook run llama3.2 "why is the sky blue?"
  nook run -p "why is the sky blue?"          # the configured model
  cat notes.txt | nook run -p "Summarise:"    # the prompt, then the piped text
  nook run qwen2.5:0.5b                        # a chat on the terminal`,
			Long: `Streams the model's answer to stdout, as 'ollama run' does. MODEL (or
-m) is a model name (see 'nook models') or a GGUF path; a name not
installed is pulled first (with its progress on stderr). Without one,
NOOK_MODEL or the config's model, else an installed model (nothing is
pulled). The prompt is PROMPT or -p, followed by stdin when stdin is not a
terminal; with neither on a terminal nook opens a chat prompt. A first
argument with spaces in it is the prompt, not a model.`,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				if f.model == "" && len(args) > 0 && !strings.ContainsAny(args[0], " \t\n") {
					f.model, args = args[0], args[1:]
				}
				prompt := strings.TrimSpace(strings.Join(append([]string{f.prompt}, args...), " "))
				interactive := false
				piped, err := readPiped(c)
				if err != nil {
					return err
				}
				prompt = joinPrompt(prompt, piped)
				if prompt == "" {
					if piped == "" && isTerminalIn(c) {
						interactive = true
					} else {
						return hint.New(errors.New("run: empty prompt"), `give one: nook run MODEL "PROMPT", -p TEXT, or text on stdin`)
					}
				}
				obs, end := pullProgress(c)
				err = c.app.UseModel(ctx, f.model, app.PullIfMissing(obs))
				end()
				if err != nil {
					return err
				}
				e, err := c.app.ChatModel(ctx)
				if err != nil {
					return err
				}
				defer e.Close()
				opts := f.options(cmd)
				if c.verbose {
					info := e.Info()
					fmt.Fprintf(c.stderr, "model: %s (%s, %s params, %s, context %d) on %s, template %s, loaded in %s\n",
						info.Name, info.Architecture, app.HumanCount(info.Parameters), info.Quantization, info.ContextLength, info.Backend, info.Template, info.LoadDuration.Round(time.Millisecond))
					if info.Threads > 0 {
						fmt.Fprintf(c.stderr, "threads: %s\n", info.ThreadsWhy)
					}
				}
				if interactive {
					return chatLoop(c, e, f.system, opts)
				}
				var msgs []engine.Message
				if f.system != "" {
					msgs = append(msgs, engine.Message{Role: engine.RoleSystem, Content: f.system})
				}
				msgs = append(msgs, engine.Message{Role: engine.RoleUser, Content: prompt})
				_, err = stream(ctx, c, e, engine.ChatRequest{Messages: msgs, Options: opts})
				return err
			},
		}
		rc.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 || f.model != "" {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return c.modelNames(), cobra.ShellCompDirectiveNoFileComp
		}
		fl := rc.Flags()
		fl.StringVarP(&f.model, "model", "m", "", "model name or GGUF path")
		rc.RegisterFlagCompletionFunc("model", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return c.modelNames(), cobra.ShellCompDirectiveDefault
		})
		fl.StringVarP(&f.prompt, "prompt", "p", "", "prompt text (default: stdin, or a chat on a terminal)")
		fl.StringVar(&f.system, "system", "", "system prompt")
		fl.IntVarP(&f.n, "num-predict", "n", -1, "most tokens to generate (-1: until the model stops)")
		fl.Float32Var(&f.temp, "temp", 0.8, "sampling temperature (0: greedy)")
		fl.Int64Var(&f.seed, "seed", -1, "sampling seed (-1: random)")
		fl.IntVar(&f.topK, "top-k", 40, "top-k sampling (0: off)")
		fl.Float32Var(&f.topP, "top-p", 0.9, "top-p sampling")
		fl.StringArrayVar(&f.stop, "stop", nil, "stop sequence (repeatable)")
		return rc
	})
}

func (f *runFlags) options(cmd *cobra.Command) engine.Options {
	o := engine.Options{NumPredict: f.n, TopP: f.topP, Stop: f.stop}
	if cmd.Flags().Changed("temp") {
		t := f.temp
		o.Temperature = &t
	}
	if f.seed >= 0 {
		s := uint32(f.seed)
		o.Seed = &s
	}
	if f.topK == 0 {
		o.TopK = -1
	} else {
		o.TopK = f.topK
	}
	return o
}

// stream prints the answer as it comes and returns it.
func stream(ctx context.Context, c *cli, e engine.Engine, req engine.ChatRequest) (string, error) {
	var b strings.Builder
	var stats *engine.Stats
	out := termsafe.NewWriter(c.stdout) // the model's words: shown, never obeyed
	defer out.Close()
	cut := ""
	for ch, err := range e.Chat(ctx, req) {
		if err != nil {
			out.Close()
			if b.Len() > 0 {
				fmt.Fprintln(c.stdout)
			}
			return b.String(), err
		}
		if ch.Text != "" {
			b.WriteString(ch.Text)
			io.WriteString(out, ch.Text)
		}
		if ch.Done {
			stats = ch.Stats
			cut = assistant.CutNote(ch.DoneReason, ch.Stats)
		}
	}
	out.Close()
	if !strings.HasSuffix(b.String(), "\n") {
		fmt.Fprintln(c.stdout)
	}
	if cut != "" {
		fmt.Fprintf(c.stderr, "nook: %s\n", cut)
	}
	if c.verbose && stats != nil {
		printStats(c.stderr, stats)
	}
	return b.String(), nil
}

func printStats(w io.Writer, s *engine.Stats) {
	fmt.Fprintf(w, "prompt: %d tokens (%d evaluated, %d from cache) in %s, %.1f tok/s\n",
		s.PromptTokens, s.PromptEvaluated, s.PromptTokens-s.PromptEvaluated, s.PromptDuration.Round(time.Microsecond), s.PromptRate())
	fmt.Fprintf(w, "decode: %d tokens in %s, %.1f tok/s\n", s.DecodeTokens, s.DecodeDuration.Round(time.Microsecond), s.DecodeRate())
	fmt.Fprintf(w, "first token: %s; context: %d of %d", s.TimeToFirst.Round(time.Microsecond), s.ContextUsed, s.ContextLength)
	if s.Dropped > 0 {
		fmt.Fprintf(w, "; %d old messages dropped to fit", s.Dropped)
	}
	fmt.Fprintln(w)
}

// chatLoop is the interactive prompt of `nook run` on a terminal. Ctrl+C
// stops an answer; Ctrl+D or /bye leaves.
func chatLoop(c *cli, e engine.Engine, system string, opts engine.Options) error {
	var history []engine.Message
	if system != "" {
		history = append(history, engine.Message{Role: engine.RoleSystem, Content: system})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	in := bufio.NewScanner(c.stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	fmt.Fprintf(c.stderr, "chatting with %s — /bye or Ctrl+D to leave, /clear to forget, \"\"\" for several lines\n", e.Info().Name)
	for {
		fmt.Fprint(c.stdout, ">>> ")
		if !in.Scan() {
			fmt.Fprintln(c.stdout)
			return in.Err()
		}
		line := in.Text()
		if strings.HasPrefix(strings.TrimSpace(line), `"""`) {
			var lines []string
			rest := strings.TrimPrefix(strings.TrimSpace(line), `"""`)
			for {
				if i := strings.Index(rest, `"""`); i >= 0 {
					lines = append(lines, rest[:i])
					break
				}
				lines = append(lines, rest)
				fmt.Fprint(c.stdout, "... ")
				if !in.Scan() {
					return in.Err()
				}
				rest = in.Text()
			}
			line = strings.Join(lines, "\n")
		}
		switch strings.TrimSpace(line) {
		case "":
			continue
		case "/bye", "/exit", "/quit":
			return nil
		case "/clear":
			history = history[:0]
			if system != "" {
				history = append(history, engine.Message{Role: engine.RoleSystem, Content: system})
			}
			fmt.Fprintln(c.stderr, "cleared")
			continue
		case "/help", "/?":
			fmt.Fprintln(c.stderr, "/clear forget the conversation · /bye leave · \"\"\" start and end several lines · Ctrl+C stop an answer")
			continue
		}
		history = append(history, engine.Message{Role: engine.RoleUser, Content: line})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			select {
			case <-sigs:
				cancel()
			case <-done:
			}
		}()
		answer, err := stream(ctx, c, e, engine.ChatRequest{Session: "run", Messages: history, Options: opts})
		close(done)
		cancel()
		switch {
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(c.stderr, "(stopped)")
		case err != nil:
			printError(c.stderr, err)
			history = history[:len(history)-1]
			continue
		}
		history = append(history, engine.Message{Role: engine.RoleAssistant, Content: answer})
	}
}

// isTerminalIn reports whether stdin is a terminal.
func isTerminalIn(c *cli) bool {
	fi, ok := c.stdin.(*os.File)
	return ok && term.IsTerminal(int(fi.Fd()))
}

// readPiped is stdin when it is not a terminal ("" when it is, or empty).
func readPiped(c *cli) (string, error) {
	if isTerminalIn(c) || c.stdin == nil {
		return "", nil
	}
	b, err := io.ReadAll(c.stdin)
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// joinPrompt puts piped text after the prompt, as llm does: "Summarise:"
// then the file.
func joinPrompt(prompt, piped string) string {
	switch {
	case piped == "":
		return prompt
	case prompt == "":
		return piped
	}
	return prompt + "\n\n" + piped
}
