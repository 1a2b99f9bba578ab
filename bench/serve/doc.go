// Command serve benchmarks `nook serve` against `ollama serve` (built from
// the ollama version go.mod pins) on the same GGUF with the same threads:
// 1 and 4 clients at once, each streaming a fixed number of tokens
// (default 64) from a distinct prompt through the Ollama API, and prints
// aggregate tokens/s and mean time to first token with the ratios
// nook/ollama measured in the same run.
//
//	go run ./bench/serve [-model PATH] [-threads N] [-gen N] [-rounds N] [-slots N]
//
// nook serves from its continuous-batching engine (engine/llama.Parallel,
// -slots sequences); Ollama runs with OLLAMA_NUM_PARALLEL=-slots, its own
// batching of parallel requests. Both get the same prompts and warm-up,
// and take turns going first from round to round, so that a change in the
// machine's load falls on both alike; each round starts once the machine
// has been idle for 200 ms (at most 3 s), so that no server pays for the
// previous one's last work. Each runs with its own default
// threads (nook adaptive) unless -threads pins both. Without
// -model it writes the synthetic ~0.5B-parameter llama of bench/engine.
// Targets: >= 1.0x at 1 client, >= 1.3x at 4 clients (aggregate tok/s).
package main
