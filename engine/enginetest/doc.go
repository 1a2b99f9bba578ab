// Package enginetest is the test harness of the engine contract: a scripted
// [Engine] for tests of the packages above engine (internal/assistant,
// internal/app, `nook serve`), and [Run], the conformance suite every
// engine.Engine implementation passes (engine/llama with a real tiny model,
// engine/remote against Ollama and OpenAI-compatible test servers, and the
// scripted engine itself).
//
// Entry points: [New] (a scripted engine: canned replies, recorded
// requests, ChatFn/EmbedFn/TokenizeFn hooks) and [Run].
//
// It is imported by tests only. It must not know the vault, the TUI or
// plugins, and it must not load models or open connections: engines come
// from the caller.
package enginetest
