package engine_test

import (
	"testing"

	"github.com/nook-ai/nook/engine"
)

func TestCapabilitiesReadAsTheirNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    engine.Capabilities
		want string
	}{
		{0, ""},
		{engine.CapChat, "chat"},
		{engine.CapChat | engine.CapTools | engine.CapEmbed, "chat,embed,tools"},
		{engine.CapTokenize | 1<<20, "tokenize,0x100000"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%#x: %q, want %q", uint32(tc.c), got, tc.want)
		}
	}
}

func TestHasNeedsEveryCapabilityAsked(t *testing.T) {
	t.Parallel()
	c := engine.CapChat | engine.CapFormat
	if !c.Has(engine.CapChat) || !c.Has(engine.CapChat|engine.CapFormat) || c.Has(engine.CapChat|engine.CapTools) || !c.Has(0) {
		t.Fatalf("Has is wrong for %q", c)
	}
}
