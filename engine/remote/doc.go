// Package remote is the engine.Engine interface over a model server: an
// Ollama server (through github.com/ollama/ollama/api) or any
// OpenAI-compatible endpoint (chat completions with server-sent events,
// embeddings), for users whose models live on a bigger box.
//
// Entry point: [New]. Connections go only to the URL the user configured.
// New asks the server about the model once (Ollama's /api/show, the
// OpenAI-compatible model list) for its context length, embedding size and
// capabilities; Info answers from that and never makes a request. Servers
// do not expose their tokenizer, so Tokenize estimates (see its doc).
// remotetest serves both APIs over a scripted model for tests.
// It must not know the vault, the TUI or plugins.
package remote
