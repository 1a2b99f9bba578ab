// Package synth writes synthetic GGUF models with deterministic weights and
// a real tokenizer vocabulary, for tests and benchmarks: nothing is
// downloaded, and the same Config always gives the same bytes.
//
// Architectures: "llama" (chat models; [Tiny], [Bench]), and the BERT
// family that embedding models use, at their real shapes: [ArchBERT]
// ([MiniLM], [BGESmall], [TinyBERT]) and [ArchNomicBERT] ([Nomic],
// [TinyNomic]), with the tensor names and metadata llama.cpp and ollama
// load.
//
// The vocabulary (and tokenizer settings) are copied from a GGUF that has
// one, such as llama.cpp's vocab-only files (ggml-vocab-bert-bge.gguf for
// the BERT family); the weights are uniform random numbers from a seeded
// generator, quantized to the requested type.
package synth
