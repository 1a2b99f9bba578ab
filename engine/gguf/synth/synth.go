package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/nook-ai/nook/engine/gguf"
)

// Version changes whenever Write's output for some Config does: caches of
// written models (internal/testmodels) key on it.
const Version = 2

// Config is the shape of the model.
type Config struct {
	// Arch is "llama" (the default), ArchBERT or ArchNomicBERT.
	Arch         string
	Vocab        string // path of a GGUF whose tokenizer.* keys to copy
	Embedding    int    // hidden size (multiple of 32 for quantized types)
	Layers       int
	Heads        int
	KVHeads      int // default Heads
	FFN          int // feed-forward size; default 4*Embedding rounded to 32... see below
	Context      int // trained context length; default 2048
	Type         gguf.TensorType
	Seed         uint64
	ChatTemplate string // tokenizer.chat_template; "" keeps the vocab file's
	Name         string
	// Pooling is a bert's or nomic-bert's <arch>.pooling_type (default
	// PoolMean); llama models have none.
	Pooling uint32
	// QueryPrefix and DocumentPrefix, when set, are written to the
	// metadata (KeyQueryPrefix, KeyDocumentPrefix).
	QueryPrefix, DocumentPrefix string
}

// Tiny is a shape for unit tests: fast to write and to run.
func Tiny(vocab string) Config {
	return Config{Vocab: vocab, Embedding: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 128, Context: 2048, Type: gguf.TypeF32, Seed: 1, Name: "nook-synth-tiny"}
}

// Bench is a ~0.5B-parameter shape (with a 32000-token vocabulary) for
// benchmarks: big enough that the matrix work, not overhead, dominates.
func Bench(vocab string, t gguf.TensorType) Config {
	return Config{Vocab: vocab, Embedding: 1024, Layers: 24, Heads: 16, KVHeads: 8, FFN: 4096, Context: 4096, Type: t, Seed: 7, Name: "nook-synth-bench"}
}

func (c *Config) defaults() error {
	if c.Arch == "" {
		c.Arch = "llama"
	}
	switch c.Arch {
	case "llama":
	case ArchBERT, ArchNomicBERT:
		if c.Pooling == PoolNone {
			c.Pooling = PoolMean
		}
		if c.KVHeads != 0 && c.KVHeads != c.Heads {
			return fmt.Errorf("synth: %s has no grouped-query attention", c.Arch)
		}
		if c.FFN == 0 {
			c.FFN = 4 * c.Embedding
		}
	default:
		return fmt.Errorf("synth: architecture %q not supported", c.Arch)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.FFN == 0 {
		c.FFN = (c.Embedding*8/3 + 31) / 32 * 32
	}
	if c.Context == 0 {
		c.Context = 2048
	}
	if c.Name == "" {
		c.Name = "nook-synth"
	}
	if c.Embedding <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Embedding%c.Heads != 0 || c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("synth: bad shape %+v", *c)
	}
	switch c.Type {
	case gguf.TypeF32, gguf.TypeF16:
	case gguf.TypeQ8_0, gguf.TypeQ4_0:
		if c.Embedding%32 != 0 || c.FFN%32 != 0 {
			return fmt.Errorf("synth: %v needs sizes that are multiples of 32", c.Type)
		}
	default:
		return fmt.Errorf("synth: type %v not supported", c.Type)
	}
	return nil
}

// Write writes the model to path.
func Write(path string, c Config) error {
	if err := c.defaults(); err != nil {
		return err
	}
	voc, err := gguf.Inspect(c.Vocab, gguf.Options{AllowNoWeights: true})
	if err != nil {
		return fmt.Errorf("synth: vocabulary: %w", err)
	}
	tokens, ok := voc.KV["tokenizer.ggml.tokens"].(gguf.Array)
	if !ok || tokens.Len() == 0 {
		return fmt.Errorf("synth: %s has no tokenizer.ggml.tokens", c.Vocab)
	}
	nVocab := tokens.Len()
	headDim := c.Embedding / c.Heads
	kvDim := headDim * c.KVHeads

	ftype := map[gguf.TensorType]uint32{gguf.TypeF32: 0, gguf.TypeF16: 1, gguf.TypeQ4_0: 2, gguf.TypeQ8_0: 7}[c.Type]
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: c.Arch},
		{Key: "general.name", Value: c.Name},
		{Key: "general.file_type", Value: ftype},
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x6e6f6f6b))
	if c.Arch != "llama" {
		nTypes := int(voc.Uint("tokenizer.ggml.token_type_count", 2))
		kvs = append(append(kvs, bertKVs(c)...), tokenizerKVs(voc, c)...)
		return gguf.WriteFile(path, kvs, bertTensors(c, nVocab, max(nTypes, 1), rng))
	}
	kvs = append(kvs, []gguf.KV{
		{Key: "llama.context_length", Value: uint32(c.Context)},
		{Key: "llama.embedding_length", Value: uint32(c.Embedding)},
		{Key: "llama.block_count", Value: uint32(c.Layers)},
		{Key: "llama.feed_forward_length", Value: uint32(c.FFN)},
		{Key: "llama.attention.head_count", Value: uint32(c.Heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(c.KVHeads)},
		{Key: "llama.rope.dimension_count", Value: uint32(headDim)},
		{Key: "llama.rope.freq_base", Value: float32(10000)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-5)},
		{Key: "llama.vocab_size", Value: uint32(nVocab)},
	}...)
	kvs = append(kvs, tokenizerKVs(voc, c)...)

	mat := func(name string, cols, rows int) gguf.TensorSpec {
		scale := float32(1 / math.Sqrt(float64(cols)))
		seed := rng.Uint64()
		return gguf.TensorSpec{Name: name, Shape: []uint64{uint64(cols), uint64(rows)}, Type: c.Type,
			Fill: func(w io.Writer) error { return fill(w, c.Type, cols*rows, scale, seed) }}
	}
	norm := func(name string, n int) gguf.TensorSpec {
		return gguf.TensorSpec{Name: name, Shape: []uint64{uint64(n)}, Type: gguf.TypeF32,
			Fill: func(w io.Writer) error { return ones(w, n) }}
	}
	embd := mat("token_embd.weight", c.Embedding, nVocab)
	embd.Fill = func(w io.Writer) error { return fill(w, c.Type, c.Embedding*nVocab, 1, 42^c.Seed) }
	tensors := []gguf.TensorSpec{embd}
	for i := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		tensors = append(tensors,
			norm(p+"attn_norm.weight", c.Embedding),
			mat(p+"attn_q.weight", c.Embedding, c.Embedding),
			mat(p+"attn_k.weight", c.Embedding, kvDim),
			mat(p+"attn_v.weight", c.Embedding, kvDim),
			mat(p+"attn_output.weight", c.Embedding, c.Embedding),
			norm(p+"ffn_norm.weight", c.Embedding),
			mat(p+"ffn_gate.weight", c.Embedding, c.FFN),
			mat(p+"ffn_up.weight", c.Embedding, c.FFN),
			mat(p+"ffn_down.weight", c.FFN, c.Embedding),
		)
	}
	tensors = append(tensors, norm("output_norm.weight", c.Embedding), mat("output.weight", c.Embedding, nVocab))
	return gguf.WriteFile(path, kvs, tensors)
}

// tokenizerKVs copies the vocabulary file's tokenizer in a stable order,
// with c's chat template if it has one.
func tokenizerKVs(voc *gguf.File, c Config) []gguf.KV {
	var keys []string
	for k := range voc.KV {
		if strings.HasPrefix(k, "tokenizer.") && k != "tokenizer.chat_template" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var kvs []gguf.KV
	for _, k := range keys {
		kvs = append(kvs, gguf.KV{Key: k, Value: voc.KV[k]})
	}
	tmpl := c.ChatTemplate
	if tmpl == "" {
		tmpl = voc.ChatTemplate()
	}
	if tmpl != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Value: tmpl})
	}
	return kvs
}

func ones(w io.Writer, n int) error {
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(1))
	}
	_, err := w.Write(b)
	return err
}

// fill writes n uniform values in [-scale, scale] encoded as t.
func fill(w io.Writer, t gguf.TensorType, n int, scale float32, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	const chunk = 32 * 1024
	vals := make([]float32, chunk)
	var out []byte
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		for i := range m {
			vals[i] = (rng.Float32()*2 - 1) * scale
		}
		out = encode(out[:0], t, vals[:m])
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

func encode(dst []byte, t gguf.TensorType, v []float32) []byte {
	switch t {
	case gguf.TypeF32:
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
		}
	case gguf.TypeF16:
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint16(dst, F16(x))
		}
	case gguf.TypeQ8_0:
		for b := 0; b < len(v); b += 32 {
			blk := v[b : b+32]
			var amax float32
			for _, x := range blk {
				amax = max(amax, abs(x))
			}
			d := amax / 127
			id := float32(0)
			if d != 0 {
				id = 1 / d
			}
			dst = binary.LittleEndian.AppendUint16(dst, F16(d))
			for _, x := range blk {
				dst = append(dst, byte(int8(roundf(x*id))))
			}
		}
	case gguf.TypeQ4_0:
		for b := 0; b < len(v); b += 32 {
			blk := v[b : b+32]
			var amax, mx float32
			for _, x := range blk {
				if abs(x) > amax {
					amax, mx = abs(x), x
				}
			}
			d := mx / -8
			id := float32(0)
			if d != 0 {
				id = 1 / d
			}
			dst = binary.LittleEndian.AppendUint16(dst, F16(d))
			q := func(x float32) byte { return byte(min(15, max(0, int(x*id+8.5)))) }
			for j := range 16 {
				dst = append(dst, q(blk[j])|q(blk[j+16])<<4)
			}
		}
	}
	return dst
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

// F16 converts to IEEE half precision (round to nearest even; no NaN input).
func F16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - exp)
		h := uint16(mant >> shift)
		if rem := mant & (1<<shift - 1); rem > 1<<(shift-1) || (rem == 1<<(shift-1) && h&1 == 1) {
			h++
		}
		return sign | h
	}
	h := sign | uint16(exp)<<10 | uint16(mant>>13)
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return h
}
