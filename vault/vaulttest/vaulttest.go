// Package vaulttest holds test helpers for the vault and its users:
// deterministic pure-Go embedders that stand in for a model.
//
// HashEmbedder is NOT a real embedding model: it hashes words and character
// trigrams into a fixed-size vector. It makes retrieval tests deterministic
// and fast; the recall test with the real engine lives beside it.
package vaulttest

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// HashEmbedder embeds text as hashed word and character-trigram counts,
// L2-normalised. Dim defaults to 256.
type HashEmbedder struct {
	Dim int
}

// Embed implements vault.Embedder.
func (h HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	dim := h.Dim
	if dim <= 0 {
		dim = 256
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := make([]float32, dim)
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(w) < 3 {
				continue
			}
			add(v, "w:"+w, 1)
			p := " " + w + " "
			for j := 0; j+3 <= len(p); j++ {
				add(v, p[j:j+3], 0.5)
			}
		}
		normalise(v)
		out[i] = v
	}
	return out, nil
}

func add(v []float32, s string, w float32) {
	f := fnv.New32a()
	f.Write([]byte(s))
	h := f.Sum32()
	sign := float32(1)
	if h&1 == 1 {
		sign = -1
	}
	v[(h>>1)%uint32(len(v))] += sign * w
}

func normalise(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		v[0] = 1
		return
	}
	n := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= n
	}
}

// ConstEmbedder returns pseudo-random unit vectors at a constant cost per
// text (no model), for benchmarks that measure the vault alone.
type ConstEmbedder struct {
	Dim int
}

// Embed implements vault.Embedder.
func (c ConstEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	dim := c.Dim
	if dim <= 0 {
		dim = 64
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		f := fnv.New64a()
		f.Write([]byte(t))
		x := f.Sum64() | 1
		v := make([]float32, dim)
		for j := range v {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			v[j] = float32(int64(x>>11)%2001-1000) / 1000
		}
		normalise(v)
		out[i] = v
	}
	return out, nil
}
