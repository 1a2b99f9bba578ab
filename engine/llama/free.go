package llama

/*
// Declared here rather than included: the symbol comes from the llama.cpp
// that github.com/ollama/ollama/llama compiles into the binary.
void llama_free(void *ctx);
*/
import "C"

import (
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// freeContext releases a llama.cpp context. The ollama bindings have no
// Free for contexts; without this, each Close would leak the KV cache.
// llama.Context's first field is its *C.struct_llama_context.
func freeContext(c *llama.Context) {
	if c == nil {
		return
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(c))
	if p != nil {
		C.llama_free(p)
	}
}
