package llama

/*
#cgo linux LDFLAGS: -Wl,--wrap=llamafile_sgemm
#include <stddef.h>
#include <stdint.h>
extern int nook_q8_max_cols;
extern int nook_q8_kernel;
void nook_q8_product(int64_t m, int64_t n, int64_t k, const void *A, int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc);
void ggml_cpu_init(void);
void ggml_vec_dot_q8_0_q8_0(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
*/
import "C"

import (
	"os"
	"sync"
	"unsafe"
)

// q8MaxTokens is the largest batch the Q8_0 kernel
// (q8gemm.c) takes; llamafile's tinyBLAS takes larger ones (prompts):
// at 64 tokens it was as fast (BenchmarkSmallBatchKernel).
const q8MaxTokens = 32

func init() {
	if os.Getenv("NOOK_Q8_KERNEL") == "off" {
		return
	}
	setQ8Kernel(true)
}

// Q8Kernel reports whether nook's small-batch Q8_0 kernel runs in this
// build (x86 with AVX-512 VNNI, compiled with -march=native or alike) and
// is on (NOOK_Q8_KERNEL=off turns it off).
func Q8Kernel() bool { return q8KernelBuilt() && C.nook_q8_max_cols > 0 }

// q8KernelBuilt reports whether this build has the kernel.
func q8KernelBuilt() bool { return C.nook_q8_kernel == 1 }

// setQ8Kernel turns the kernel on or off for the whole process and says
// whether it was on. Only tests and benchmarks call it, between decodes.
func setQ8Kernel(on bool) bool {
	was := C.nook_q8_max_cols > 0
	C.nook_q8_max_cols = 0
	if on {
		C.nook_q8_max_cols = q8MaxTokens
	}
	return was
}

// q8BlockSize is the size of a Q8_0 block: a half-precision scale and 32
// signed bytes.
const q8BlockSize = 34

// q8Product is the kernel's product of m rows of A by n rows of B (k
// blocks each, rows lda and ldb blocks apart) into C[j*ldc+i], on one
// thread (a no-op where the kernel is not built).
func q8Product(m, n, k int, a []byte, lda int, b []byte, ldb int, c []float32, ldc int) {
	C.nook_q8_product(C.int64_t(m), C.int64_t(n), C.int64_t(k), unsafe.Pointer(&a[0]), C.int64_t(lda),
		unsafe.Pointer(&b[0]), C.int64_t(ldb), (*C.float)(unsafe.Pointer(&c[0])), C.int64_t(ldc))
}

var ggmlInit sync.Once

// ggmlDotQ8 is llama.cpp's own one-token dot product of k Q8_0 blocks.
func ggmlDotQ8(k int, x, y []byte) float32 {
	ggmlInit.Do(func() { C.ggml_cpu_init() }) // its half-precision table
	var s C.float
	C.ggml_vec_dot_q8_0_q8_0(C.int(32*k), &s, 0, unsafe.Pointer(&x[0]), 0, unsafe.Pointer(&y[0]), 0, 1)
	return float32(s)
}
