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
// With --mode exit it exits at once; with --mode mute it never answers
// initialize; with --mode garbage it writes garbage before anything else.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type textIn struct {
	Text string `json:"text"`
}

type sizeIn struct {
	Bytes int `json:"bytes"`
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
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatalf("misbehave: %v", err)
	}
}
