package llama

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// The confirm window must see a program that runs on: a busy child process
// uses most of a core over 300 ms even on a loaded 2-core machine.
func TestOthersOverSeesAProgramThatRunsOn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	busy := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer busy.Wait()
	defer cancel()
	time.Sleep(50 * time.Millisecond) // let it start spinning
	m := newLoadMeter().(*procMeter)
	others, ok := m.othersOver(300 * time.Millisecond)
	if !ok {
		t.Fatal("othersOver: /proc/stat not read")
	}
	if others < 0.2 {
		t.Fatalf("a busy program used %.2f cores over the window: not seen", others)
	}
}
