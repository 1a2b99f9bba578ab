package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
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
	// A vector is a base64 string: no escapes, so the bytes between the
	// quotes are the string (anything else goes through the decoder, and
	// base64 refuses what is not its alphabet).
	var s []byte
	if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' && !bytes.ContainsAny(data[1:n-1], "\\\"") {
		s = data[1 : n-1]
	} else {
		var str string
		if err := json.Unmarshal(data, &str); err != nil {
			return err
		}
		s = []byte(str)
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	b = b[:n]
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

// docObject is the payload of a "doc" object: one source file's units
// and their vectors. Objects written before units (Version 0) hold coarse
// chunks of several paragraphs; they load and are searched as they are
// (each chunk is one unit), and Reindex rewrites them as units.
type docObject struct {
	Path    string   `json:"path"`
	Hash    string   `json:"hash"` // SHA-256 of the file contents, hex
	Model   string   `json:"model,omitempty"`
	Size    int64    `json:"size"`
	Format  string   `json:"format"`
	Tags    []string `json:"tags,omitempty"`
	Version int      `json:"v,omitempty"` // docUnits, or 0 for coarse chunks
	Chunks  []Chunk  `json:"chunks"`
}

// docUnits is the docObject version whose chunks are structure-aware units.
const docUnits = 2

// Chunk is a retrieval unit of a source file: a paragraph, list item, table
// row, dialog turn or code block (Kind), with the context that is scored
// and embedded with it. Objects written before units hold coarse chunks
// with no Kind.
type Chunk struct {
	StartLine int    `json:"start"` // 1-based, inclusive
	EndLine   int    `json:"end"`
	Heading   string `json:"heading,omitempty"` // enclosing headings, " > " separated
	Text      string `json:"text"`
	Kind      string `json:"kind,omitempty"`
	Lead      string `json:"lead,omitempty"`    // a table's header row, a list's lead-in
	Speaker   string `json:"speaker,omitempty"` // who says a dialog turn
	Date      string `json:"date,omitempty"`    // ISO date in force (heading, date line, timestamp)
	Page      int    `json:"page,omitempty"`    // of a PDF, whose lines are counted within the page
	Vec       vec    `json:"vec,omitempty"`
}

// index is the in-memory search index, addressed by unit slot: BM25 over
// unit text and context (a term dictionary and one postings slice per term)
// and exact cosine search over a contiguous row-major matrix of unit
// vectors.
//
// The issue named chromem-go for the vectors, and the first version used
// it. It was replaced because at 10k chunks a query already took ~19 ms
// (p95 21 ms): chromem keeps each document in a map with its own metadata
// map, filters by walking every document before scoring, fans every query
// out to goroutines, and its gob export made unlock rebuild the collection
// document by document. We use none of what it adds over a matrix (its
// embedding functions, persistence, metadata queries): vectors come from the
// Embedder, persistence is the encrypted snapshot, and folder and tag
// filters are checked on the unit. A dot product per row over one []float32
// with a bounded heap is what exact search needs.
//
// The units of a document take consecutive slots, in document order, so a
// unit's neighbours in its document are the slots beside it with the same
// source (retrieval widens hits with them).
//
// Slots are never reused while the index lives; removal marks the slot dead
// (its postings stay and are skipped, df is kept exact). compact drops dead
// slots; the snapshot is always written compact.
type index struct {
	docs     map[string]*idxDoc
	chunks   []idxChunk // by slot; Source == "" marks a removed unit
	alive    int
	totalLen int64

	terms map[string]int32 // term → id
	post  [][]posting      // by term id, slots ascending
	df    []int32          // live units containing the term, by term id
	dfb   []int32          // of them, those with the term in their own text (for idf)

	dim    int       // vector width; 0 until the first vector
	vecs   []float32 // slot*dim…(slot+1)*dim; zero row when hasVec is false
	hasVec []bool    // by slot
	nvec   int       // live units with a vector

	// scratch for queries (callers hold the vault's lock)
	norm     []float32 // by slot: k1·(1-b+b·len/avg), < 0 for a removed unit
	normLen  int64     // totalLen and alive that norm was computed for
	normN    int
	acc      []float32
	mask     []uint32 // by slot: query terms seen, for bm25
	touched  []int32
	wordSets map[int32][]uint64 // this query's units: their words, for MMR
	scores   []float32
	tf       map[string]uint16 // addPostings' term counts
	inText   map[string]bool   // and which of the terms are in the unit's own text

	p *rankParams // defaultParams but in tuning runs
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
	Lead    string
	Speaker string
	Date    string
	Text    string
	Tags    []string
	Len     int32 // BM25 length in terms
	Tokens  int32 // EstimateTokens(Text)
	Kind    uint8 // index into kinds
	Page    int32 // of a PDF; 0 for other formats
}

// kinds names idxChunk.Kind; 0 is a coarse chunk of an old object.
var kinds = []string{"", KindPara, KindItem, KindRow, KindTurn, KindCode}

func kindNumber(k string) uint8 {
	for i, n := range kinds {
		if n == k {
			return uint8(i)
		}
	}
	return 1
}

type posting struct {
	slot int32
	tf   uint16 // field-weighted term frequency, in 1/tfScale
}

func newIndex() *index {
	return &index{docs: map[string]*idxDoc{}, terms: map[string]int32{}, p: &defaultParams}
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
	for _, s := range d.Slots {
		c := &x.chunks[s]
		if c.Source == "" {
			continue
		}
		x.unitTF(c)
		for t := range x.tf {
			if id, ok := x.terms[t]; ok {
				x.df[id]--
				if x.inText[t] {
					x.dfb[id]--
				}
			}
		}
		x.totalLen -= int64(c.Len)
		x.alive--
		*c = idxChunk{}
		if x.hasVec[s] {
			x.hasVec[s] = false
			x.nvec--
			clear(x.vecs[int(s)*x.dim : int(s+1)*x.dim])
		}
	}
	delete(x.docs, key)
}

// putDoc indexes a document, replacing what key had.
func (x *index) putDoc(key, ref string, d *docObject) {
	x.removeDoc(key)
	if x.nvec == 0 && x.dim != 0 {
		x.setDim(0)
	}
	for _, c := range d.Chunks {
		if len(c.Vec) > 0 && x.dim != 0 && len(c.Vec) != x.dim {
			// Another embedding model: its vectors replace the old
			// model's, which no query of the new one can use.
			clear(x.hasVec)
			x.nvec = 0
			x.setDim(0)
		}
		if len(c.Vec) > 0 {
			break
		}
	}
	nd := &idxDoc{Ref: ref, Slots: make([]int32, 0, len(d.Chunks))}
	for _, c := range d.Chunks {
		slot := int32(len(x.chunks))
		kind := uint8(0)
		if d.Version >= docUnits {
			kind = kindNumber(c.Kind)
		}
		x.chunks = append(x.chunks, idxChunk{Source: d.Path, Start: c.StartLine, End: c.EndLine, Heading: c.Heading,
			Lead: c.Lead, Speaker: c.Speaker, Date: c.Date, Text: c.Text, Tags: d.Tags, Kind: kind, Page: int32(min(max(c.Page, 0), math.MaxInt32)),
			Tokens: int32(min(EstimateTokens(c.Text), math.MaxInt32))})
		x.addPostings(slot)
		nd.Slots = append(nd.Slots, slot)
		x.addVec(c.Vec)
	}
	x.docs[key] = nd
}

// setDim starts the matrix over with width dim (only when it holds no
// live vector: after a change of embedding model).
func (x *index) setDim(dim int) {
	x.dim = dim
	x.vecs = make([]float32, len(x.chunks)*dim, max(cap(x.chunks)*dim, 1024))
}

// reserve makes room for units more units (their rows, flags and, once
// the width is known, vectors), so that a sync adding thousands of
// documents grows the matrix once instead of doubling it over and over.
func (x *index) reserve(units int) {
	if units <= 0 {
		return
	}
	x.chunks = slices.Grow(x.chunks, units)
	x.hasVec = slices.Grow(x.hasVec, units)
	if x.dim > 0 {
		x.vecs = slices.Grow(x.vecs, units*x.dim)
	}
}

// addVec appends the row of the slot just added. A vector whose width
// differs from the index's is left out (putDoc starts the matrix over
// when a document brings vectors of a new width).
func (x *index) addVec(v []float32) {
	if len(v) > 0 && x.dim == 0 {
		x.setDim(len(v))
		x.vecs = x.vecs[:(len(x.chunks)-1)*x.dim]
	}
	if len(v) > 0 && len(v) == x.dim {
		x.vecs = append(x.vecs, v...)
		x.hasVec = append(x.hasVec, true)
		x.nvec++
		return
	}
	x.vecs = append(x.vecs, make([]float32, x.dim)...)
	x.hasVec = append(x.hasVec, false)
}

func (x *index) addPostings(slot int32) {
	c := &x.chunks[slot]
	n := x.unitTF(c)
	for t, f := range x.tf {
		id, ok := x.terms[t]
		if !ok {
			id = int32(len(x.post))
			x.terms[t] = id
			x.post = append(x.post, nil)
			x.df = append(x.df, 0)
			x.dfb = append(x.dfb, 0)
		}
		x.post[id] = append(x.post[id], posting{slot: slot, tf: f})
		x.df[id]++
		if x.inText[t] {
			x.dfb[id]++
		}
	}
	c.Len = int32(n)
	x.totalLen += int64(n)
	x.alive++
}

// compact drops dead slots, renumbering the rest in order.
func (x *index) compact() {
	if x.alive == len(x.chunks) {
		return
	}
	remap := make([]int32, len(x.chunks))
	chunks := make([]idxChunk, 0, x.alive)
	hasVec := make([]bool, 0, x.alive)
	vecs := make([]float32, 0, x.alive*x.dim)
	for s := range x.chunks {
		if x.chunks[s].Source == "" {
			remap[s] = -1
			continue
		}
		remap[s] = int32(len(chunks))
		chunks = append(chunks, x.chunks[s])
		hasVec = append(hasVec, x.hasVec[s])
		vecs = append(vecs, x.vecs[s*x.dim:(s+1)*x.dim]...)
	}
	terms := make(map[string]int32, len(x.terms))
	var post [][]posting
	var df, dfb []int32
	for t, id := range x.terms {
		if x.df[id] == 0 {
			continue
		}
		ps := x.post[id][:0]
		for _, p := range x.post[id] {
			if r := remap[p.slot]; r >= 0 {
				ps = append(ps, posting{r, p.tf})
			}
		}
		terms[t] = int32(len(post))
		post = append(post, ps)
		df = append(df, x.df[id])
		dfb = append(dfb, x.dfb[id])
	}
	for _, d := range x.docs {
		for i, s := range d.Slots {
			d.Slots[i] = remap[s]
		}
	}
	x.chunks, x.hasVec, x.vecs, x.terms, x.post, x.df, x.dfb = chunks, hasVec, vecs, terms, post, df, dfb
	if x.nvec == 0 && x.dim != 0 {
		x.setDim(0)
	}
	x.acc, x.mask, x.norm, x.scores = nil, nil, nil, nil
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

type ranked struct {
	slot  int32
	mask  uint32 // bm25: which of the first 32 query terms the unit has
	score float64
}

// norms returns, by slot, the BM25 length normalisation k1·(1-b+b·len/avg)
// (negative for removed chunks), recomputed when the corpus changed.
func (x *index) norms() []float32 {
	if len(x.norm) == len(x.chunks) && x.normLen == x.totalLen && x.normN == x.alive {
		return x.norm
	}
	avg := float64(x.totalLen) / float64(max(x.alive, 1))
	if avg == 0 {
		avg = 1
	}
	if cap(x.norm) < len(x.chunks) {
		x.norm = make([]float32, len(x.chunks), len(x.chunks)+len(x.chunks)/4)
	}
	x.norm = x.norm[:len(x.chunks)]
	for s := range x.chunks {
		if x.chunks[s].Source == "" {
			x.norm[s] = -1
			continue
		}
		x.norm[s] = float32(x.p.k1 * (1 - x.p.b + x.p.b*float64(x.chunks[s].Len)/avg) * tfScale)
	}
	x.normLen, x.normN = x.totalLen, x.alive
	return x.norm
}

// bm25 returns the n best units for the query's terms: one dense
// accumulator by slot, walked only where a term's postings point. The term
// frequencies are field-weighted (fields.go); norm carries tfScale, so
// tf/(tf+norm) needs no division per posting.
func (x *index) bm25(qterms []string, n int, f filter) []ranked {
	if x.alive == 0 || n <= 0 {
		return nil
	}
	norm := x.norms()
	if len(x.acc) < len(x.chunks) {
		x.acc = make([]float32, len(x.chunks), cap(x.norm))
	}
	acc, touched := x.acc[:len(x.chunks)], x.touched[:0]
	if len(x.mask) < len(x.chunks) {
		x.mask = make([]uint32, len(x.chunks), cap(x.acc))
	}
	mask := x.mask[:len(x.chunks)]
	filtered := !f.empty()
	for j, t := range qterms {
		id, ok := x.terms[t]
		if !ok || x.df[id] == 0 {
			continue
		}
		w := float32(x.idf(id) * (x.p.k1 + 1))
		bit := uint32(1) << min(j, 31)
		for _, p := range x.post[id] {
			nm := norm[p.slot]
			if nm < 0 || filtered && !f.match(&x.chunks[p.slot]) {
				continue
			}
			if acc[p.slot] == 0 {
				touched = append(touched, p.slot)
			}
			tf := float32(p.tf)
			acc[p.slot] += w * tf / (tf + nm)
			mask[p.slot] |= bit
		}
	}
	h := topK{x: x, n: n}
	for _, s := range touched {
		if sc := float64(acc[s]); sc > 0 && (len(h.items) < n || h.better(sc, s, h.items[0])) {
			h.push(s, sc)
		}
	}
	out := h.sorted()
	for i := range out {
		out[i].mask = mask[out[i].slot]
	}
	for _, s := range touched {
		acc[s], mask[s] = 0, 0
	}
	x.touched = touched
	return out
}

// vectorBlock is how many rows one goroutine scores at a time.
const vectorBlock = 16384

// vector returns the n nearest chunks to q by cosine similarity (a dot
// product: the Embedder returns unit vectors). Exact: every row is scored,
// as one matrix-vector product (gonum's BLAS, SSE assembly on amd64, pure
// Go elsewhere) split in blocks across the CPUs, then a bounded heap.
func (x *index) vector(q []float32, n int, f filter) []ranked {
	if x.nvec == 0 || len(q) != x.dim || n <= 0 {
		return nil
	}
	rows := len(x.chunks)
	if cap(x.scores) < rows {
		x.scores = make([]float32, rows, rows+rows/4)
	}
	scores := x.scores[:rows]
	gemv := func(lo, hi int) {
		blas32.Gemv(blas.NoTrans, 1,
			blas32.General{Rows: hi - lo, Cols: x.dim, Stride: x.dim, Data: x.vecs[lo*x.dim : hi*x.dim]},
			blas32.Vector{N: x.dim, Inc: 1, Data: q}, 0,
			blas32.Vector{N: hi - lo, Inc: 1, Data: scores[lo:hi]})
	}
	if workers := min(runtime.GOMAXPROCS(0), rows/vectorBlock); workers > 1 {
		var wg sync.WaitGroup
		per := (rows + workers - 1) / workers
		for lo := 0; lo < rows; lo += per {
			wg.Go(func() { gemv(lo, min(lo+per, rows)) })
		}
		wg.Wait()
	} else {
		gemv(0, rows)
	}
	filtered := !f.empty()
	h := topK{x: x, n: n}
	for s, sc := range scores {
		if len(h.items) == n && !h.better(float64(sc), int32(s), h.items[0]) {
			continue
		}
		if !x.hasVec[s] || filtered && !f.match(&x.chunks[s]) {
			continue
		}
		h.push(int32(s), float64(sc))
	}
	return h.sorted()
}

// topK keeps the n best in a min-heap.
type topK struct {
	x     *index
	n     int
	items []ranked
}

// better orders by score, then by source and line: ties break the same
// whatever the slots (a rebuilt index numbers them differently).
func (h *topK) better(score float64, slot int32, than ranked) bool {
	if score != than.score {
		return score > than.score
	}
	a, b := &h.x.chunks[slot], &h.x.chunks[than.slot]
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Start != b.Start {
		return a.Start < b.Start
	}
	return slot < than.slot
}

func (h *topK) push(slot int32, score float64) {
	if len(h.items) < h.n {
		h.items = append(h.items, ranked{slot: slot, score: score})
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.better(h.items[p].score, h.items[p].slot, h.items[i]) {
				break
			}
			h.items[p], h.items[i] = h.items[i], h.items[p]
			i = p
		}
		return
	}
	if !h.better(score, slot, h.items[0]) {
		return
	}
	h.items[0] = ranked{slot: slot, score: score}
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h.items) && h.better(h.items[m].score, h.items[m].slot, h.items[l]) {
			m = l
		}
		if r := l + 1; r < len(h.items) && h.better(h.items[m].score, h.items[m].slot, h.items[r]) {
			m = r
		}
		if m == i {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// sorted returns the kept items, best first.
func (h *topK) sorted() []ranked {
	out := h.items
	sort.Slice(out, func(i, j int) bool { return h.better(out[i].score, out[i].slot, out[j]) })
	return out
}

// fuse merges the lexical and vector lists by weighted reciprocal rank:
// score = 1/(k + lexical rank) + vecWeight/(k + vector rank), with k in
// rankParams (rank.go says how it was chosen) and vecWeight the search's
// (SearchOptions.VectorWeight, else rankParams').
func (x *index) fuse(lex, vec []ranked, vecWeight float64) []ranked {
	scores := make(map[int32]float64, len(lex)+len(vec))
	k := float64(x.p.rrfK)
	for i, r := range lex {
		scores[r.slot] += 1 / (k + float64(i+1))
	}
	for i, r := range vec {
		scores[r.slot] += vecWeight / (k + float64(i+1))
	}
	h := topK{x: x, n: len(scores)}
	for s, v := range scores {
		h.push(s, v)
	}
	return h.sorted()
}
