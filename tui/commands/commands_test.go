package commands

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, wantName, wantArgs string
		wantOK                         bool
	}{
		{"a command without arguments", "/help", "help", "", true},
		{"arguments keep their inner spaces", "/add  notes/a b.md ", "add", "notes/a b.md", true},
		{"names are case-insensitive", "/MODEL qwen", "model", "qwen", true},
		{"plain text is not a command", "hello /help", "", "", false},
		{"a double slash escapes the command", "//help", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, a, ok := Parse(tt.line)
			if diff := cmp.Diff([]any{tt.wantName, tt.wantArgs, tt.wantOK}, []any{n, a, ok}); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	ids := func(cs []Command) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	s := Default()
	if diff := cmp.Diff([]string{"search", "sources", "sessions", "system", "sync"}, ids(s.Complete("s"))); diff != "" {
		t.Errorf("Complete(s) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"new"}, ids(s.Complete("n"))); diff != "" {
		t.Errorf("Complete(n) (-want +got):\n%s", diff)
	}
	if got := s.Complete("zzz"); len(got) != 0 {
		t.Errorf("Complete(zzz) = %v, want none", ids(got))
	}
	for _, c := range s {
		msg, ok := c.Handler(" x ").(Invoked)
		if !ok || msg.ID != c.ID || msg.Args != "x" {
			t.Errorf("%s handler emitted %#v", c.ID, msg)
		}
	}
}
