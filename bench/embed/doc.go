// Command embed benchmarks nook's embedding path against `ollama serve`
// built from the same ollama version (the one go.mod pins), on the same
// GGUF with the same number of threads, and times `nook add` with an
// embedding model.
//
//	go run ./bench/embed [-threads N] [-rounds N] [-notes N] [-skip-add] [-skip-nomic] [-skip-q8]
//	go run ./bench/embed -packs 64,128,256,512 [-threads 1]
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
// engines' vectors for the same text (the same model should agree), and
// nook's model GFLOP/s (FLOPs estimated from the shape: the matrix
// products and the attention over each sequence). An extra row runs a
// Q8_0 copy of the MiniLM shape on both sides (ollama users can pull
// q8_0 tags of embedders); the F16 rows are the headline.
//
// -packs sweeps nook's tokens per decode alone (no ollama), printing
// chunks/s and the least CPU time per 1,000 tokens over the rounds: with
// -threads 1 that is the measure other programs' load disturbs least.
//
// Then `nook add` (vault.Add, as the command runs it, with the engine as
// the Embedder) of -notes synthetic Markdown notes of about 2 kB into a
// fresh vault, with the MiniLM-shape model: the wall time and its split
// into the wall time with an embedding call in flight and the rest
// (parse, encrypt, write), and the per-file sums of parse, embed, encrypt
// and write (which overlap), with the process's CPU time and the
// machine's load average; the tokens embedded against the tokens of the
// notes themselves; the model FLOPs and GFLOP/s; the projection to 4,200
// notes, and what 2 minutes would need in GFLOP/s.
// Run it on 2 cores (taskset -c 0,1 on a bigger machine) for the target
// of 4,200 notes in under 2 minutes.
package main
