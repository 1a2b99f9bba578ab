// Command embed benchmarks nook's embedding path against `ollama serve`
// built from the same ollama version (the one go.mod pins), on the same
// GGUF with the same number of threads, and times `nook add` with an
// embedding model.
//
//	go run ./bench/embed [-threads N] [-rounds N] [-notes N] [-skip-add] [-skip-nomic]
//
// Run it with the Makefile's cgo flags (`source nook-env.sh`): the ollama
// it compares with is built once by internal/ollamabin with the same
// flags, so both sides run the same compiled llama.cpp/ggml.
//
// Models: synthetic GGUFs at the real shapes of all-MiniLM-L6-v2 (bert,
// 22M parameters) and nomic-embed-text-v1.5 (nomic-bert, 137M), F16 as
// ollama ships them, random weights and the real BERT vocabulary from
// ../shared/models (engine/gguf/synth; written once, cached in the temp
// dir).
//
// Engines: nook's engine/llama Embed (several texts per decode) and
// ollama's /api/embed, fed the same texts in requests of 32 (what the
// vault sends per call), the same threads, rounds alternating between the
// two after a warm-up; the median round is reported as chunks/s and MB/s
// of text with the ratios nook/ollama (target >= 1.0x). Workloads: short
// units (dialog turns, list items, ~150 bytes) and paragraphs (~700
// bytes). For nomic, nook adds the model's "search_document: " prefix
// itself; ollama is sent the same prefix in the text, so both embed the
// same tokens. The table also gives the mean cosine between the two
// engines' vectors for the same text (the same model should agree).
//
// Then `nook add` (vault.Add, as the command runs it, with the engine as
// the Embedder) of -notes synthetic Markdown notes of about 2 kB into a
// fresh vault, with the MiniLM-shape model: the wall time and its split
// into parse, embed, encrypt and write (summed over the files, which
// overlap), with the process's CPU time and the machine's load average.
// Run it on 2 cores (taskset -c 0,1 on a bigger machine) for the target
// of 4,200 notes in under 2 minutes.
package main
