package earlyterm

import (
	"os"
	"testing"
)

// Within this test binary the package's init has already run: TERM reads
// "dumb" until Restore puts back what the process started with.
func TestRestorePutsTERMBack(t *testing.T) {
	if got := os.Getenv("TERM"); set && got != "dumb" {
		t.Fatalf("before Restore TERM = %q, want dumb", got)
	}
	Restore()
	got, ok := os.LookupEnv("TERM")
	if ok != hadTerm || got != term {
		t.Fatalf("after Restore TERM = %q (set %v), want %q (set %v)", got, ok, term, hadTerm)
	}
	Restore() // twice is harmless
	if got2 := os.Getenv("TERM"); got2 != got {
		t.Fatalf("a second Restore changed TERM to %q", got2)
	}
}
