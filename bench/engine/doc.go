// Command engine benchmarks nook's in-process llama.cpp engine against
// `ollama serve` built from the same ollama version (the one go.mod pins),
// on the same GGUF with the same number of threads, and prints each metric
// with the ratio nook/ollama.
//
//	go run ./bench/engine [-model PATH] [-threads N] [-prompt N] [-gen N] [-rounds N] [-load N] [-grounded]
//
// Without -threads each engine picks its own thread count (nook's adaptive
// choice, ollama's default); -threads N pins both. -load N runs N busy
// background processes during a second set of rounds of both engines and
// prints that table last. -grounded measures prompt-lookup decoding: decode
// speed with and without it on a retrieved-sources prompt whose answer
// copies from it (and, on the synthetic model, repeats itself), and on a
// sampled answer where nothing is copied, with the acceptance rate and the
// ratio to ollama. The thread tables measure plain decoding on both sides
// (nook's lookup off).
//
// Without -model it writes (once, cached in the temp dir) a synthetic
// ~0.5B-parameter llama (Q8_0, real Llama-2 vocabulary) from
// ../shared/models. The ollama binary is built into build/tools with
// `go install github.com/ollama/ollama@<pinned version>` if missing. Ollama
// listens on 127.0.0.1 only, with its own temporary OLLAMA_MODELS.
package main
