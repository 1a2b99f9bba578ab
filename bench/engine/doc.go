// Command engine benchmarks nook's in-process llama.cpp engine against
// `ollama serve` built from the same ollama version (the one go.mod pins),
// on the same GGUF with the same number of threads, and prints each metric
// with the ratio nook/ollama.
//
//	go run ./bench/engine [-model PATH] [-threads N] [-prompt N] [-gen N] [-rounds N]
//
// Without -model it writes (once, cached in the temp dir) a synthetic
// ~0.5B-parameter llama (Q8_0, real Llama-2 vocabulary) from
// ../shared/models. The ollama binary is built into build/tools with
// `go install github.com/ollama/ollama@<pinned version>` if missing. Ollama
// listens on 127.0.0.1 only, with its own temporary OLLAMA_MODELS.
package main
