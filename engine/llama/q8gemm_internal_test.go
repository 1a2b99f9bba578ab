package llama

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/internal/testmodels"
)

// q8Blocks makes rows of k random Q8_0 blocks, rowBlocks apart, with the
// edge bytes (-128, -127, 0, 127) and zero and negative scales among them.
func q8Blocks(r *rand.Rand, rows, k, rowBlocks int) []byte {
	out := make([]byte, rows*rowBlocks*q8BlockSize)
	for i := range rows * rowBlocks {
		blk := out[i*q8BlockSize : (i+1)*q8BlockSize]
		// A half-precision scale: sign, exponent 2^-10..2^-1, mantissa.
		d := uint16(r.IntN(2))<<15 | uint16(5+r.IntN(10))<<10 | uint16(r.IntN(1024))
		if r.IntN(20) == 0 {
			d = 0
		}
		binary.LittleEndian.PutUint16(blk, d)
		for j := 2; j < q8BlockSize; j++ {
			switch r.IntN(16) {
			case 0:
				blk[j] = 0x80 // -128
			case 1:
				blk[j] = 0
			case 2:
				blk[j] = 127
			default:
				blk[j] = byte(r.IntN(256))
			}
		}
	}
	return out
}

func TestTheQ8KernelGivesLlamaCppsOwnDotProductBitForBit(t *testing.T) {
	if !q8KernelBuilt() {
		if Q8Kernel() {
			t.Fatal("Q8Kernel() is true in a build without the kernel")
		}
		return // nothing of nook's runs here: llama.cpp's own products
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k, pad int }{
		{1, 1, 1, 0}, {7, 1, 28, 1}, {16, 1, 152, 0}, {3, 2, 1, 0}, {5, 3, 4, 1}, {7, 4, 7, 0}, {2, 5, 3, 2}, {9, 8, 28, 0},
		{4, 9, 5, 1}, {6, 13, 2, 0}, {3, 16, 9, 3}, {11, 23, 6, 0}, {2, 64, 3, 1},
	} {
		lda, ldb, ldc := tc.k+tc.pad, tc.k+2*tc.pad, tc.m+tc.pad
		checkQ8Product(t, tc.m, tc.n, tc.k, q8Blocks(r, tc.m, tc.k, lda), lda, q8Blocks(r, tc.n, tc.k, ldb), ldb, ldc)
	}
}

// checkQ8Product runs the kernel's product of a and b into rows ldc
// apart, compares each output with llama.cpp's dot product of its row and
// column (bit for bit; NaN where that is NaN) and checks that nothing
// past the rows was written.
func checkQ8Product(t *testing.T, m, n, k int, a []byte, lda int, b []byte, ldb int, ldc int) {
	t.Helper()
	c := make([]float32, n*ldc)
	for i := range c {
		c[i] = float32(math.NaN())
	}
	q8Product(m, n, k, a, lda, b, ldb, c, ldc)
	for j := range n {
		for i := range m {
			want := ggmlDotQ8(k, a[i*lda*q8BlockSize:], b[j*ldb*q8BlockSize:])
			got := c[j*ldc+i]
			if math.Float32bits(got) != math.Float32bits(want) && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				t.Errorf("m=%d n=%d k=%d: C[%d,%d] = %v, llama.cpp's dot product %v", m, n, k, i, j, got, want)
			}
		}
		for i := m; i < ldc; i++ {
			if !math.IsNaN(float64(c[j*ldc+i])) {
				t.Errorf("m=%d n=%d k=%d: wrote C[%d,%d] past the rows", m, n, k, i, j)
			}
		}
	}
}

// Any bytes as Q8_0 blocks (any half-precision scale, NaN and infinities
// included), 1-9 rows by 1-40 columns of 1-4 blocks, padded rows: the
// kernel gives llama.cpp's one-token dot products. (Random cases rather
// than a fuzz target: .ci/fuzz would build llama.cpp once more with the
// fuzzer's instrumentation, minutes on a fresh machine.)
func TestTheQ8KernelGivesLlamaCppsProductsForAnyBytes(t *testing.T) {
	if !q8KernelBuilt() {
		return // see TestTheQ8KernelGivesLlamaCppsOwnDotProductBitForBit
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		M, N, K, P := 1+r.IntN(9), 1+r.IntN(40), 1+r.IntN(4), r.IntN(3)
		lda, ldb, ldc := K+P, K, M+P
		buf := make([]byte, (M*lda+N*ldb)*q8BlockSize)
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		checkQ8Product(t, M, N, K, buf[:M*lda*q8BlockSize], lda, buf[M*lda*q8BlockSize:], ldb, ldc)
		if t.Failed() {
			return
		}
	}
}

// With the kernel, a token decoded alone, a chat's next token in a step of
// four chats and one among drafted tokens all get the logits llama.cpp's
// own products give the token alone, bit for bit, on the Q8_0 bench model.
func TestWithTheQ8KernelABatchGivesEachTokenItsLogitsAlone(t *testing.T) {
	if !q8KernelBuilt() {
		if Q8Kernel() {
			t.Fatal("Q8Kernel() is true in a build without the kernel")
		}
		return // nothing of nook's runs here: llama.cpp's own products
	}
	const seqs, base = 4, 48
	path := testmodels.Synth(t, synth.Bench(testmodels.Path(t, testmodels.VocabLlama), gguf.TypeQ8_0))
	e, err := open(path, Options{Threads: 2, ContextLength: 256, NoLookup: true}, seqs)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	readPrompts(t, e, seqs, base)
	// decode runs a step of seqs with n tokens each and returns each
	// token's logits.
	decode := func(seqs []int, n int) map[[2]int][]float32 {
		decodeStep(t, e, seqs, n, base)
		out := map[[2]int][]float32{}
		k := 0
		for _, s := range seqs {
			for i := range n {
				out[[2]int{s, i}] = e.lctx.GetLogitsIth(k) // a copy
				k++
			}
		}
		return out
	}
	was := setQ8Kernel(false)
	defer setQ8Kernel(was)
	alone := map[int][]float32{} // llama.cpp's
	for s := range seqs {
		alone[s] = decode([]int{s}, 1)[[2]int{s, 0}]
	}
	setQ8Kernel(true)
	together := decode([]int{0, 1, 2, 3}, 1)
	drafted := decode([]int{0, 1, 2, 3}, 3)
	for s := range seqs {
		if !sameBits(decode([]int{s}, 1)[[2]int{s, 0}], alone[s]) {
			t.Errorf("chat %d's next token alone: logits differ from llama.cpp's", s)
		}
		if !sameBits(together[[2]int{s, 0}], alone[s]) {
			t.Errorf("chat %d's next token in a step of four: logits differ from llama.cpp's for the token alone", s)
		}
		if !sameBits(drafted[[2]int{s, 0}], alone[s]) {
			t.Errorf("chat %d's next token in a step of four with 2 drafted each: logits differ from llama.cpp's for the token alone", s)
		}
	}
}

// BenchmarkSmallBatchKernel decodes batches on the bench model (the
// synthetic 0.44B Q8_0 llama) with nook's Q8_0 kernel and with llama.cpp's
// own products (tinyBLAS), alternating, and reports both and their ratio:
// shape=seqs×tokens is a step of that many chats with that many tokens
// each (a chat's next token and its drafts).
//
//	go test ./engine/llama/ -run '^$' -bench SmallBatchKernel -benchtime 10x
func BenchmarkSmallBatchKernel(b *testing.B) {
	if !q8KernelBuilt() {
		b.Skip("no Q8_0 kernel in this build (x86 with AVX-512 VNNI only)")
	}
	const base = 64
	seqs := []int{0, 1, 2, 3}
	e := benchEngine(b, 2, 1024, len(seqs))
	readPrompts(b, e, len(seqs), base)
	defer setQ8Kernel(setQ8Kernel(true))
	for _, shape := range [][2]int{{1, 1}, {1, 2}, {1, 4}, {1, 8}, {1, 16}, {2, 1}, {4, 1}, {4, 2}, {4, 4}, {4, 8}, {4, 16}} {
		b.Run(fmt.Sprintf("shape=%dx%d", shape[0], shape[1]), func(b *testing.B) {
			for _, on := range []bool{true, false} { // warm both: the first step after another shape is slower
				setQ8Kernel(on)
				decodeStep(b, e, seqs[:shape[0]], shape[1], base)
			}
			var with, without time.Duration
			i := 0
			for b.Loop() {
				for _, on := range []bool{i%2 == 0, i%2 != 0} { // each goes first every other time
					setQ8Kernel(on)
					if d := decodeStep(b, e, seqs[:shape[0]], shape[1], base); on {
						with += d
					} else {
						without += d
					}
				}
				i++
			}
			b.ReportMetric(float64(with.Microseconds())/1e3/float64(b.N), "nook-ms")
			b.ReportMetric(float64(without.Microseconds())/1e3/float64(b.N), "llama.cpp-ms")
			b.ReportMetric(without.Seconds()/with.Seconds(), "x")
		})
	}
}
