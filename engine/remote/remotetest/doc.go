// Package remotetest serves the HTTP APIs that engine/remote speaks, on
// httptest servers, over a scripted model (an enginetest.Engine): Ollama's
// /api/chat (NDJSON stream), /api/show and /api/embed, written with
// ollama's own api types, and the OpenAI-compatible /v1/chat/completions
// (server-sent events, tool calls streamed as deltas), /v1/embeddings and
// /v1/models. Options, stop sequences, formats and tools travel through
// the wire formats to the scripted model, and its chunks travel back, so a
// test of engine/remote or of a package that drives a remote engine (the
// assistant's native tool loop) exercises the real protocol code.
//
// Entry points: [NewOllama], [NewOpenAI]; [Server.Requests] records what
// the client sent, [Server.Stall] makes the server stop answering.
//
// Tests only. It must not listen anywhere but loopback (httptest does
// that) nor know the vault, the TUI or plugins.
package remotetest
