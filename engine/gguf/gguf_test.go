package gguf_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/internal/testmodels"
)

func TestRealModelsPassInspection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, arch string
		vocabOnly        bool
		ctx              int
	}{
		{"the trained stories model", testmodels.Stories260K, "llama", false, 2048},
		{"the random llama-2 model", testmodels.TinyRandom, "llama", false, 4096},
		{"a vocab-only llama tokenizer", testmodels.VocabLlama, "llama", true, 4096},
		{"a vocab-only bert tokenizer", testmodels.VocabBertBGE, "bert", true, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := gguf.Inspect(testmodels.Path(t, tc.file), gguf.Options{AllowNoWeights: tc.vocabOnly})
			if err != nil {
				t.Fatal(err)
			}
			if f.Architecture() != tc.arch || f.ContextLength() != tc.ctx {
				t.Fatalf("arch %q ctx %d, want %q %d", f.Architecture(), f.ContextLength(), tc.arch, tc.ctx)
			}
			if tc.vocabOnly != (len(f.Tensors) == 0) {
				t.Fatalf("%d tensors", len(f.Tensors))
			}
		})
	}
	f, _ := gguf.Inspect(testmodels.Path(t, testmodels.Stories260K), gguf.Options{})
	if f.Parameters() != 292800 {
		t.Fatalf("stories260K has %d weights, SOURCES.md says 292800", f.Parameters())
	}
}

func TestVocabOnlyFileIsNotAModel(t *testing.T) {
	t.Parallel()
	_, err := gguf.Inspect(testmodels.Path(t, testmodels.VocabLlama), gguf.Options{})
	if !errors.Is(err, gguf.ErrNoWeights) {
		t.Fatalf("err = %v, want ErrNoWeights", err)
	}
}

func TestBadFilesAreErrorsNamingThePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, err := os.ReadFile(testmodels.Path(t, testmodels.Stories260K))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownArch := filepath.Join(dir, "alien.gguf")
	if err := gguf.WriteFile(unknownArch, []gguf.KV{{Key: "general.architecture", Value: "alien9000"}}, []gguf.TensorSpec{{
		Name: "w", Shape: []uint64{4}, Type: gguf.TypeF32, Fill: func(w io.Writer) error { _, err := w.Write(make([]byte, 16)); return err },
	}}); err != nil {
		t.Fatal(err)
	}
	badVersion := bytes.Clone(good)
	badVersion[4] = 9
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"a missing file", filepath.Join(dir, "nope.gguf"), fs.ErrNotExist},
		{"an empty file", write("empty.gguf", nil), gguf.ErrNotGGUF},
		{"a text file", write("notes.gguf", []byte("hello, this is not a model\n")), gguf.ErrNotGGUF},
		{"a folder", dir, gguf.ErrNotGGUF},
		{"a file cut inside the header", write("cut-header.gguf", good[:200]), gguf.ErrTruncated},
		{"a file cut inside the tensor table", write("cut-table.gguf", good[:7000]), gguf.ErrTruncated},
		{"a file cut inside the weights", write("cut-data.gguf", good[:len(good)-1000]), gguf.ErrTruncated},
		{"a file cut one byte short", write("cut-one.gguf", good[:len(good)-1]), gguf.ErrTruncated},
		{"an unknown GGUF version", write("v9.gguf", badVersion), gguf.ErrUnsupported},
		{"an architecture llama.cpp does not know", unknownArch, gguf.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := gguf.Inspect(tc.path, gguf.Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(filepath.Base(tc.path))) {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestSynthesizedModelsAreValidAndDeterministic(t *testing.T) {
	t.Parallel()
	vocab := testmodels.Path(t, testmodels.VocabLlama)
	for _, typ := range []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			c := synth.Tiny(vocab)
			c.Type = typ
			a, b := filepath.Join(t.TempDir(), "a.gguf"), filepath.Join(t.TempDir(), "b.gguf")
			if err := synth.Write(a, c); err != nil {
				t.Fatal(err)
			}
			if err := synth.Write(b, c); err != nil {
				t.Fatal(err)
			}
			ab, _ := os.ReadFile(a)
			bb, _ := os.ReadFile(b)
			if !bytes.Equal(ab, bb) {
				t.Fatal("the same config wrote different bytes")
			}
			f, err := gguf.Inspect(a, gguf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tokens := f.KV["tokenizer.ggml.tokens"].(gguf.Array)
			if tokens.Len() != 32000 || f.Uint("llama.block_count", 0) != 2 {
				t.Fatalf("vocab %d, blocks %d", tokens.Len(), f.Uint("llama.block_count", 0))
			}
			if f.DataOffset+f.Tensors[len(f.Tensors)-1].Offset+f.Tensors[len(f.Tensors)-1].Size > f.Size {
				t.Fatal("tensor data runs past the file")
			}
		})
	}
}

func TestF16Conversion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   float32
		want uint16
	}{{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff}, {1e6, 0x7c00}, {6e-8, 0x0001}, {1e-9, 0}} {
		if got := synth.F16(tc.in); got != tc.want {
			t.Errorf("F16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, err := os.ReadFile(testmodels.Path(f, testmodels.Stories260K))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[:8192])
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Any input: an error or a header whose tensors lie inside it.
		file, err := gguf.Decode(bytes.NewReader(b), uint64(len(b)))
		if err != nil {
			return
		}
		for _, tn := range file.Tensors {
			if file.DataOffset+tn.Offset+tn.Size > uint64(len(b)) {
				t.Fatalf("tensor %q past the end", tn.Name)
			}
		}
	})
}
