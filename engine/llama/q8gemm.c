// Q8_0 matrix products of small batches for llama.cpp's CPU backend.
//
// ggml multiplies a Q8_0 weight matrix by one token's activations with
// ggml_vec_dot_q8_0_q8_0, a row at a time, and by two or more tokens' with
// llamafile's tinyBLAS. On the 2-core AVX-512 machine nook is developed on,
// tinyBLAS took 37 ms for 2 tokens and 54 for 4 where one token took 15:
// a step of four chats cost almost four single steps, and a drafted token
// a whole one. This kernel takes batches of 1..nook_q8_max_cols tokens.
// For two or more (14 and 21 ms there), each weight block is loaded, and
// its absolute values and signs taken, once for all of them, and two
// tokens share each 512-bit multiply-add, one in each 256-bit half. For one
// token it runs ggml's own dot product row after row, without ggml's
// per-row dispatch and with F16C for the scales where ggml reads its table
// (11.4 ms against 15.4). Two or more rows at once, whether in the halves
// of a register or in separate ones, ran slower than one row at a time
// here (up to twice as slow: several short row streams at once).
//
// Each half's lanes do exactly what ggml_vec_dot_q8_0_q8_0 (AVX2 with
// AVX512-VNNI) does for one token, in the same order: the same integer
// dot products, scale products, fused multiply-adds and horizontal sum. So
// a token's logits in a batch are bit for bit those it gets alone, which
// prompt lookup's exactness check relies on (q8gemm_internal_test.go
// compares with llama.cpp's own function).
//
// ggml-cpu calls llamafile_sgemm for every matrix product; the linker
// (--wrap, see q8gemm.go) sends those calls here, and what this kernel does
// not take goes on to llamafile's.

#include <stdbool.h>
#include <stdint.h>

// ggml's one-token dot product takes another path where AVX-VNNI-INT8
// exists (signed by signed bytes), which this kernel does not mirror.
// --wrap is GNU ld's (and lld's, gold's): Linux only.
#if defined(__linux__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
	defined(__AVX512VNNI__) && defined(__F16C__) && defined(__FMA__) && !defined(__AVXVNNIINT8__)
#include <immintrin.h>
#define NOOK_Q8_KERNEL 1
#endif

struct ggml_compute_params;

// The head of ggml-cpu-impl.h's struct ggml_compute_params.
struct nook_compute_params_head {
	int ith, nth;
};

bool __real_llamafile_sgemm(const struct ggml_compute_params *, int64_t, int64_t, int64_t,
	const void *, int64_t, const void *, int64_t, void *, int64_t, int, int, int);

// ggml_type values (ggml.h).
enum { nook_type_f32 = 0, nook_type_q8_0 = 8 };

// The largest batch the kernel takes; 0 leaves every product to ggml.
int nook_q8_max_cols = 0;

#if NOOK_Q8_KERNEL
int nook_q8_kernel = 1;

// ggml's block_q8_0: a half-precision scale and 32 signed bytes.
typedef struct {
	uint16_t d;
	int8_t qs[32];
} nook_block_q8_0;

#define NOOK_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))

// hsum8 adds the eight lanes as ggml's hsum_float_8 does.
static inline float hsum8(__m256 x) {
	__m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

// one is ggml_vec_dot_q8_0_q8_0 for AVX2 with AVX512-VNNI.
static float one(const nook_block_q8_0 *x, const nook_block_q8_0 *y, int64_t k) {
	__m256 acc = _mm256_setzero_ps();
	for (int64_t b = 0; b < k; b++) {
		const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d));
		const __m256i qx = NOOK_LOAD(x[b].qs);
		const __m256i qy = NOOK_LOAD(y[b].qs);
		const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx));
		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
	}
	return hsum8(acc);
}

// cols computes row x against the nc (2, 4 or 8) columns y[0], y[ldb],
// ..., two to a register. In a half, vpsignb's |x| and x's sign applied to
// y become vpabsb and a negation masked by x's sign bits (where x is 0
// the product is 0 either way), so the integer lanes are vpdpbusd's of the
// same bytes as one()'s; scales are the same single products.
static inline __attribute__((always_inline)) void cols(const nook_block_q8_0 *x, const nook_block_q8_0 *y,
	int64_t ldb, int64_t k, float *c, int64_t ldc, const int nc) {
	__m512 acc[4];
	for (int j = 0; j < nc / 2; j++) {
		acc[j] = _mm512_setzero_ps();
	}
	const __m512i zero = _mm512_setzero_si512();
	for (int64_t b = 0; b < k; b++) {
		const __m512i qx = _mm512_broadcast_i64x4(NOOK_LOAD(x[b].qs));
		const __m512i ax = _mm512_abs_epi8(qx);
		const __mmask64 neg = _mm512_movepi8_mask(qx);
		const __m512 dx = _mm512_cvtph_ps(_mm256_set1_epi16((short)x[b].d));
		for (int j = 0; j < nc / 2; j++) {
			const nook_block_q8_0 *y0 = &y[2 * j * ldb + b], *y1 = &y[(2 * j + 1) * ldb + b];
			const __m512i qy = _mm512_inserti64x4(_mm512_castsi256_si512(NOOK_LOAD(y0->qs)), NOOK_LOAD(y1->qs), 1);
			const __m512 dy = _mm512_cvtph_ps(_mm256_inserti128_si256(
				_mm256_castsi128_si256(_mm_set1_epi16((short)y0->d)), _mm_set1_epi16((short)y1->d), 1));
			const __m512i p = _mm512_dpbusd_epi32(zero, ax, _mm512_mask_sub_epi8(qy, neg, zero, qy));
			acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(dx, dy), _mm512_cvtepi32_ps(p), acc[j]);
		}
	}
	for (int j = 0; j < nc / 2; j++) {
		c[2 * j * ldc] = hsum8(_mm512_castps512_ps256(acc[j]));
		c[(2 * j + 1) * ldc] = hsum8(_mm512_extractf32x8_ps(acc[j], 1));
	}
}

// gemm computes C[j*ldc+i] = A row i · B row j for this thread's rows.
static void gemm(const struct nook_compute_params_head *p, int64_t m, int64_t n, int64_t k,
	const nook_block_q8_0 *A, int64_t lda, const nook_block_q8_0 *B, int64_t ldb, float *C, int64_t ldc) {
	const int64_t r0 = m * p->ith / p->nth, r1 = m * (p->ith + 1) / p->nth;
	if (n == 1) {
		for (int64_t i = r0; i < r1; i++) {
			C[i] = one(A + i * lda, B, k);
		}
		return;
	}
	for (int64_t i = r0; i < r1; i++) {
		const nook_block_q8_0 *x = A + i * lda;
		int64_t j = 0;
		for (; j + 8 <= n; j += 8) {
			cols(x, B + j * ldb, ldb, k, C + j * ldc + i, ldc, 8);
		}
		if (j + 4 <= n) {
			cols(x, B + j * ldb, ldb, k, C + j * ldc + i, ldc, 4);
			j += 4;
		}
		if (j + 2 <= n) {
			cols(x, B + j * ldb, ldb, k, C + j * ldc + i, ldc, 2);
			j += 2;
		}
		if (j < n) {
			C[j * ldc + i] = one(x, B + j * ldb, k);
		}
	}
}

// nook_q8_product runs the kernel on one thread (tests).
void nook_q8_product(int64_t m, int64_t n, int64_t k, const void *A, int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc) {
	const struct nook_compute_params_head p = {0, 1};
	gemm(&p, m, n, k, A, lda, B, ldb, C, ldc);
}
#else
int nook_q8_kernel = 0;

void nook_q8_product(int64_t m, int64_t n, int64_t k, const void *A, int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc) {
}
#endif

#if defined(__linux__)
bool __wrap_llamafile_sgemm(const struct ggml_compute_params *params, int64_t m, int64_t n, int64_t k,
	const void *A, int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc,
	int Atype, int Btype, int Ctype) {
#if NOOK_Q8_KERNEL
	if (n >= 1 && n <= nook_q8_max_cols && Atype == nook_type_q8_0 && Btype == nook_type_q8_0 && Ctype == nook_type_f32) {
		gemm((const struct nook_compute_params_head *)params, m, n, k, A, lda, B, ldb, C, ldc);
		return true;
	}
#endif
	return __real_llamafile_sgemm(params, m, n, k, A, lda, B, ldb, C, ldc, Atype, Btype, Ctype);
}
#endif
