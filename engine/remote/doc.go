// Package remote is the engine.Engine interface over a model server: an
// Ollama server (through github.com/ollama/ollama/api) or any
// OpenAI-compatible endpoint (chat completions with server-sent events,
// embeddings), for users whose models live on a bigger box.
//
// Entry point: [New]. Connections go only to the URL the user configured.
// Servers do not expose their tokenizer, so Tokenize estimates (see its doc).
// It must not know the vault, the TUI or plugins.
package remote
