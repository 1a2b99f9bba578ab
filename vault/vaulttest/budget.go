package vaulttest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// Recall within a token budget: how much of the evidence that answers a
// question lies inside the first N tokens of text a retriever returns.

// Budgets are the budgets, in tokens, that retrieval quality is reported at.
var Budgets = []int{128, 256, 512, 1024, 2048}

// Span is a line range of a corpus file (1-based, inclusive); End 0 means
// the whole file.
type Span struct {
	File       string // base name
	Start, End int
}

// Evidence is one piece of evidence: any of its spans counts (the same
// fact written in two places).
type Evidence []Span

// BudgetQuestion is a question and the evidence that answers it.
type BudgetQuestion struct {
	Text     string
	Evidence []Evidence
}

// LoadEvidence reads "EVIDENCE<TAB>QUESTION" lines. EVIDENCE is pieces
// joined by " & ", each piece alternatives joined by " OR ", each alternative
// FILE:NEEDLE, where NEEDLE must occur on exactly one line of FILE in
// corpus (that line is the evidence), or FILE alone (any line of it is).
func LoadEvidence(tb testing.TB, path, corpus string) []BudgetQuestion {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	lines := map[string][]string{}
	fileLines := func(name string) []string {
		if l, ok := lines[name]; ok {
			return l
		}
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		lines[name] = strings.Split(string(b), "\n")
		return lines[name]
	}
	var qs []BudgetQuestion
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		ev, text, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		q := BudgetQuestion{Text: text}
		for _, piece := range strings.Split(ev, " & ") {
			var e Evidence
			for _, alt := range strings.Split(piece, " OR ") {
				file, needle, ok := strings.Cut(alt, ":")
				if !ok {
					fileLines(file) // it must exist
					e = append(e, Span{File: file})
					continue
				}
				at := 0
				for i, l := range fileLines(file) {
					if strings.Contains(l, needle) {
						if at != 0 {
							tb.Fatalf("%s:%d: %q occurs on lines %d and %d of %s", path, n, needle, at, i+1, file)
						}
						at = i + 1
					}
				}
				if at == 0 {
					tb.Fatalf("%s:%d: %q is not in %s", path, n, needle, file)
				}
				e = append(e, Span{file, at, at})
			}
			q.Evidence = append(q.Evidence, e)
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return qs
}

// Passage is retrieved text: where it comes from and what it says.
type Passage struct {
	File       string // path or base name
	Start, End int
	Text       string
}

// Found counts the evidence pieces of q that lie in the first budget
// tokens of ps (in order; tokens counted with count). A passage that
// crosses the budget counts for its share that fits: its first lines in
// proportion to the tokens left.
func Found(q BudgetQuestion, ps []Passage, budget int, count func(string) int) int {
	type seen struct {
		file       string
		start, end int
	}
	var got []seen
	left := budget
	for _, p := range ps {
		if left <= 0 {
			break
		}
		n := count(p.Text)
		end := p.End
		if n > left {
			lines := p.End - p.Start + 1
			end = p.Start + int(math.Floor(float64(lines)*float64(left)/float64(n))) - 1
		}
		left -= n
		if end >= p.Start {
			got = append(got, seen{filepath.Base(p.File), p.Start, end})
		}
	}
	found := 0
	for _, e := range q.Evidence {
	alts:
		for _, sp := range e {
			for _, g := range got {
				if g.file == sp.File && (sp.End == 0 || g.start <= sp.End && sp.Start <= g.end) {
					found++
					break alts
				}
			}
		}
	}
	return found
}

// Recall is the share of all evidence pieces found within budget, with
// search returning each question's passages; it also returns the questions
// that missed some.
func Recall(qs []BudgetQuestion, budget int, count func(string) int, search func(q string) []Passage) (float64, []string) {
	found, total := 0, 0
	var missed []string
	for _, q := range qs {
		f := Found(q, search(q.Text), budget, count)
		found += f
		total += len(q.Evidence)
		if f < len(q.Evidence) {
			missed = append(missed, q.Text)
		}
	}
	return float64(found) / float64(max(total, 1)), missed
}

// Paragraphs is the baseline: plain BM25 (k1 1.2, b 0.75; lowercase words
// and numbers, no stemming, no stop words, no titles or headings) over
// single paragraphs of a corpus, where a paragraph is a run of lines
// between blank lines and each line of a chat transcript ("Name: …",
// "[time] Name: …", "date, time - Name: …") is a paragraph of its own.
type Paragraphs struct {
	paras []Passage
	terms []map[string]int
	lens  []int
	df    map[string]int
	avg   float64
}

var chatLine = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*|[\d/.,: ]+-\s*)?(?:\*\*)?[A-Z][\w.' ]{0,30}(?:\*\*)?:`)

// NewParagraphs reads the files of folder corpus.
func NewParagraphs(tb testing.TB, corpus string) *Paragraphs {
	tb.Helper()
	ents, err := os.ReadDir(corpus)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Paragraphs{df: map[string]int{}}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(corpus, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		var cur []string
		start := 0
		flush := func(end int) {
			if len(cur) > 0 {
				p.add(Passage{e.Name(), start, end, strings.Join(cur, "\n")})
			}
			cur = nil
		}
		for i, l := range strings.Split(string(b), "\n") {
			n := i + 1
			switch {
			case strings.TrimSpace(l) == "":
				flush(n - 1)
				continue
			case chatLine.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "|"):
				flush(n - 1)
			}
			if len(cur) == 0 {
				start = n
			}
			cur = append(cur, l)
		}
		flush(strings.Count(string(b), "\n") + 1)
	}
	total := 0
	for _, n := range p.lens {
		total += n
	}
	p.avg = float64(total) / float64(max(len(p.lens), 1))
	return p
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (p *Paragraphs) add(ps Passage) {
	tf := map[string]int{}
	ws := words(ps.Text)
	for _, w := range ws {
		if tf[w] == 0 {
			p.df[w]++
		}
		tf[w]++
	}
	p.paras = append(p.paras, ps)
	p.terms = append(p.terms, tf)
	p.lens = append(p.lens, len(ws))
}

// All returns the paragraphs in corpus order.
func (p *Paragraphs) All() []Passage { return p.paras }

// Search returns every paragraph that shares a word with query, best first.
func (p *Paragraphs) Search(query string) []Passage {
	const k1, b = 1.2, 0.75
	n := float64(len(p.paras))
	scores := make([]float64, len(p.paras))
	seen := map[string]bool{}
	for _, w := range words(query) {
		if seen[w] || p.df[w] == 0 {
			continue
		}
		seen[w] = true
		df := float64(p.df[w])
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for i, tf := range p.terms {
			if f := float64(tf[w]); f > 0 {
				scores[i] += idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(p.lens[i])/p.avg))
			}
		}
	}
	var idx []int
	for i, s := range scores {
		if s > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	out := make([]Passage, len(idx))
	for i, j := range idx {
		out[i] = p.paras[j]
	}
	return out
}

// Row is one line of a budget table: a retriever's recall at each of
// Budgets.
type Row struct {
	Name   string
	Recall []float64
}

// PrintTable writes rows as a Markdown table headed by Budgets.
func PrintTable(w io.Writer, title string, rows []Row) {
	fmt.Fprintf(w, "%s\n\n| retriever |", title)
	for _, b := range Budgets {
		fmt.Fprintf(w, " %d |", b)
	}
	fmt.Fprint(w, "\n|---|")
	for range Budgets {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |", r.Name)
		for _, v := range r.Recall {
			fmt.Fprintf(w, " %.3f |", v)
		}
		fmt.Fprintln(w)
	}
}

// Retriever is a named search that returns passages for a question within
// a budget of tokens.
type Retriever struct {
	Name   string
	Search func(q string, budget int) []Passage
}

// Table measures each retriever's recall at every one of Budgets.
func Table(qs []BudgetQuestion, rs []Retriever, count func(string) int) []Row {
	rows := make([]Row, len(rs))
	for i, r := range rs {
		rows[i].Name = r.Name
		for _, b := range Budgets {
			rec, _ := Recall(qs, b, count, func(q string) []Passage { return r.Search(q, b) })
			rows[i].Recall = append(rows[i].Recall, rec)
		}
	}
	return rows
}

// Baseline is the Paragraphs retriever of corpus as a Retriever.
func Baseline(tb testing.TB, corpus string) Retriever {
	p := NewParagraphs(tb, corpus)
	return Retriever{Name: "BM25, single paragraphs", Search: func(q string, _ int) []Passage { return p.Search(q) }}
}

// Corpus is one of the retrieval corpora in vault/testdata.
type Corpus struct {
	Name      string
	Dir       string // the files
	Questions string // EVIDENCE<TAB>QUESTION lines (LoadEvidence)
}

// Corpora are the retrieval corpora under testdata (vault/testdata):
// conversations (chats, a journal, meeting notes, transcripts) and notes.
func Corpora(testdata string) []Corpus {
	return []Corpus{
		{"conversations", filepath.Join(testdata, "conversations"), filepath.Join(testdata, "conversations.tsv")},
		{"notes", filepath.Join(testdata, "corpus"), filepath.Join(testdata, "questions.tsv")},
	}
}

// Load reads the corpus's questions.
func (c Corpus) Load(tb testing.TB) []BudgetQuestion { return LoadEvidence(tb, c.Questions, c.Dir) }

// Hits adapts a search that returns hits of some type to a Retriever;
// passage says where a hit comes from and what it says.
func Hits[H any](tb testing.TB, name string, search func(q string, budget int) ([]H, error), passage func(H) Passage) Retriever {
	return Retriever{Name: name, Search: func(q string, budget int) []Passage {
		hs, err := search(q, budget)
		if err != nil {
			tb.Fatal(err)
		}
		ps := make([]Passage, len(hs))
		for i, h := range hs {
			ps[i] = passage(h)
		}
		return ps
	}}
}
