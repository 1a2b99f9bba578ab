package llama_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/nook-ai/nook/engine/gguf"
)

// bertRef is a forward pass of the BERT family written from the
// architecture, in float64, for checking llama.cpp's on tiny models:
//
//	x = token embedding + token type 0 embedding (+ position embedding: bert)
//	x = LayerNorm(x)
//	each layer:
//	    q, k, v = projections of x (bert: three with biases; nomic-bert:
//	              one fused QKV, no biases, then NeoX rotary positions)
//	    a = softmax(q·kᵀ/√d) v per head, within the sequence, then the
//	        output projection
//	    x = LayerNorm(x + a)
//	    f = bert: down(GELU(up(x))); nomic-bert: down(SiLU(gate(x)) ⊙ up(x))
//	    x = LayerNorm(x + f)
//	pooled = mean over the tokens, or the first token (CLS)
//	out = pooled / ‖pooled‖
type bertRef struct {
	arch               string
	embd, heads, ffn   int
	layers             int
	eps, ropeBase      float64
	pooling            int
	tensors            map[string][]float64
	shapes             map[string][]uint64
	clsToken, sepToken int
}

// loadBertRef reads the weights of a GGUF written by synth (F32 or F16).
func loadBertRef(t *testing.T, path string) *bertRef {
	t.Helper()
	f, err := gguf.Inspect(path, gguf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Architecture()
	r := &bertRef{
		arch: a, embd: int(f.ArchUint("embedding_length", 0)), heads: int(f.ArchUint("attention.head_count", 0)),
		ffn: int(f.ArchUint("feed_forward_length", 0)), layers: int(f.ArchUint("block_count", 0)),
		pooling: int(f.ArchUint("pooling_type", 0)),
		tensors: map[string][]float64{}, shapes: map[string][]uint64{},
		clsToken: int(f.Uint("tokenizer.ggml.cls_token_id", 0)), sepToken: int(f.Uint("tokenizer.ggml.seperator_token_id", 0)),
	}
	eps, _ := f.KV[a+".attention.layer_norm_epsilon"].(float32)
	r.eps = float64(eps)
	base, ok := f.KV[a+".rope.freq_base"].(float32)
	if !ok {
		base = 10000
	}
	r.ropeBase = float64(base)
	for _, tn := range f.Tensors {
		data := raw[f.DataOffset+tn.Offset : f.DataOffset+tn.Offset+tn.Size]
		n := int(tn.Elements())
		v := make([]float64, n)
		switch tn.Type {
		case gguf.TypeF32:
			for i := range v {
				v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
			}
		case gguf.TypeF16:
			for i := range v {
				v[i] = halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
			}
		default:
			t.Fatalf("reference: tensor %s has type %v", tn.Name, tn.Type)
		}
		r.tensors[tn.Name], r.shapes[tn.Name] = v, tn.Shape
	}
	return r
}

// halfToFloat decodes an IEEE half-precision number.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * mant / 1024 * math.Pow(2, -14)
	case 31:
		return sign * math.Inf(1)
	}
	return sign * (1 + mant/1024) * math.Pow(2, float64(exp-15))
}

func (r *bertRef) w(name string) []float64 {
	v, ok := r.tensors[name]
	if !ok {
		panic(fmt.Sprintf("reference: no tensor %s", name))
	}
	return v
}

// linear is W·x (+ b): W has rows of len(x) values.
func (r *bertRef) linear(x []float64, weight, bias string) []float64 {
	w := r.w(weight)
	cols := len(x)
	rows := len(w) / cols
	out := make([]float64, rows)
	for i := range rows {
		row := w[i*cols : (i+1)*cols]
		var s float64
		for j, xv := range x {
			s += row[j] * xv
		}
		out[i] = s
	}
	if bias != "" {
		for i, bv := range r.w(bias) {
			out[i] += bv
		}
	}
	return out
}

func (r *bertRef) layerNorm(x []float64, name string) []float64 {
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var variance float64
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	variance /= float64(len(x))
	g, b := r.w(name+".weight"), r.w(name+".bias")
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v-mean)/math.Sqrt(variance+r.eps)*g[i] + b[i]
	}
	return out
}

// rope rotates each head of x at position pos, NeoX style: element i
// pairs with element i+d/2 of the same head.
func (r *bertRef) rope(x []float64, pos int) {
	d := r.embd / r.heads
	for h := range r.heads {
		head := x[h*d : (h+1)*d]
		for i := range d / 2 {
			theta := float64(pos) * math.Pow(r.ropeBase, -2*float64(i)/float64(d))
			c, s := math.Cos(theta), math.Sin(theta)
			x0, x1 := head[i], head[i+d/2]
			head[i], head[i+d/2] = x0*c-x1*s, x0*s+x1*c
		}
	}
}

func gelu(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// embed runs the model on one sequence of token ids (special tokens
// included) and returns the pooled, unit-length vector.
func (r *bertRef) embed(toks []int) []float64 {
	e, n := r.embd, len(toks)
	tokE, typeE := r.w("token_embd.weight"), r.w("token_types.weight")
	xs := make([][]float64, n)
	for i, tok := range toks {
		x := make([]float64, e)
		for j := range x {
			x[j] = tokE[tok*e+j] + typeE[j]
		}
		if r.arch == "bert" {
			posE := r.w("position_embd.weight")
			for j := range x {
				x[j] += posE[i*e+j]
			}
		}
		xs[i] = r.layerNorm(x, "token_embd_norm")
	}
	d := e / r.heads
	scale := 1 / math.Sqrt(float64(d))
	for l := range r.layers {
		p := fmt.Sprintf("blk.%d.", l)
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i, x := range xs {
			if r.arch == "bert" {
				q[i] = r.linear(x, p+"attn_q.weight", p+"attn_q.bias")
				k[i] = r.linear(x, p+"attn_k.weight", p+"attn_k.bias")
				v[i] = r.linear(x, p+"attn_v.weight", p+"attn_v.bias")
				continue
			}
			qkv := r.linear(x, p+"attn_qkv.weight", "")
			q[i], k[i], v[i] = qkv[:e], qkv[e:2*e], qkv[2*e:]
			r.rope(q[i], i)
			r.rope(k[i], i)
		}
		next := make([][]float64, n)
		for i := range xs {
			att := make([]float64, e)
			for h := range r.heads {
				lo, hi := h*d, (h+1)*d
				scores := make([]float64, n)
				maxS := math.Inf(-1)
				for j := range n {
					var s float64
					for c := lo; c < hi; c++ {
						s += q[i][c] * k[j][c]
					}
					scores[j] = s * scale
					maxS = max(maxS, scores[j])
				}
				var z float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - maxS)
					z += scores[j]
				}
				for j := range n {
					for c := lo; c < hi; c++ {
						att[c] += scores[j] / z * v[j][c]
					}
				}
			}
			bias := ""
			if r.arch == "bert" {
				bias = p + "attn_output.bias"
			}
			a := r.linear(att, p+"attn_output.weight", bias)
			for j := range a {
				a[j] += xs[i][j]
			}
			x := r.layerNorm(a, p+"attn_output_norm")
			var f []float64
			if r.arch == "bert" {
				up := r.linear(x, p+"ffn_up.weight", p+"ffn_up.bias")
				for j := range up {
					up[j] = gelu(up[j])
				}
				f = r.linear(up, p+"ffn_down.weight", p+"ffn_down.bias")
			} else {
				up, gate := r.linear(x, p+"ffn_up.weight", ""), r.linear(x, p+"ffn_gate.weight", "")
				for j := range up {
					up[j] *= silu(gate[j])
				}
				f = r.linear(up, p+"ffn_down.weight", "")
			}
			for j := range f {
				f[j] += x[j]
			}
			next[i] = r.layerNorm(f, p+"layer_output_norm")
		}
		xs = next
	}
	pooled := make([]float64, e)
	switch r.pooling {
	case 2: // CLS
		copy(pooled, xs[0])
	default: // mean
		for _, x := range xs {
			for j := range pooled {
				pooled[j] += x[j] / float64(n)
			}
		}
	}
	var norm float64
	for _, v := range pooled {
		norm += v * v
	}
	norm = math.Sqrt(norm)
	for j := range pooled {
		pooled[j] /= norm
	}
	return pooled
}

// cosine of a unit vector from the engine and one from the reference.
func cosine(a []float32, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * b[i]
		na += float64(a[i]) * float64(a[i])
		nb += b[i] * b[i]
	}
	return dot / math.Sqrt(na*nb)
}
