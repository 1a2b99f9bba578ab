package llama

import (
	"testing"

	"github.com/ollama/ollama/llama"

	"github.com/nook-ai/nook/internal/testmodels"
)

// freeContext, setThreads and contextSize read the C pointer out of an
// unexported field of ollama's llama.Context. This test fails when a new
// ollama version changes that layout, before any pointer is handed to C.
func TestContextLayoutIsWhatFreeContextReads(t *testing.T) {
	if ok, what := contextLayout(); !ok {
		t.Fatalf("ollama's llama.Context changed: %s; update free.go for the pinned ollama", what)
	}
	if !layoutOK {
		t.Fatal("layoutOK is false although the layout check passes")
	}

	// The pointer read is a live llama_context: llama.cpp reports back the
	// context length and thread count it was created with, and takes a
	// new thread count.
	Backends()
	model, err := llama.LoadModelFromFile(testmodels.Path(t, testmodels.Stories260K), llama.ModelParams{Progress: func(float32) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer llama.FreeModel(model)
	lctx, err := llama.NewContextWithModel(model, llama.NewContextParams(512, 32, 1, 3, 0, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer freeContext(lctx)
	if got := contextSize(lctx); got != 512 {
		t.Fatalf("llama_n_ctx through the read pointer = %d, want 512", got)
	}
	if got := contextThreads(lctx); got != 3 {
		t.Fatalf("llama_n_threads = %d, want 3", got)
	}
	if !setThreads(lctx, 1) {
		t.Fatal("setThreads refused")
	}
	if got := contextThreads(lctx); got != 1 {
		t.Fatalf("after setThreads(1), llama_n_threads = %d", got)
	}
	if setThreads(lctx, 0) || contextThreads(lctx) != 1 {
		t.Fatal("setThreads accepted 0 threads")
	}
}
