package vault

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
	"unsafe"
)

// The index section of the snapshot, so that unlock reads the index instead
// of rebuilding it (uvarints unless said; strings are uvarint length then
// bytes; the index is compact, so slots are 0…units-1). After a header
// come the unit count and the byte lengths of the vectors and postings
// parts, which come last, so the three parts decode in parallel:
//
//	header    0x00 0xFF, format (4), analyzer version
//	sizes     units, vectors part length, postings part length
//	strings   count, then each string (sources, tags, headings, leads,
//	          speakers and dates, referred to by number)
//	docs      count, then key, ref, slot count, slots; by key
//	units     count, then source#, start, end, page, kind, heading#,
//	          lead#, speaker#, date#, text, tag count, tag#s, length,
//	          tokens (format 3 has no page: its units have page 0)
//	vectors   dim, a bitmap of the units that have one (ceil(units/8) bytes),
//	          then dim float32 LE per unit that has one
//	postings  count, then term, df, df in the units' own text, posting
//	          count, (slot delta, tf) pairs; by term
//
// Encoding is deterministic (testdata/index holds vectors). A section
// whose analyzer version is not analyzerVersion keeps its units and
// vectors and has its postings rebuilt from the unit texts. The format
// before units (the snapshot's "nook-index/2", no header: it starts with
// the sizes) is read too: its chunks become units of kind 0, their
// postings rebuilt the same way.

const indexFormat = 4

var indexHeader = []byte{0x00, 0xFF}

func encodeIndex(x *index) []byte {
	x.compact()
	// The three parts are independent: the units (with the string table
	// and docs), the vectors and the postings are built at once (a first
	// sync's snapshot is tens of MB, written before the sync reports).
	var vecPart, post []byte
	var wg sync.WaitGroup
	wg.Go(func() { vecPart = encodeVectors(x) })
	wg.Go(func() { post = encodePostings(x) })
	main := encodeUnits(x)
	wg.Wait()
	out := make([]byte, 0, len(indexHeader)+6*binary.MaxVarintLen64+len(main)+len(vecPart)+len(post))
	out = append(out, indexHeader...)
	out = binary.AppendUvarint(out, indexFormat)
	out = binary.AppendUvarint(out, analyzerVersion)
	out = binary.AppendUvarint(out, uint64(len(x.chunks)))
	out = binary.AppendUvarint(out, uint64(len(vecPart)))
	out = binary.AppendUvarint(out, uint64(len(post)))
	out = append(out, main...)
	out = append(out, vecPart...)
	return append(out, post...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeUnits is the strings, docs and units parts.
func encodeUnits(x *index) []byte {
	ids := map[string]uint64{}
	var table []string
	intern := func(s string) {
		if _, ok := ids[s]; !ok {
			ids[s] = uint64(len(table))
			table = append(table, s)
		}
	}
	size := 64
	for i := range x.chunks {
		c := &x.chunks[i]
		intern(c.Source)
		intern(c.Heading)
		intern(c.Lead)
		intern(c.Speaker)
		intern(c.Date)
		for _, t := range c.Tags {
			intern(t)
		}
		size += len(c.Text) + 20
	}
	for _, s := range table {
		size += len(s) + binary.MaxVarintLen32
	}
	for k, d := range x.docs {
		size += len(k) + len(d.Ref) + 2*binary.MaxVarintLen32 + len(d.Slots)*binary.MaxVarintLen32
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(table)))
	for _, s := range table {
		b = appendString(b, s)
	}
	keys := make([]string, 0, len(x.docs))
	for k := range x.docs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		d := x.docs[k]
		b = appendString(b, k)
		b = appendString(b, d.Ref)
		b = binary.AppendUvarint(b, uint64(len(d.Slots)))
		for _, s := range d.Slots {
			b = binary.AppendUvarint(b, uint64(s))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(x.chunks)))
	for i := range x.chunks {
		c := &x.chunks[i]
		b = binary.AppendUvarint(b, ids[c.Source])
		b = binary.AppendUvarint(b, uint64(c.Start))
		b = binary.AppendUvarint(b, uint64(c.End))
		b = binary.AppendUvarint(b, uint64(c.Page))
		b = binary.AppendUvarint(b, uint64(c.Kind))
		b = binary.AppendUvarint(b, ids[c.Heading])
		b = binary.AppendUvarint(b, ids[c.Lead])
		b = binary.AppendUvarint(b, ids[c.Speaker])
		b = binary.AppendUvarint(b, ids[c.Date])
		b = appendString(b, c.Text)
		b = binary.AppendUvarint(b, uint64(len(c.Tags)))
		for _, t := range c.Tags {
			b = binary.AppendUvarint(b, ids[t])
		}
		b = binary.AppendUvarint(b, uint64(c.Len))
		b = binary.AppendUvarint(b, uint64(c.Tokens))
	}
	return b
}

// encodeVectors is the vectors part.
func encodeVectors(x *index) []byte {
	b := make([]byte, 0, 4*len(x.vecs)+len(x.chunks)/8+16)
	b = binary.AppendUvarint(b, uint64(x.dim))
	bits := make([]byte, (len(x.chunks)+7)/8)
	for s, ok := range x.hasVec {
		if ok {
			bits[s/8] |= 1 << (s % 8)
		}
	}
	b = append(b, bits...)
	for s := 0; s < len(x.hasVec); {
		if !x.hasVec[s] {
			s++
			continue
		}
		e := s + 1
		for e < len(x.hasVec) && x.hasVec[e] {
			e++
		}
		b = appendFloats(b, x.vecs[s*x.dim:e*x.dim])
		s = e
	}
	return b
}

// encodePostings is the postings part.
func encodePostings(x *index) []byte {
	terms := make([]string, 0, len(x.terms))
	size := 64
	for t, id := range x.terms {
		terms = append(terms, t)
		size += len(t) + 3*binary.MaxVarintLen32 + 3*len(x.post[id])
	}
	slices.Sort(terms)
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, t := range terms {
		id := x.terms[t]
		b = appendString(b, t)
		b = binary.AppendUvarint(b, uint64(x.df[id]))
		b = binary.AppendUvarint(b, uint64(x.dfb[id]))
		ps := x.post[id]
		b = binary.AppendUvarint(b, uint64(len(ps)))
		prev := int32(0)
		for _, p := range ps {
			b = binary.AppendUvarint(b, uint64(p.slot-prev))
			b = binary.AppendUvarint(b, uint64(p.tf))
			prev = p.slot
		}
	}
	return b
}

// decoder reads the format above; the first problem sticks.
type decoder struct {
	b   []byte
	err error
}

var errIndexFormat = errors.New("bad index section")

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errIndexFormat
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items that take at least min bytes each.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.err = errIndexFormat
		return 0
	}
	return int(n)
}

// below reads a number that must be less than n.
func (d *decoder) below(n int) int {
	v := d.uvarint()
	if v >= uint64(n) {
		d.err = errIndexFormat
		return 0
	}
	return int(v)
}

// pick reads the number of an entry of table.
func (d *decoder) pick(table []string) string {
	i := d.below(len(table))
	if d.err != nil {
		return ""
	}
	return table[i]
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errIndexFormat
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) str() string { return string(d.bytes(d.count(1))) }

func decodeIndex(b []byte) (*index, error) {
	d := &decoder{b: b}
	legacy, analyzer, format := true, uint64(0), uint64(2)
	if bytes.HasPrefix(b, indexHeader) {
		d.b = d.b[len(indexHeader):]
		if format = d.uvarint(); format != indexFormat && format != 3 {
			return nil, errIndexFormat
		}
		legacy, analyzer = false, d.uvarint()
	}
	nchunks, nvec, npost := d.uvarint(), d.uvarint(), d.uvarint()
	if d.err != nil || nvec > uint64(len(d.b)) || npost > uint64(len(d.b))-nvec || nchunks > uint64(len(d.b)) {
		return nil, errIndexFormat
	}
	rest := len(d.b) - int(nvec) - int(npost)
	mainPart := &decoder{b: d.b[:rest]}
	vecPart := &decoder{b: d.b[rest : rest+int(nvec)]}
	postPart := &decoder{b: d.b[rest+int(nvec):]}
	x := newIndex()
	n := int(nchunks)
	if uint64(n)*7 > uint64(len(mainPart.b)) {
		return nil, errIndexFormat
	}
	reanalyze := legacy || analyzer != analyzerVersion
	var wg sync.WaitGroup
	var vecErr, postErr error
	wg.Go(func() { vecErr = x.decodeVectors(vecPart, n, len(b)) })
	if !reanalyze {
		wg.Go(func() { postErr = x.decodePostings(postPart, n) })
	}
	err := x.decodeChunks(mainPart, n, format)
	wg.Wait()
	if err = cmp.Or(err, vecErr, postErr); err != nil {
		return nil, err
	}
	if reanalyze {
		x.reanalyze()
	}
	return x, nil
}

// reanalyze rebuilds the postings and token counts from the units (a
// snapshot of another analyzer version).
func (x *index) reanalyze() {
	x.terms, x.post, x.df, x.dfb = map[string]int32{}, nil, nil, nil
	x.alive, x.totalLen = 0, 0
	for s := range x.chunks {
		x.chunks[s].Tokens = int32(min(EstimateTokens(x.chunks[s].Text), math.MaxInt32))
		x.addPostings(int32(s))
	}
}

// decodeChunks reads the strings, docs and units of format 2 (before
// units), 3 (before pages) or 4.
func (x *index) decodeChunks(d *decoder, n int, format uint64) error {
	legacy := format == 2
	table := make([]string, d.count(1))
	for i := range table {
		table[i] = d.str()
	}
	type rawDoc struct {
		key string
		doc *idxDoc
	}
	docs := make([]rawDoc, d.count(3))
	for i := range docs {
		key, ref := d.str(), d.str()
		slots := make([]int32, d.count(1))
		for j := range slots {
			slots[j] = int32(d.below(n))
		}
		docs[i] = rawDoc{key, &idxDoc{Ref: ref, Slots: slots}}
	}
	if d.count(7) != n {
		return errIndexFormat
	}
	x.chunks = make([]idxChunk, n)
	for i := range x.chunks {
		c := &x.chunks[i]
		c.Source = d.pick(table)
		c.Start = int(min(d.uvarint(), math.MaxInt32))
		c.End = int(min(d.uvarint(), math.MaxInt32))
		if format >= 4 {
			c.Page = int32(min(d.uvarint(), math.MaxInt32))
		}
		if legacy {
			c.Heading = d.str()
		} else {
			c.Kind = uint8(d.below(len(kinds)))
			c.Heading = d.pick(table)
			c.Lead = d.pick(table)
			c.Speaker = d.pick(table)
			c.Date = d.pick(table)
		}
		c.Text = d.str()
		if k := d.count(1); k > 0 {
			c.Tags = make([]string, k)
			for j := range c.Tags {
				c.Tags[j] = d.pick(table)
			}
		}
		c.Len = int32(min(d.uvarint(), math.MaxInt32))
		if !legacy {
			c.Tokens = int32(min(d.uvarint(), math.MaxInt32)) // legacy: reanalyze counts them
		}
		if d.err != nil {
			return d.err
		}
		if c.Source == "" {
			return errIndexFormat
		}
		x.totalLen += int64(c.Len)
	}
	if d.err != nil || len(d.b) != 0 {
		return errIndexFormat
	}
	x.alive = n
	x.docs = make(map[string]*idxDoc, len(docs))
	for _, rd := range docs {
		x.docs[rd.key] = rd.doc
	}
	return nil
}

// decodeVectors reads the vectors part; total (the snapshot's size) bounds
// the memory it may take.
func (x *index) decodeVectors(d *decoder, n, total int) error {
	dim := int(min(d.uvarint(), 1<<16))
	bits := d.bytes((n + 7) / 8)
	if d.err != nil {
		return d.err
	}
	if uint64(n)*uint64(dim)*4 > 256*uint64(total) {
		return errIndexFormat // more memory than any snapshot of this size needs
	}
	x.dim = dim
	x.hasVec = make([]bool, n)
	for s := range x.hasVec {
		if bits[s/8]&(1<<(s%8)) != 0 {
			x.hasVec[s] = true
			x.nvec++
		}
	}
	if x.nvec > 0 && (dim == 0 || x.nvec*4*dim != len(d.b)) || x.nvec == 0 && len(d.b) != 0 {
		return errIndexFormat
	}
	x.vecs = make([]float32, n*dim)
	for s, ok := range x.hasVec {
		if ok {
			raw := d.bytes(4 * dim)
			row := x.vecs[s*dim : (s+1)*dim]
			for j := range row {
				row[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		}
	}
	return nil
}

func (x *index) decodePostings(d *decoder, n int) error {
	nterms := d.count(4)
	terms := make(map[string]int32, nterms)
	x.post = make([][]posting, nterms)
	x.df = make([]int32, nterms)
	x.dfb = make([]int32, nterms)
	for id := range nterms {
		t := d.str()
		x.df[id] = int32(d.below(n + 1))
		x.dfb[id] = int32(d.below(int(x.df[id]) + 1))
		ps := make([]posting, d.count(2))
		slot := uint64(0)
		for j := range ps {
			slot += d.uvarint()
			if slot >= uint64(n) {
				return errIndexFormat
			}
			ps[j] = posting{int32(slot), uint16(min(d.uvarint(), math.MaxUint16))}
		}
		if d.err != nil {
			return d.err
		}
		terms[t] = int32(id)
		x.post[id] = ps
	}
	if d.err != nil || len(d.b) != 0 || len(terms) != nterms {
		return errIndexFormat
	}
	x.terms = terms
	return nil
}

// nativeLittle: float32s in memory are already in the snapshot's byte
// order, so appendFloats copies runs of them at once.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// appendFloats appends fs little-endian (the snapshot's vectors: tens of
// MB on a large vault, one copy instead of a call per float).
func appendFloats(b []byte, fs []float32) []byte {
	if nativeLittle && len(fs) > 0 {
		return append(b, unsafe.Slice((*byte)(unsafe.Pointer(&fs[0])), 4*len(fs))...)
	}
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}
