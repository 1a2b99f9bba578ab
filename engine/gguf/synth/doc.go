// Package synth writes synthetic llama-architecture GGUF models with
// deterministic weights and a real tokenizer vocabulary, for tests and
// benchmarks: nothing is downloaded, and the same Config always gives the
// same bytes.
//
// The vocabulary (and tokenizer settings) are copied from a GGUF that has
// one, such as llama.cpp's vocab-only files; the weights are uniform random
// numbers from a seeded generator, quantized to the requested type.
package synth
