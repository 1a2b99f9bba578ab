package llama

// Mapped or read weights.
//
// llama.cpp can map the GGUF file (the weights stay page-cache pages of the
// file, loaded lazily, shared, dropped under memory pressure) or read it
// into memory it allocates. On the CPU the matrix products run markedly
// faster over the allocated copy: on the 2-core development machine, the
// synthetic 0.44B Q8_0 llama with 2 threads evaluated a 256-token prompt at
// 99 tok/s mapped and 139 tok/s read, and decoded at 24 and 27 tok/s
// (bench/engine, alternating with ollama, which reads the weights on a
// CPU-only machine for the same reason). So the default reads when every
// layer runs on the CPU and the file fits in the memory available now;
// it maps when layers go to a GPU (llama.cpp copies them there anyway, and
// Metal prefers mapped files) and when the file would not fit, where a
// copy would push the system into swap while mapped pages can be dropped
// and read again. Options.Mmap overrides the choice.

// mmapHeadroom is memory left free beyond the file when reading it.
const mmapHeadroom = 1 << 30

// useMmap decides whether to map the weights. pinned is the user's choice
// (nil: decide); onGPU whether layers are offloaded; size the file's size
// and avail the memory available now in bytes (0: unknown).
func useMmap(pinned *bool, onGPU bool, size, avail uint64) bool {
	switch {
	case pinned != nil:
		return *pinned
	case onGPU:
		return true
	case avail == 0:
		return true // unknown: the safe choice
	default:
		return size+mmapHeadroom > avail
	}
}
