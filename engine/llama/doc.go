// Package llama is nook's in-process engine: llama.cpp through
// github.com/ollama/ollama/llama, with no server in between.
//
// Entry point: [Open] returns an [Engine] (an engine.Engine) for a GGUF file.
// Every file is validated in Go (engine/gguf) before cgo sees it. The engine
// keeps the KV cache of the last conversation and evaluates only the tokens
// that differ from it, so the second turn of a chat costs only its new text.
//
// Two things make it fast on a real machine: adaptive threads (threads.go:
// as many llama.cpp threads as there are free cores, measured between
// decode steps; [ChooseThreads] tells `nook doctor` what it would pick) and
// prompt-lookup speculative decoding (lookup.go: drafts copied from the
// prompt, verified in one batch, the same text as plain decoding; a batch
// size whose logits are not one token's bit for bit is never drafted).
// [Parallel] (parallel.go) answers several chats at once in one context,
// each decode call a batch of every generating chat's next token, and
// drafts for them too: the same number of tokens per chat, since
// llama.cpp takes a batch of several sequences in one pass only when each
// has as many tokens in it.
//
// q8gemm.c is nook's own kernel for Q8_0 matrix products of 1–32 tokens
// on x86 with AVX-512 VNNI: llamafile's tinyBLAS, which ggml uses for 2+
// tokens, cost almost a whole step per extra token there, and ggml's
// one-token path is slower than the same arithmetic run row after row. The
// linker's --wrap puts it in front of llamafile_sgemm (Linux); it computes
// each token's products exactly as ggml's one-token dot product does, so
// no logit changes. NOOK_Q8_KERNEL=off leaves every product to llama.cpp.
//
// All cgo of nook stays in this package, behind an explicit Close. It must
// not know the vault, the TUI or plugins.
package llama
