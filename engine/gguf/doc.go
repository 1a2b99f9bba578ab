// Package gguf reads and writes GGUF model files in pure Go.
//
// [Inspect] validates a file completely — magic, version, every key/value,
// the tensor table, tensor types, alignment, that every tensor's data lies
// inside the file, and that llama.cpp knows the architecture — so that a
// truncated, foreign or unsupported file is a Go error before cgo ever sees
// it. [Writer] writes GGUF files; the test helpers in engine/gguf/synth use
// it to make deterministic llama models of any shape.
//
// This package must not import cgo or load weights into memory.
package gguf
