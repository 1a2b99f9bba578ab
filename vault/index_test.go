package vault

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// searchAll runs every question in every mode and returns the hits.
func searchAll(t *testing.T, v *Vault) map[string][]Hit {
	t.Helper()
	out := map[string][]Hit{}
	for _, q := range loadQuestions(t) {
		for _, m := range []Mode{Fused, Lexical, Vector} {
			hs, err := v.Search(context.Background(), q.Text, SearchOptions{K: 8, Mode: m})
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%d %s", m, q.Text)] = hs
		}
	}
	return out
}

func TestIndexSnapshot(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	notes := copyCorpus(t)
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	// Removed and replaced documents leave dead slots behind in the live index.
	for _, n := range []string{"chess.md", "coffee.md", "rust.md"} {
		os.Remove(filepath.Join(notes, n))
	}
	write(t, filepath.Join(notes, "fern.md"), "# Fern\n\nMist the fern twice a week; it likes the north window.\n")
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	live := searchAll(t, v)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("the snapshot gives the same results as the live index", func(t *testing.T) {
		w := reopen(t, dir)
		if p := w.Problems(); len(p) != 0 {
			t.Fatalf("problems: %v", p)
		}
		if d := cmp.Diff(live, searchAll(t, w), cmp.AllowUnexported(Hit{})); d != "" {
			t.Errorf("results differ (-live +snapshot):\n%s", d)
		}
		w.Close()
	})
	t.Run("a rebuild from the objects gives the same results", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "cache", "index.age")); err != nil {
			t.Fatal(err)
		}
		w := reopen(t, dir)
		if d := cmp.Diff(live, searchAll(t, w)); d != "" {
			t.Errorf("results differ (-live +rebuilt):\n%s", d)
		}
	})
}

func TestIndexDecodeRejectsDamage(t *testing.T) {
	t.Parallel()
	x := newIndex()
	for i := range 20 {
		x.putDoc(fmt.Sprint(i), "r", &docObject{Path: fmt.Sprintf("/n/%d.md", i), Tags: []string{"t"}, Chunks: []Chunk{
			{StartLine: 1, EndLine: 2, Text: fmt.Sprintf("note %d about gardens", i), Vec: []float32{1, 0, float32(i)}},
		}})
	}
	x.removeDoc("3")
	good := encodeIndex(x)
	if _, err := decodeIndex(good); err != nil {
		t.Fatalf("decode of a good index: %v", err)
	}
	if _, err := decodeIndex(good[:len(good)-1]); err == nil {
		t.Error("a truncated index decoded")
	}
	if _, err := decodeIndex(append(good, 0)); err == nil {
		t.Error("an index with trailing bytes decoded")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 { // flipped bytes: an error or an index, never a panic
		b := append([]byte(nil), good...)
		b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		decodeIndex(b)
	}
}

var update = flag.Bool("update", false, "rewrite the index test vectors in testdata/index")

// vectorIndex is the index the committed test vector holds: units of
// every kind and context, tags, vectors on some, a removed document.
func vectorIndex() *index {
	x := newIndex()
	x.putDoc("/n/chat.md", "ref-chat", &docObject{Path: "/n/chat.md", Version: docUnits, Tags: []string{"home"}, Chunks: []Chunk{
		{StartLine: 1, EndLine: 3, Kind: KindTurn, Heading: "Chats > 18 May 2024", Speaker: "Tom", Date: "2024-05-18", Text: "Tom: how much was the vet this time?", Vec: []float32{0.6, 0.8}},
		{StartLine: 4, EndLine: 4, Kind: KindTurn, Heading: "Chats > 18 May 2024", Speaker: "Nadia", Date: "2024-05-18", Text: "Nadia: 86 euros with the drops", Vec: []float32{0.8, 0.6}},
	}})
	x.putDoc("/n/plots.md", "ref-plots", &docObject{Path: "/n/plots.md", Version: docUnits, Chunks: []Chunk{
		{StartLine: 1, EndLine: 3, Kind: KindRow, Heading: "Plots", Lead: "Plot | Holder", Text: "| 7 | Familie Yilmaz |"},
		{StartLine: 5, EndLine: 5, Kind: KindItem, Heading: "Plots", Lead: "Actions:", Text: "- Priya: order compost"},
	}})
	x.putDoc("/n/lease.pdf", "ref-lease", &docObject{Path: "/n/lease.pdf", Version: docUnits, Format: fmtPDF, Chunks: []Chunk{
		{StartLine: 3, EndLine: 6, Kind: KindPara, Page: 2, Text: "the tenant pays a security\ndeposit of two months rent"},
	}})
	x.putDoc("/n/gone.md", "ref-gone", &docObject{Path: "/n/gone.md", Version: docUnits, Chunks: []Chunk{{StartLine: 1, EndLine: 1, Kind: KindPara, Text: "removed before saving"}}})
	x.removeDoc("/n/gone.md")
	return x
}

func TestIndexTestVectors(t *testing.T) {
	t.Parallel()
	t.Run("the current format encodes deterministically", func(t *testing.T) {
		got := encodeIndex(vectorIndex())
		path := filepath.Join("testdata", "index", "v4.bin")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encoding differs from %s (after a deliberate change: bump analyzerVersion if the analysis or field weights changed, then run with -update)", path)
		}
		x, err := decodeIndex(want)
		if err != nil {
			t.Fatal(err)
		}
		if again := encodeIndex(x); !bytes.Equal(again, want) {
			t.Error("decode then encode does not give the same bytes")
		}
		hs := x.search("vet euros", nil, &SearchOptions{Budget: 100}, filter{})
		if len(hs) != 1 || hs[0].StartLine != 1 || hs[0].EndLine != 4 || hs[0].Kind != KindTurn || hs[0].Date != "2024-05-18" {
			t.Errorf("search of the decoded index: %+v", hs)
		}
		if hs := x.search("Yilmaz plot", nil, &SearchOptions{K: 1}, filter{}); len(hs) != 1 || hs[0].Kind != KindRow {
			t.Errorf("the row: %+v", hs)
		}
		if hs := x.search("security deposit", nil, &SearchOptions{K: 1}, filter{}); len(hs) != 1 || hs[0].Page != 2 || hs[0].StartLine != 3 {
			t.Errorf("the PDF unit keeps its page: %+v", hs)
		}
	})
	t.Run("the format before pages is read, its units on page 0", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("testdata", "index", "v3.bin"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := decodeIndex(b)
		if err != nil {
			t.Fatal(err)
		}
		hs := x.search("vet euros", nil, &SearchOptions{Budget: 100}, filter{})
		if len(hs) != 1 || hs[0].StartLine != 1 || hs[0].EndLine != 4 || hs[0].Kind != KindTurn || hs[0].Page != 0 {
			t.Errorf("search of the format 3 index: %+v", hs)
		}
	})
	t.Run("the format before units is read and its postings rebuilt", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("testdata", "index", "legacy-v2.bin"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := decodeIndex(b)
		if err != nil {
			t.Fatal(err)
		}
		if x.len() != 3 || x.nvec != 3 || len(x.docs) != 2 {
			t.Fatalf("%d units, %d vectors, %d docs; want 3, 3, 2", x.len(), x.nvec, len(x.docs))
		}
		hs := x.search("watering tomato", nil, &SearchOptions{K: 1}, filter{})
		if len(hs) != 1 || hs[0].Kind != "chunk" || hs[0].Heading != "Garden" || hs[0].Tokens == 0 {
			t.Errorf("stemmed search over the old chunks: %+v", hs)
		}
		if hs := x.search("tyre", nil, &SearchOptions{K: 1}, filter{tag: "home"}); len(hs) != 0 {
			t.Errorf("tags survive: %+v", hs)
		}
	})
}

func FuzzDecodeIndex(f *testing.F) {
	x := newIndex()
	x.putDoc("a", "r", &docObject{Path: "/n/a.md", Tags: []string{"t"}, Chunks: []Chunk{{StartLine: 1, EndLine: 1, Text: "alpha beta", Vec: []float32{0.6, 0.8}}}})
	x.putDoc("b", "r", &docObject{Path: "/n/b.md", Chunks: []Chunk{{StartLine: 1, EndLine: 3, Text: "beta gamma"}}})
	f.Add(encodeIndex(x))
	f.Add(encodeIndex(newIndex()))
	f.Add(encodeIndex(vectorIndex()))
	for _, name := range []string{"legacy-v2.bin", "v3.bin"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "index", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := decodeIndex(b)
		if err != nil {
			return
		}
		// What decodes must be usable.
		x.bm25(queryTerms("alpha beta gamma"), 5, filter{})
		x.vector(make([]float32, x.dim), 5, filter{tag: "t"})
		x.search("alpha vet plot", make([]float32, x.dim), &SearchOptions{Budget: 64, PerHit: 2}, filter{})
		x.removeDoc("a")
		encodeIndex(x)
	})
}

func TestAddOfAMissingPath(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	notes := copyCorpus(t)
	if _, err := v.Add(context.Background(), []string{filepath.Join(notes, "no-such-note.md")}, AddOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a path that never held documents: %v, want fs.ErrNotExist", err)
	}
	if _, err := v.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(notes); err != nil {
		t.Fatal(err)
	}
	rep, err := v.Add(context.Background(), []string{notes}, AddOptions{})
	if err != nil || rep.Removed != corpusNotes {
		t.Errorf("a deleted folder: %+v, %v; want its %d documents removed", rep, err, corpusNotes)
	}
}

// The snapshot's vectors are little-endian float32s whichever way they are
// copied: appendFloats gives the bytes a float-by-float encoding gives.
func TestVectorsAreWrittenLittleEndianBitForBit(t *testing.T) {
	fs := []float32{0, 1, -1, 0.1, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32}
	var want []byte
	for _, f := range fs {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(f))
	}
	if got := appendFloats([]byte{7}, fs); !bytes.Equal(got, append([]byte{7}, want...)) {
		t.Fatalf("appendFloats = % x, want 07 % x", got, want)
	}
	if got := appendFloats(nil, nil); len(got) != 0 {
		t.Fatalf("appendFloats of nothing = % x", got)
	}
}
