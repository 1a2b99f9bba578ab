package llama

/*
#include <stdint.h>
// Declared here rather than included: the symbols come from the llama.cpp
// that github.com/ollama/ollama/llama compiles into the binary (llama.h).
void llama_free(void *ctx);
void llama_set_n_threads(void *ctx, int32_t n_threads, int32_t n_threads_batch);
int32_t llama_n_threads(void *ctx);
uint32_t llama_n_ctx(const void *ctx);
*/
import "C"

import (
	"log/slog"
	"reflect"
	"strings"
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// The ollama bindings have neither a Free for contexts (without one, each
// Close would leak the KV cache) nor a way to change a context's thread
// count. Both need the context's C pointer, which llama.Context keeps in
// its unexported first field. contextLayout checks, once, that the field is
// still where this code reads it; if a new ollama version moves it, the
// engine leaks the context and keeps its thread count instead of handing
// llama.cpp a wrong pointer. TestContextLayoutIsWhatFreeContextReads fails
// on such a change, so a pin bump that breaks it is caught in CI.

// contextLayout reports whether llama.Context starts with a pointer to a
// C struct llama_context, and if not, what it found.
func contextLayout() (bool, string) {
	t := reflect.TypeFor[llama.Context]()
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return false, "llama.Context is not a struct with fields"
	}
	f := t.Field(0)
	if f.Offset != 0 || f.Type.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type.Elem().Name(), "struct_llama_context") {
		return false, "llama.Context's first field is " + f.Name + " " + f.Type.String() + ", not a *C.struct_llama_context"
	}
	return true, ""
}

var layoutOK = func() bool {
	ok, what := contextLayout()
	if !ok {
		slog.Warn("llama: unexpected ollama llama.Context layout; contexts will not be freed and threads not adapted", "found", what)
	}
	return ok
}()

// cContext is the llama_context pointer inside c, or nil.
func cContext(c *llama.Context) unsafe.Pointer {
	if c == nil || !layoutOK {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(c))
}

// freeContext releases a llama.cpp context.
func freeContext(c *llama.Context) {
	if p := cContext(c); p != nil {
		C.llama_free(p)
	}
}

// setThreads sets the threads llama.cpp uses for the next decodes, both
// for single tokens and for batches; false when it cannot.
func setThreads(c *llama.Context, n int) bool {
	p := cContext(c)
	if p == nil || n < 1 {
		return false
	}
	C.llama_set_n_threads(p, C.int32_t(n), C.int32_t(n))
	return true
}

// contextThreads is the thread count llama.cpp will use (0 if unknown).
func contextThreads(c *llama.Context) int {
	if p := cContext(c); p != nil {
		return int(C.llama_n_threads(p))
	}
	return 0
}

// contextSize is the context's length in tokens (0 if unknown).
func contextSize(c *llama.Context) int {
	if p := cContext(c); p != nil {
		return int(C.llama_n_ctx(p))
	}
	return 0
}
