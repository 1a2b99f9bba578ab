package vault

import (
	"math"
	"path/filepath"
	"sort"
	"strings"
)

// rankParams are the knobs of lexical ranking, fusion, diversity and
// widening. defaultParams holds the values chosen on the two retrieval
// corpora (vault/testdata: notes and conversations) with the measurement
// in the comment beside each; BenchmarkRetrievalGrid reprints it.
type rankParams struct {
	// BM25F-style field weights, in 1/tfScale of an occurrence in the
	// unit's own text: the file's title, the headings above the unit, a
	// list's lead-in or a table's header, and the date in force.
	title, heading, lead, date uint16
	k1, b                      float64
	// proximity adds prox·min(idf) / distance for each pair of query terms
	// that are next to each other in the query and at most proxWindow words
	// apart in the unit.
	prox       float64
	proxWindow int
	// Weighted reciprocal-rank fusion: 1/(rrfK+rank) + vecWeight/(rrfK+rank).
	rrfK      int
	vecWeight float64
	// MMR: value = mmrLambda·relevance − (1−mmrLambda)·redundancy, where
	// redundancy is the largest term overlap (Jaccard) with a unit already
	// chosen.
	mmrLambda float64
	// Widening: the unit after a chosen one is worth widenDecay of it, the
	// unit before widenDecay·widenBack (a reply follows what it answers).
	widenDecay, widenBack float64
}

// tfScale is how many postings tf units one occurrence in a unit's own
// text counts for.
const tfScale = 2

// defaultParams were chosen with BenchmarkRetrievalParams (docs/retrieval.md
// has the sweep): the objective is mean recall over the five budgets, fused
// and lexical, both corpora. Clear effects: a small k1 (0.9) and b (0.3),
// since units are short; rrfK 2 (lexical rank 1 must stay first: 60 loses
// 0.06 of recall within 256 tokens on conversations); widening, forward
// 0.75 and backward 0.5 of that (0 loses 0.13 within 256, 0.12 within
// 512); headings weighted like text (0 loses 0.07 on the notes, lexical);
// dates 1.5× text; vector weight 0.1 (best with the HashEmbedder by a
// hair, and stories260K's vectors cost 0.04 of recall within 128 tokens at
// 0.25: the CI embedders are weak, a real embedding model deserves more).
// Flat within a question or two, so kept at values that read sensibly:
// title 3×, lead 0.5×, proximity 0.5 over 3 words, MMR λ 0.9 (exact
// copies are deferred whatever λ).
var defaultParams = rankParams{
	title: 6, heading: 2, lead: 1, date: 3,
	k1: 0.9, b: 0.3,
	prox: 0.5, proxWindow: 3,
	rrfK: 2, vecWeight: DefaultVectorWeight,
	mmrLambda:  0.9,
	widenDecay: 0.75, widenBack: 0.5,
}

// titleOf is the title field of a unit: its file's name without extension.
func titleOf(source string) string {
	return strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
}

// unitTF fills x.tf with the unit's field-weighted term frequencies and
// x.inText with the terms of its own text, and returns its BM25 length
// (the terms of its own text).
func (x *index) unitTF(c *idxChunk) int {
	if x.tf == nil {
		x.tf, x.inText = map[string]uint16{}, map[string]bool{}
	}
	clear(x.tf)
	clear(x.inText)
	n := 0
	add := func(s string, w uint16, text bool) {
		if w == 0 {
			return // a field weighted out makes no postings
		}
		analyze(s, func(t string, _ int) {
			x.tf[t] = uint16(min(int(x.tf[t])+int(w), math.MaxUint16))
			if text {
				x.inText[t] = true
				n++
			}
		})
	}
	add(titleOf(c.Source), x.p.title, false)
	add(c.Heading, x.p.heading, false)
	add(c.Lead, x.p.lead, false)
	if c.Date != "" {
		add(dateWords(c.Date), x.p.date, false)
	}
	add(c.Text, tfScale, true)
	return n
}

// idf is BM25's inverse document frequency of a term, counted over the
// units' own texts: a heading or title shared by every unit of a long
// section would otherwise make its words look common and weaken them in
// the text too.
func (x *index) idf(id int32) float64 {
	df := float64(x.dfb[id])
	return math.Log(1 + (float64(x.alive)-df+0.5)/(df+0.5))
}

// What a unit's vector is made from. Every token of context is embedded
// again for each unit under it, and embedding is most of what Add costs,
// so a unit is embedded with a short prefix only: the file's title and
// the innermost heading, together at most embedContextWords words (each
// cut at its end; the title keeps at least a third), the date, and the first
// embedLeadWords words of its lead (a table's header row, a list's
// lead-in). The whole heading path and the lead are scored as fields by
// lexical ranking, and neighbours join a hit by widening; neither needs
// to be in the vector.
const (
	embedContextWords = 12
	embedLeadWords    = 12
)

// unitContext is what a unit is embedded with: the short context above,
// then its text.
func unitContext(source string, c *Chunk) string {
	var b strings.Builder
	title, heading := titleOf(source), c.Heading
	if i := strings.LastIndex(heading, " > "); i >= 0 {
		heading = heading[i+len(" > "):]
	}
	if strings.EqualFold(strings.TrimSpace(heading), strings.TrimSpace(title)) {
		heading = ""
	}
	tw, hw := strings.Fields(title), strings.Fields(heading)
	if len(tw)+len(hw) > embedContextWords {
		keep := min(len(tw), max(embedContextWords/3, embedContextWords-len(hw)))
		tw = tw[:keep]
		hw = hw[:min(len(hw), embedContextWords-keep)]
	}
	b.WriteString(strings.Join(tw, " "))
	if len(hw) > 0 {
		b.WriteString(" > ")
		b.WriteString(strings.Join(hw, " "))
	}
	if c.Date != "" {
		b.WriteString(" (")
		b.WriteString(dateWords(c.Date))
		b.WriteString(")")
	}
	b.WriteString("\n")
	if lead := strings.Fields(c.Lead); len(lead) > 0 {
		b.WriteString(strings.Join(lead[:min(len(lead), embedLeadWords)], " "))
		b.WriteString("\n")
	}
	b.WriteString(c.Text)
	return b.String()
}

// embedText is what the Embedder is given for a unit or a query: the text
// with every run of white space (new lines, indentation, Markdown breaks)
// made one space, the long-standing advice for sentence embedders (layout
// is noise to them), so a unit and a question are embedded alike.
func embedText(s string) string { return strings.Join(strings.Fields(s), " ") }

// proxDepth is how far down the lexical list proximity looks: it reorders
// the head of the list, where the budget is spent.
const proxDepth = 16

// proximity re-scores the lexical list: each of its first proxDepth units
// gains, for every pair of query terms adjacent in the query that occur
// close together in the unit (its headings or its text),
// prox·min(idf)/distance. It returns the list re-sorted.
func (x *index) proximity(list []ranked, qterms []string) []ranked {
	if x.p.prox == 0 || len(qterms) < 2 || len(list) < 2 {
		return list
	}
	idf := make([]float64, len(qterms))
	known := 0
	for i, t := range qterms {
		if id, ok := x.terms[t]; ok && x.df[id] > 0 {
			idf[i] = x.idf(id)
			known++
		}
	}
	if known < 2 {
		return list
	}
	// Snowball changes only the ends of words, so a word can stem to a
	// query term only if it starts as the term does: the others are not
	// stemmed at all.
	keep := func(w []byte) bool {
		for _, q := range qterms {
			k := min(len(q), 3)
			if len(w) >= k && string(w[:k]) == q[:k] {
				return true
			}
		}
		return false
	}
	pos := make([][]int, len(qterms))
	for i := range list[:min(len(list), proxDepth)] {
		if list[i].mask&(list[i].mask>>1) == 0 {
			continue // no two terms adjacent in the query are both in it
		}
		c := &x.chunks[list[i].slot]
		for j := range pos {
			pos[j] = pos[j][:0]
		}
		collect := func(s string, base int) {
			analyzeIf(s, keep, func(t string, p int) {
				for j, q := range qterms {
					if q == t {
						pos[j] = append(pos[j], base+p)
					}
				}
			})
		}
		collect(c.Heading, 0)
		collect(c.Text, 1<<20) // no pair spans the heading and the text
		bonus := 0.0
		for j := 0; j+1 < len(qterms); j++ {
			if d := minDistance(pos[j], pos[j+1]); d <= x.p.proxWindow {
				bonus += x.p.prox * min(idf[j], idf[j+1]) / float64(d)
			}
		}
		list[i].score += bonus
	}
	h := topK{x: x}
	sort.SliceStable(list, func(i, j int) bool { return h.better(list[i].score, list[i].slot, list[j]) })
	return list
}

// minDistance is the least |a−b| over two ascending position lists
// (math.MaxInt when either is empty).
func minDistance(a, b []int) int {
	best := math.MaxInt
	for i, j := 0, 0; i < len(a) && j < len(b); {
		d := a[i] - b[j]
		if d < 0 {
			d = -d
			i++
		} else {
			j++
		}
		if d > 0 && d < best {
			best = d
		}
	}
	return best
}
