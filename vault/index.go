package vault

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/philippgille/chromem-go"
)

// vec is a float32 vector stored as base64 of little-endian floats.
type vec []float32

func (v vec) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

func (v *vec) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		return errors.New("bad vector")
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*v = out
	return nil
}

// docObject is the payload of a "doc" object: one source file's chunks
// and their vectors.
type docObject struct {
	Path   string   `json:"path"`
	Hash   string   `json:"hash"` // SHA-256 of the file contents, hex
	Model  string   `json:"model,omitempty"`
	Size   int64    `json:"size"`
	Format string   `json:"format"`
	Tags   []string `json:"tags,omitempty"`
	Chunks []Chunk  `json:"chunks"`
}

// Chunk is a piece of a source file.
type Chunk struct {
	StartLine int    `json:"start"` // 1-based, inclusive
	EndLine   int    `json:"end"`
	Heading   string `json:"heading,omitempty"` // enclosing headings, " > " separated
	Text      string `json:"text"`
	Vec       vec    `json:"vec,omitempty"`
}

// index is the in-memory search index: BM25 over chunk text and chromem-go
// over vectors, addressed by chunk slot. Slots are never reused while the
// index lives (a rebuild compacts them).
type index struct {
	docs     map[string]*idxDoc
	chunks   []*idxChunk // by slot; nil = removed
	postings map[string][]posting
	alive    int
	totalLen int64
	col      *chromem.Collection
	db       *chromem.DB
}

type idxDoc struct {
	Ref   string
	Slots []int32
}

type idxChunk struct {
	Source  string
	Start   int
	End     int
	Heading string
	Text    string
	Tags    []string
	Len     int32
}

type posting struct {
	slot int32
	tf   uint16
}

const collectionName = "chunks"

func noEmbed(context.Context, string) ([]float32, error) {
	return nil, errors.New("vault: vectors come from the Embedder")
}

func newIndex() *index {
	db := chromem.NewDB()
	col, _ := db.CreateCollection(collectionName, nil, noEmbed)
	return &index{docs: map[string]*idxDoc{}, postings: map[string][]posting{}, db: db, col: col}
}

func (x *index) len() int { return x.alive }

func (x *index) docRef(key string) string {
	if d := x.docs[key]; d != nil {
		return d.Ref
	}
	return ""
}

func (x *index) removeDoc(key string) {
	d := x.docs[key]
	if d == nil {
		return
	}
	ids := make([]string, 0, len(d.Slots))
	for _, s := range d.Slots {
		if c := x.chunks[s]; c != nil {
			x.totalLen -= int64(c.Len)
			x.alive--
			x.chunks[s] = nil
			ids = append(ids, strconv.Itoa(int(s)))
		}
	}
	if len(ids) > 0 {
		x.col.Delete(context.Background(), nil, nil, ids...)
	}
	delete(x.docs, key)
}

// putDoc indexes a document, replacing what key had.
func (x *index) putDoc(key, ref string, d *docObject) {
	x.removeDoc(key)
	nd := &idxDoc{Ref: ref}
	meta := folderMeta(d.Path, d.Tags)
	var docs []chromem.Document
	for _, c := range d.Chunks {
		slot := int32(len(x.chunks))
		ic := &idxChunk{Source: d.Path, Start: c.StartLine, End: c.EndLine, Heading: c.Heading, Text: c.Text, Tags: d.Tags}
		x.chunks = append(x.chunks, ic)
		x.addPostings(slot, ic)
		nd.Slots = append(nd.Slots, slot)
		if len(c.Vec) > 0 {
			docs = append(docs, chromem.Document{ID: strconv.Itoa(int(slot)), Metadata: meta, Embedding: c.Vec})
		}
	}
	x.docs[key] = nd
	for _, doc := range docs {
		x.col.AddDocument(context.Background(), doc)
	}
}

func (x *index) addPostings(slot int32, c *idxChunk) {
	tf := map[string]int{}
	n := 0
	for _, t := range tokenize(indexText(c.Source, c.Heading, c.Text)) {
		tf[t]++
		n++
	}
	for t, f := range tf {
		x.postings[t] = append(x.postings[t], posting{slot: slot, tf: uint16(min(f, math.MaxUint16))})
	}
	c.Len = int32(n)
	x.totalLen += int64(n)
	x.alive++
}

// indexText is what BM25 sees: the file name, the headings and the text.
func indexText(source, heading, text string) string {
	base := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	return base + "\n" + heading + "\n" + text
}

// folderMeta is the chromem metadata that lets exact-match filters select
// by any ancestor folder ("dir:/a/b" = "1") and by tag ("tag:x" = "1").
func folderMeta(path string, tags []string) map[string]string {
	m := map[string]string{}
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		m["dir:"+d] = "1"
		if d == filepath.Dir(d) {
			break
		}
	}
	for _, t := range tags {
		m["tag:"+t] = "1"
	}
	return m
}

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for from has have how i if in into is it its
		of on or that the their then there these this to was were what when where which who why will with
		do does did you your we our my me can about after before than so not no`) {
		stopwords[w] = true
	}
}

// tokenize lowercases, splits on anything but letters and digits, drops
// stop words and folds simple plurals.
func tokenize(s string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.ToLower(s[start:end])
		start = -1
		if stopwords[w] || len(w) > 40 {
			return
		}
		out = append(out, stem(w))
	}
	for i, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(s))
	return out
}

func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// filter selects chunks by folder and tag.
type filter struct {
	folder string
	tag    string
}

func (f filter) empty() bool { return f.folder == "" && f.tag == "" }

func (f filter) match(c *idxChunk) bool {
	if f.folder != "" && !strings.HasPrefix(c.Source, strings.TrimSuffix(f.folder, string(filepath.Separator))+string(filepath.Separator)) {
		return false
	}
	if f.tag != "" {
		for _, t := range c.Tags {
			if t == f.tag {
				return true
			}
		}
		return false
	}
	return true
}

func (f filter) where() map[string]string {
	if f.empty() {
		return nil
	}
	m := map[string]string{}
	if f.folder != "" {
		m["dir:"+filepath.Clean(f.folder)] = "1"
	}
	if f.tag != "" {
		m["tag:"+f.tag] = "1"
	}
	return m
}

type ranked struct {
	slot  int32
	score float64
}

// bm25 returns the n best chunks for query (k1 = 1.2, b = 0.75).
func (x *index) bm25(query string, n int, f filter) []ranked {
	if x.alive == 0 {
		return nil
	}
	const k1, b = 1.2, 0.75
	avg := float64(x.totalLen) / float64(x.alive)
	scores := map[int32]float64{}
	seen := map[string]bool{}
	for _, t := range tokenize(query) {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := x.postings[t]
		df := 0
		for _, p := range ps {
			if x.chunks[p.slot] != nil {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (float64(x.alive)-float64(df)+0.5)/(float64(df)+0.5))
		for _, p := range ps {
			c := x.chunks[p.slot]
			if c == nil || !f.match(c) {
				continue
			}
			tf := float64(p.tf)
			scores[p.slot] += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*float64(c.Len)/avg))
		}
	}
	return topN(scores, n)
}

func topN(scores map[int32]float64, n int) []ranked {
	out := make([]ranked, 0, len(scores))
	for s, v := range scores {
		out = append(out, ranked{s, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].slot < out[j].slot
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// vector returns the n nearest chunks to q by cosine similarity.
func (x *index) vector(ctx context.Context, q []float32, n int, f filter) ([]ranked, error) {
	cnt := x.col.Count()
	if cnt == 0 || len(q) == 0 {
		return nil, nil
	}
	n = min(n, cnt)
	res, err := x.col.QueryEmbedding(ctx, q, n, f.where(), nil)
	if err != nil {
		return nil, err
	}
	out := make([]ranked, 0, len(res))
	for _, r := range res {
		s, err := strconv.Atoi(r.ID)
		if err != nil || s >= len(x.chunks) || x.chunks[s] == nil {
			continue
		}
		out = append(out, ranked{int32(s), float64(r.Similarity)})
	}
	return out, nil
}

// rrfK is the reciprocal-rank-fusion constant.
const rrfK = 60

// fuse merges ranked lists by reciprocal rank: score = Σ 1/(rrfK + rank).
func fuse(lists ...[]ranked) []ranked {
	scores := map[int32]float64{}
	for _, l := range lists {
		for i, r := range l {
			scores[r.slot] += 1 / float64(rrfK+i+1)
		}
	}
	return topN(scores, len(scores))
}
