// Package servetest holds what the tests of `nook serve` share across
// packages (serve, cmd/nook): an HTTP transport that sends an app key, and
// an MCP tool call that returns a refusal's text. It must not start
// servers or touch a vault.
package servetest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Key adds an app key (Authorization: Bearer) to every request of a real
// client; Base nil is http.DefaultTransport.
type Key struct {
	Key  string
	Base http.RoundTripper
}

func (k Key) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.Key)
	base := k.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// CallTool calls an MCP tool. It decodes the structured result into out
// (when not nil) and returns "", or returns the text of a tool error (a
// refusal). A protocol error fails the test.
func CallTool(tb testing.TB, s *mcp.ClientSession, tool string, args map[string]any, out any) string {
	tb.Helper()
	res, err := s.CallTool(tb.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		tb.Fatalf("%s: protocol error %v", tool, err)
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	if out != nil {
		raw, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s: %v: %s", tool, err, raw)
		}
	}
	return ""
}
