package sandbox_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/nook-ai/nook/plugins/internal/sandbox"
)

func TestProtectionSaysWhatIsEnforced(t *testing.T) {
	t.Parallel()
	p := sandbox.Current()
	s := p.String()
	switch {
	case runtime.GOOS != "linux":
		if p.Confined() || !strings.HasPrefix(s, "none (") {
			t.Fatalf("%s: %q", runtime.GOOS, s)
		}
	case p.Confined():
		if !strings.HasPrefix(s, "Landlock ABI ") || !strings.Contains(s, "files") {
			t.Fatalf("%q", s)
		}
	}
}
