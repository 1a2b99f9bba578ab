package plugins

import (
	"strings"

	"github.com/nook-ai/nook/plugins/internal/sandbox"
)

// Protection says, on one line, what confines the plugin when this system
// runs it (`nook plug show`): the sandbox and what it lets through, or
// why there is none.
func Protection(m *Manifest) string {
	if m.Run.URL != "" {
		if strings.HasPrefix(m.Run.URL, "https://") {
			return "no sandbox: nook runs no process for it; it talks only to the server holding the TLS key its publisher signed"
		}
		return "no sandbox: nook runs no process for it; it is reached over http on this machine"
	}
	p := sandbox.Current()
	if !p.Confined() {
		return "no sandbox: " + p.Why + "; it runs with your rights and a minimal environment"
	}
	var b strings.Builder
	b.WriteString(p.String())
	b.WriteString("; reads its folder")
	for _, r := range m.Sandbox.Read {
		b.WriteString(", " + r)
	}
	b.WriteString("; writes a private temp folder")
	for _, w := range m.Sandbox.Write {
		b.WriteString(", " + w)
	}
	switch {
	case m.Sandbox.Net:
		b.WriteString("; network: allowed")
	case p.ABI >= 4:
		b.WriteString("; network: refused")
	default:
		b.WriteString("; network: not restricted by this kernel")
	}
	return b.String()
}
