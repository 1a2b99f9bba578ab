package llama

import "testing"

func TestTheMemoryAvailableIsReadFromTheSystem(t *testing.T) {
	t.Parallel()
	if got := memAvailable(); got < 1<<20 {
		t.Fatalf("memAvailable = %d bytes: /proc/meminfo not read", got)
	}
}
