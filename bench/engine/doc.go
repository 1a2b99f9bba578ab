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
// speed with and without it, drafted and accepted tokens and the share of
// the answer drafted, and the ratio to ollama, on four workloads: the
// model's own greedy answer placed in the prompt as a retrieved source and
// the question asked again; the model's own answer given back to it to
// continue (a text it repeats: random weights fall into loops); a
// retrieved-sources prompt; and a sampled answer where nothing is copied
// (what lookup costs when it does not pay). The thread tables measure plain
// decoding on both sides (nook's lookup off), and print each engine's own
// decode rate and the rate the client sees in the stream (ollama's own
// figure times llama_decode alone, nook's the whole loop).
//
// Without -model it writes (once, cached in the temp dir) a synthetic
// ~0.5B-parameter llama (Q8_0, real Llama-2 vocabulary) from
// ../shared/models. The ollama binary is built into build/tools with
// `go install github.com/ollama/ollama@<pinned version>` if missing. Ollama
// listens on 127.0.0.1 only, with its own temporary OLLAMA_MODELS.
package main
