// Package engine defines how nook talks to a language model, whatever runs it.
//
// Entry points: the [Engine] interface, [ChatRequest] and [Chunk]. The
// in-process llama.cpp engine is engine/llama; engine/remote speaks to an
// Ollama server or any OpenAI-compatible endpoint; engine/enginetest is a
// scripted engine for tests of the packages above this one. The gguf checks
// that keep bad files away from C live in engine/gguf.
//
// This package must not know about the vault, the TUI or plugins: it turns
// messages into tokens and tokens into text.
package engine
