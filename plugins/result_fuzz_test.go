package plugins

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/internal/termsafe"
)

// FuzzToolResult feeds the host what a plugin may answer to a tool call
// (any JSON the SDK decodes as a CallToolResult) and checks what nook makes
// of it: capped, valid UTF-8, nothing a terminal would obey.
func FuzzToolResult(f *testing.F) {
	f.Add([]byte(`{"content":[{"type":"text","text":"3 km = 1.8641 mi"}]}`), 64)
	f.Add([]byte(`{"content":[{"type":"text","text":"\u001b]52;c;ZXZpbA==\u0007"},{"type":"image","mimeType":"image/png","data":""}],"isError":true}`), 16)
	f.Add([]byte(`{"content":[{"type":"resource","resource":{"uri":"x:/a","text":"héllo\u202e"}},{"type":"resource_link","uri":"x:\u001b[2J","name":"n"}]}`), 5)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		var res mcp.CallToolResult
		if err := json.Unmarshal(data, &res); err != nil {
			return
		}
		h := &Host{maxOutput: max}
		out := h.untrusted(&res)
		if !utf8.ValidString(out) || !termsafe.Clean(out) {
			t.Fatalf("unsafe output %q", out)
		}
		raw := resultText(&res)
		if len(raw) > max {
			body, _, ok := strings.Cut(out, "\n[nook: output cut at ")
			if !ok {
				t.Fatalf("a cut result does not say so: %q", out)
			}
			if utf8.RuneCountInString(body) > max {
				t.Fatalf("%d characters kept of a cap of %d bytes", utf8.RuneCountInString(body), max)
			}
		}
		if line := oneLine(out); strings.ContainsAny(line, "\n\r\t") || len(line) > 300+len("…") {
			t.Fatalf("oneLine gave %q", line)
		}
	})
}
