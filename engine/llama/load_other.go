//go:build !linux

package llama

import (
	"runtime"
	"time"
)

// Elsewhere than Linux the load is not measured (yet): the plan runs one
// thread per CPU, or the pinned count.

func usableCPUs() (cores, physical int) {
	n := runtime.NumCPU()
	return n, n
}

func newLoadMeter() loadMeter { return nil }

func threadCPU() time.Duration { return 0 }

// memAvailable is unknown here: useMmap then keeps the file mapped.
func memAvailable() uint64 { return 0 }
