package llama

/*
#include <stdint.h>
// Declared here rather than included, as in free.go: the symbols come
// from the llama.cpp that github.com/ollama/ollama/llama compiles in.
void *llama_get_memory(const void *ctx);
int llama_pooling_type(const void *ctx);
*/
import "C"

import "github.com/ollama/ollama/llama"

// Pooling types (llama.h enum llama_pooling_type).
const (
	poolUnspecified = -1
	poolNone        = 0
	poolMean        = 1
	poolCLS         = 2
	poolLast        = 3
	poolRank        = 4
)

// contextPooling is the pooling the context applies to sequences (the
// GGUF's, or none), or poolUnspecified when it cannot be read.
func contextPooling(c *llama.Context) int {
	if p := cContext(c); p != nil {
		return int(C.llama_pooling_type(p))
	}
	return poolUnspecified
}

// contextHasMemory reports whether the context keeps a KV cache. Encoders
// (the BERT family) have none: llama_decode runs them through encode,
// which takes a whole batch in one micro-batch. true when unknown.
func contextHasMemory(c *llama.Context) bool {
	if p := cContext(c); p != nil {
		return C.llama_get_memory(p) != nil
	}
	return true
}
