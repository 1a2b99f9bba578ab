package synth

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/nook-ai/nook/engine/gguf"
)

// Architectures Write knows besides "llama".
const (
	// ArchBERT is llama.cpp's "bert": learned position embeddings, biased
	// Q, K, V and output projections, post-norm layers, GELU feed-forward
	// (all-MiniLM, bge, snowflake-arctic-embed, mxbai-embed).
	ArchBERT = "bert"
	// ArchNomicBERT is llama.cpp's "nomic-bert": a fused QKV projection
	// without biases, NeoX rotary positions, post-norm layers and a SwiGLU
	// feed-forward (nomic-embed-text).
	ArchNomicBERT = "nomic-bert"
)

// Pooling types, as GGUF's <arch>.pooling_type stores them (llama.h
// enum llama_pooling_type).
const (
	PoolNone uint32 = 0
	PoolMean uint32 = 1
	PoolCLS  uint32 = 2
	PoolLast uint32 = 3
)

// Metadata keys for the prefixes an embedding model wants before queries
// and before documents. No GGUF convention exists (converters leave
// sentence-transformers' prompts out); engine/llama reads these, then
// falls back to what the models catalog knows by name.
const (
	KeyQueryPrefix    = "embedding.query_prefix"    // after "<arch>."
	KeyDocumentPrefix = "embedding.document_prefix" // after "<arch>."
)

// MiniLM is all-MiniLM-L6-v2's shape (bert: 6 layers, 384 wide, 12 heads,
// FFN 1536, 512 positions, mean pooling), with random weights.
func MiniLM(vocab string, t gguf.TensorType) Config {
	return Config{Arch: ArchBERT, Vocab: vocab, Embedding: 384, Layers: 6, Heads: 12, FFN: 1536, Context: 512,
		Pooling: PoolMean, Type: t, Seed: 11, Name: "nook-synth-minilm"}
}

// BGESmall is bge-small-en-v1.5's shape (bert: 12 layers, 384 wide, 12
// heads, FFN 1536, 512 positions, CLS pooling).
func BGESmall(vocab string, t gguf.TensorType) Config {
	return Config{Arch: ArchBERT, Vocab: vocab, Embedding: 384, Layers: 12, Heads: 12, FFN: 1536, Context: 512,
		Pooling: PoolCLS, Type: t, Seed: 12, Name: "nook-synth-bge-small"}
}

// Nomic is nomic-embed-text-v1.5's shape (nomic-bert: 12 layers, 768
// wide, 12 heads, SwiGLU FFN 3072, 2048 positions by RoPE base 1000, mean
// pooling) with its task prefixes declared in the metadata.
func Nomic(vocab string, t gguf.TensorType) Config {
	return Config{Arch: ArchNomicBERT, Vocab: vocab, Embedding: 768, Layers: 12, Heads: 12, FFN: 3072, Context: 2048,
		Pooling: PoolMean, Type: t, Seed: 13, Name: "nook-synth-nomic",
		QueryPrefix: "search_query: ", DocumentPrefix: "search_document: "}
}

// TinyBERT is a bert small enough to check against a forward pass
// written in Go (2 layers, 32 wide, 4 heads, FFN 64, 64 positions).
func TinyBERT(vocab string, pooling uint32) Config {
	return Config{Arch: ArchBERT, Vocab: vocab, Embedding: 32, Layers: 2, Heads: 4, FFN: 64, Context: 64,
		Pooling: pooling, Type: gguf.TypeF32, Seed: 3, Name: "nook-synth-tiny-bert"}
}

// TinyNomic is a nomic-bert small enough to check against a forward pass
// written in Go.
func TinyNomic(vocab string) Config {
	return Config{Arch: ArchNomicBERT, Vocab: vocab, Embedding: 32, Layers: 2, Heads: 4, FFN: 64, Context: 64,
		Pooling: PoolMean, Type: gguf.TypeF32, Seed: 4, Name: "nook-synth-tiny-nomic",
		QueryPrefix: "search_query: ", DocumentPrefix: "search_document: "}
}

// bertTensors lists the tensors of a bert or nomic-bert model, named and
// shaped as llama.cpp's llm_build_bert (and ollama's model/models/bert
// and nomicbert) load them.
func bertTensors(c Config, nVocab, nTypes int, rng *rand.Rand) []gguf.TensorSpec {
	t := c.Type
	// Embedding tables are read by row (get_rows), which every type
	// supports; F32 keeps the tiny reference models exact.
	matOf := func(t gguf.TensorType, name string, cols, rows int, scale float32) gguf.TensorSpec {
		seed := rng.Uint64()
		return gguf.TensorSpec{Name: name, Shape: []uint64{uint64(cols), uint64(rows)}, Type: t,
			Fill: func(w io.Writer) error { return fill(w, t, cols*rows, scale, seed) }}
	}
	mat := func(name string, cols, rows int, scale float32) gguf.TensorSpec {
		return matOf(t, name, cols, rows, scale)
	}
	// Vectors (norms, biases) stay F32, as converters write them.
	vec := func(name string, n int, center, spread float32) gguf.TensorSpec {
		seed := rng.Uint64()
		return gguf.TensorSpec{Name: name, Shape: []uint64{uint64(n)}, Type: gguf.TypeF32,
			Fill: func(w io.Writer) error { return fillAround(w, n, center, spread, seed) }}
	}
	e, ff := c.Embedding, c.FFN
	lin := func(cols int) float32 { return float32(1 / math.Sqrt(float64(cols))) }
	out := []gguf.TensorSpec{
		mat("token_embd.weight", e, nVocab, 1),
		// llama.cpp adds the type row to the F32 activations as it is,
		// which only an F32 table allows (converters keep it F32).
		matOf(gguf.TypeF32, "token_types.weight", e, nTypes, 0.1),
	}
	if c.Arch == ArchBERT {
		out = append(out, mat("position_embd.weight", e, c.Context, 0.5))
	}
	out = append(out, vec("token_embd_norm.weight", e, 1, 0.1), vec("token_embd_norm.bias", e, 0, 0.1))
	for i := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		if c.Arch == ArchBERT {
			out = append(out,
				mat(p+"attn_q.weight", e, e, lin(e)), vec(p+"attn_q.bias", e, 0, 0.1),
				mat(p+"attn_k.weight", e, e, lin(e)), vec(p+"attn_k.bias", e, 0, 0.1),
				mat(p+"attn_v.weight", e, e, lin(e)), vec(p+"attn_v.bias", e, 0, 0.1),
				mat(p+"attn_output.weight", e, e, lin(e)), vec(p+"attn_output.bias", e, 0, 0.1),
			)
		} else {
			out = append(out,
				mat(p+"attn_qkv.weight", e, 3*e, lin(e)),
				mat(p+"attn_output.weight", e, e, lin(e)),
			)
		}
		out = append(out, vec(p+"attn_output_norm.weight", e, 1, 0.1), vec(p+"attn_output_norm.bias", e, 0, 0.1))
		if c.Arch == ArchBERT {
			out = append(out,
				mat(p+"ffn_up.weight", e, ff, lin(e)), vec(p+"ffn_up.bias", ff, 0, 0.1),
				mat(p+"ffn_down.weight", ff, e, lin(ff)), vec(p+"ffn_down.bias", e, 0, 0.1),
			)
		} else {
			out = append(out,
				mat(p+"ffn_up.weight", e, ff, lin(e)),
				mat(p+"ffn_gate.weight", e, ff, lin(e)),
				mat(p+"ffn_down.weight", ff, e, lin(ff)),
			)
		}
		out = append(out, vec(p+"layer_output_norm.weight", e, 1, 0.1), vec(p+"layer_output_norm.bias", e, 0, 0.1))
	}
	return out
}

// bertKVs is the architecture metadata of a bert or nomic-bert model.
func bertKVs(c Config) []gguf.KV {
	a := c.Arch + "."
	kvs := []gguf.KV{
		{Key: a + "context_length", Value: uint32(c.Context)},
		{Key: a + "embedding_length", Value: uint32(c.Embedding)},
		{Key: a + "block_count", Value: uint32(c.Layers)},
		{Key: a + "feed_forward_length", Value: uint32(c.FFN)},
		{Key: a + "attention.head_count", Value: uint32(c.Heads)},
		{Key: a + "attention.layer_norm_epsilon", Value: float32(1e-12)},
		{Key: a + "attention.causal", Value: false},
		{Key: a + "pooling_type", Value: c.Pooling},
	}
	if c.Arch == ArchNomicBERT {
		kvs = append(kvs, gguf.KV{Key: a + "rope.freq_base", Value: float32(1000)})
	}
	if c.QueryPrefix != "" {
		kvs = append(kvs, gguf.KV{Key: a + KeyQueryPrefix, Value: c.QueryPrefix})
	}
	if c.DocumentPrefix != "" {
		kvs = append(kvs, gguf.KV{Key: a + KeyDocumentPrefix, Value: c.DocumentPrefix})
	}
	return kvs
}

// fillAround writes n float32 values uniform in [center-spread, center+spread].
func fillAround(w io.Writer, n int, center, spread float32, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = center + (rng.Float32()*2-1)*spread
	}
	_, err := w.Write(encode(nil, gguf.TypeF32, vals))
	return err
}
