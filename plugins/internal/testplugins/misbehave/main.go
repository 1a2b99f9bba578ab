// Command misbehave is an MCP server that fails in the way it is asked to,
// for the plugin host's tests. Tools:
//
//	echo {text}        answers text
//	count {}           how many calls this process answered (restarts reset it)
//	crash {}           exits with status 3 in the middle of the call
//	hang {}            never answers
//	huge {bytes}       answers that many bytes of text
//	malformed {}       writes a line that is not JSON-RPC, then hangs
//	stderr {text}      writes text to stderr, answers "ok"
//
// and tools that try what a hostile plugin would, each answering "ok: …"
// or "denied: <the error>" (never a tool error), for the sandbox tests:
//
//	read {path, offset}  reads up to 4 KiB of a file (at offset: /proc/<pid>/mem)
//	write {path, text}   creates or truncates a file and writes text
//	list {path}          lists a folder
//	env {}               its environment, one VAR=value a line
//	dial {addr}          opens a TCP connection
//	signal {pid}         sends signal 0 to a process
//	escape {}            answers text full of terminal escape sequences
//
// With --mode exit it exits at once; with --mode mute it never answers
// initialize; with --mode garbage it writes garbage before anything else.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type textIn struct {
	Text string `json:"text"`
}

type sizeIn struct {
	Bytes int `json:"bytes"`
}

type pathIn struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset,omitempty"`
	Text   string `json:"text,omitempty"`
}

type addrIn struct {
	Addr string `json:"addr"`
}

type pidIn struct {
	PID int `json:"pid"`
}

// outcome is how the hostile tools answer: what they got, or why not.
func outcome(what string, err error) *mcp.CallToolResult {
	if err != nil {
		return text("denied: " + err.Error())
	}
	return text("ok: " + what)
}

func readFile(in pathIn) (string, error) {
	f, err := os.Open(in.Path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var n int
	if in.Offset > 0 {
		n, err = f.ReadAt(buf, in.Offset)
	} else {
		n, err = f.Read(buf)
	}
	if n == 0 && err != nil && err != io.EOF {
		return "", err
	}
	return string(buf[:n]), nil
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func main() {
	mode := flag.String("mode", "", "exit, mute or garbage")
	flag.Parse()
	switch *mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "misbehave: exiting at start as asked")
		os.Exit(2)
	case "mute":
		time.Sleep(time.Hour)
	case "garbage":
		fmt.Println("<html>this is not JSON-RPC</html>")
	}
	var calls atomic.Int64
	s := mcp.NewServer(&mcp.Implementation{Name: "misbehave", Version: "0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Answer the text."}, func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
		calls.Add(1)
		return text(in.Text), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "count", Description: "Calls answered by this process."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return text(fmt.Sprint(calls.Add(1))), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exit mid-call."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		fmt.Fprintln(os.Stderr, "misbehave: crashing as asked")
		os.Exit(3)
		return nil, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "hang", Description: "Never answer."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		for {
			time.Sleep(time.Hour) // ignores cancellation on purpose
		}
	})
	mcp.AddTool(s, &mcp.Tool{Name: "huge", Description: "Answer many bytes."}, func(ctx context.Context, req *mcp.CallToolRequest, in sizeIn) (*mcp.CallToolResult, any, error) {
		calls.Add(1)
		return text(strings.Repeat("x", in.Bytes)), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "malformed", Description: "Write what is not JSON-RPC."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		os.Stdout.WriteString("{\"jsonrpc\": \"2.0\", \"id\": oops not json\n")
		time.Sleep(time.Hour)
		return nil, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "stderr", Description: "Write to stderr."}, func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
		fmt.Fprintln(os.Stderr, in.Text)
		return text("ok"), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "wipe", Description: "Pretend to delete everything.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: new(true)}}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return text("wiped"), nil, nil
	})
	hostile(s)
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatalf("misbehave: %v", err)
	}
}

// hostile adds the tools that try to reach what a plugin must not.
func hostile(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "read", Description: "Read a file."}, func(ctx context.Context, req *mcp.CallToolRequest, in pathIn) (*mcp.CallToolResult, any, error) {
		got, err := readFile(in)
		return outcome(got, err), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "write", Description: "Write a file."}, func(ctx context.Context, req *mcp.CallToolRequest, in pathIn) (*mcp.CallToolResult, any, error) {
		return outcome("written", os.WriteFile(in.Path, []byte(in.Text), 0o600)), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "list", Description: "List a folder."}, func(ctx context.Context, req *mcp.CallToolRequest, in pathIn) (*mcp.CallToolResult, any, error) {
		ents, err := os.ReadDir(in.Path)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return outcome(strings.Join(names, " "), err), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "env", Description: "Its environment."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		env := os.Environ()
		sort.Strings(env)
		return outcome(strings.Join(env, "\n"), nil), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "dial", Description: "Open a TCP connection."}, func(ctx context.Context, req *mcp.CallToolRequest, in addrIn) (*mcp.CallToolResult, any, error) {
		c, err := net.DialTimeout("tcp", in.Addr, 5*time.Second)
		if err == nil {
			c.Close()
		}
		return outcome("connected", err), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "signal", Description: "Send signal 0 to a process."}, func(ctx context.Context, req *mcp.CallToolRequest, in pidIn) (*mcp.CallToolResult, any, error) {
		p, err := os.FindProcess(in.PID)
		if err == nil {
			err = p.Signal(syscall.Signal(0))
		}
		return outcome("signalled", err), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "escape", Description: "Answer terminal escape sequences."}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return text("title\x1b]0;pwned\x07 clip\x1b]52;c;ZWNobyBwd25lZA==\x07 red\x1b[31m bell\x07 c1\u009b2J rtl\u202eexe.txt"), nil, nil
	})
}
