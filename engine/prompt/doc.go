// Package prompt turns chat messages into the text a model expects: the
// model's own chat template (matched from its GGUF metadata by ollama's
// template package), a ChatML fallback for templates it cannot match, and a
// plain format for base models that have none. [Fit] drops the oldest turns
// to fit a token budget, keeping system messages and the newest message.
//
// Pure Go; used by engine/llama. It must not know about files or C.
package prompt
