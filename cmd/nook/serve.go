package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/serve"
	"github.com/nook-ai/nook/serve/appbackend"
)

// nook serve and nook mcp: package serve over the application layer
// (serve/appbackend). This file parses flags, unlocks the vault and prints.

func init() {
	register(serveCmd)
	register(mcpCmd)
}

// serveOptions are the config's [serve] limits.
func serveOptions(c *cli) serve.Options {
	s := c.cfg.Serve
	return serve.Options{
		Addr: s.Addr, Open: s.Open,
		MaxBody: s.MaxBody, MaxTokens: s.MaxTokens, MaxOutput: s.MaxOutput, MaxQueue: s.MaxQueue,
		Log: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

// serveVault unlocks the vault when there is one. Without one the server
// serves models only (and says so).
func serveVault(ctx context.Context, c *cli) (func(), bool, error) {
	if !c.app.VaultExists() {
		return func() {}, false, nil
	}
	_, rel, err := unlock(ctx, c, true)
	if err != nil {
		return nil, false, err
	}
	return rel, true, nil
}

func serveCmd(c *cli) *cobra.Command {
	var addr string
	var parallel int
	var open []string
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "serve your models (OpenAI and Ollama APIs) and, to apps you grant it, your vault (MCP) on " + serve.DefaultAddr,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o := serveOptions(c)
			if addr != "" {
				o.Addr = addr
			}
			if cmd.Flags().Changed("open") {
				o.Open = open
			}
			if parallel <= 0 {
				parallel = c.cfg.Serve.Parallel
			}
			// Models load as engines that batch several chats at once.
			c.app.Close()
			c.app = app.New(c.cfg, append(c.appOptions(), app.WithLoader(app.ParallelLoader(c.cfg, parallel)))...)

			vrel, hasVault, err := serveVault(ctx, c)
			if err != nil {
				return err
			}
			defer vrel()
			b := appbackend.New(c.app)
			defer b.Close()
			be := serve.Backend{Models: b}
			if hasVault {
				be = b.Backend()
			}
			s, err := serve.New(be, o)
			if err != nil {
				return hint.New(err, "fix [serve] in the config or the flags")
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			ctlDone := make(chan error, 1)
			if hasVault {
				ctl, err := serve.ListenControl(serve.ControlPath(c.cfg.RunDir()))
				if err != nil {
					return err
				}
				go func() {
					ctlDone <- serve.ServeControl(ctx, ctl, func(ctx context.Context) (serve.AppLedger, error) { return b.Ledger(ctx) })
				}()
			} else {
				ctlDone <- nil
			}
			ln, err := net.Listen("tcp", s.Addr())
			if err != nil {
				cancel()
				<-ctlDone
				return hint.New(fmt.Errorf("serve: %w", err), "another server may be using the port: pick another with --addr")
			}
			for _, l := range s.Banner(ln.Addr().String()) {
				fmt.Fprintln(c.stderr, l)
			}
			if !hasVault {
				fmt.Fprintln(c.stderr, "  no vault: models only (apps and the MCP tools need `nook init`)")
			}
			err = s.Serve(ctx, ln)
			cancel()
			if cerr := <-ctlDone; err == nil {
				err = cerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen on HOST:PORT (default serve.addr, else "+serve.DefaultAddr+"); off loopback every request needs an app key")
	cmd.Flags().IntVar(&parallel, "parallel", 0, fmt.Sprintf("chats one model decodes at once (default serve.parallel, else %d)", app.DefaultParallel))
	cmd.Flags().StringSliceVar(&open, "open", nil, "what keyless clients on this machine may do: chat, embed (default serve.open)")
	return cmd
}

func mcpCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "the MCP tools search, ask, remember and list_sources over stdio, for the app whose key is in NOOK_APP_KEY",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			vrel, hasVault, err := serveVault(ctx, c)
			if err != nil {
				return err
			}
			defer vrel()
			b := appbackend.New(c.app)
			b.PerCall = true // the embedded chain stays free between calls
			defer b.Close()
			be := serve.Backend{Models: b}
			if hasVault {
				be = b.Backend()
			}
			o := serveOptions(c)
			o.Addr = "" // stdio: the caller is on this machine
			s, err := serve.New(be, o)
			if err != nil {
				return hint.New(err, "fix [serve] in the config")
			}
			key := strings.TrimSpace(c.getenv("NOOK_APP_KEY"))
			caller, err := s.CallerForKey(key)
			if err != nil {
				return hint.New(fmt.Errorf("mcp: NOOK_APP_KEY: %w", err), "set it to the key `nook apps add NAME` printed")
			}
			if key == "" {
				fmt.Fprintln(c.stderr, "nook: mcp: no NOOK_APP_KEY: the vault's tools will refuse every call")
			}
			t := &mcp.IOTransport{Reader: io.NopCloser(c.stdin), Writer: nopWriteCloser{c.stdout}}
			err = s.MCPServer(caller).Run(ctx, t)
			if errors.Is(err, io.EOF) || (err != nil && ctx.Err() != nil) {
				return nil
			}
			return err
		},
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
