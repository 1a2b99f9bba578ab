// Package ollamabin builds and runs the real Ollama, the peer nook is
// measured and tested against: [Ensure] builds the ollama version go.mod
// pins into build/tools (once, with the same cgo flags as the caller, so
// both sides run the same compiled llama.cpp), and [Start] runs `ollama
// serve` on 127.0.0.1 with its own temporary model store, into which
// [Server.Create] imports a local GGUF (offline).
//
// Used by bench/engine, bench/serve, bench/embed and the tests that drive the ollama CLI
// against `nook serve`. It must not be imported by nook itself.
package ollamabin
