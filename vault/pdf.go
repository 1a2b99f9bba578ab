package vault

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// PDF text comes from the glyphs that github.com/ledongthuc/pdf places on
// each page (Page.Content: text matrix, font size and width of every
// glyph). Its GetTextByRow groups by the text matrix alone and ignores Td,
// so a page written line by line with Td came out as one line with the
// words of every wrap glued together ("securitydeposit"). Here a new line
// starts when the baseline moves, a space goes where the gap between two
// glyphs is wide, a paragraph ends where the gap between two lines is
// wider than the page's usual line spacing, and a word hyphenated at a
// line break is joined when that is safe (joinHyphens). Lines are numbered
// within their page, and every block carries its page.

// pdfGlyph is one placed glyph, in the page's coordinates.
type pdfGlyph struct {
	x, y, w, size float64
	s             string
}

// pdfLine is a line of text on a page: its baseline and font size.
type pdfLine struct {
	y, size float64
	text    string
}

// pdfPages extracts the lines of each page of a PDF; pages[i] is page i+1,
// with "" where a paragraph ends.
func pdfPages(data []byte) (pages [][]string, err error) {
	defer func() {
		if r := recover(); r != nil { // the PDF reader panics on some malformed files
			pages, err = nil, fmt.Errorf("malformed pdf: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	n := r.NumPage()
	pages = make([][]string, 0, n)
	for i := 1; i <= n; i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			pages = append(pages, nil)
			continue
		}
		content := p.Content()
		gs := make([]pdfGlyph, 0, len(content.Text))
		for _, t := range content.Text {
			// Content marks each text positioning with a "\n" glyph;
			// the glyphs' positions say where lines break.
			if t.S == "" || strings.ContainsAny(t.S, "\r\n") || !isFinite(t.X, t.Y, t.W, t.FontSize) {
				continue
			}
			gs = append(gs, pdfGlyph{x: t.X, y: t.Y, w: t.W, size: math.Abs(t.FontSize), s: t.S})
		}
		pages = append(pages, paragraphs(pdfLines(gs)))
	}
	joinHyphens(pages)
	return pages, nil
}

func isFinite(fs ...float64) bool {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// pdfLines groups glyphs, in content order, into lines: a new line when
// the baseline moves by more than a third of the font size; a space where
// the gap to the previous glyph is wider than a fifth of the font size
// (when the font gives no widths, a glyph is taken as half its size wide).
func pdfLines(gs []pdfGlyph) []pdfLine {
	var out []pdfLine
	var b strings.Builder
	var cur pdfLine
	end := 0.0 // where the previous glyph ends
	flush := func() {
		if t := strings.TrimSpace(b.String()); t != "" {
			cur.text = strings.Join(strings.Fields(t), " ")
			out = append(out, cur)
		}
		b.Reset()
	}
	for i, g := range gs {
		size := max(g.size, 1)
		w := g.w
		if w <= 0 {
			w = size / 2
		}
		// A font without widths leaves the glyphs of one string where
		// the first one is; they follow each other.
		same := g.w <= 0 && i > 0 && g.x == gs[i-1].x && g.y == gs[i-1].y
		switch {
		case i == 0 || math.Abs(g.y-cur.y) > max(size, cur.size)/3:
			flush()
			cur = pdfLine{y: g.y, size: size}
		case !same:
			gap := g.x - end
			if gap > max(size, cur.size)/5 || gap < -2*max(size, cur.size) {
				b.WriteByte(' ') // a wide gap, or a jump back along the line
			}
			cur.size = max(cur.size, size)
		}
		b.WriteString(g.s)
		if same {
			end += w
		} else {
			end = g.x + w
		}
	}
	flush()
	return out
}

// paragraphs returns a page's lines with "" between paragraphs: where the
// baseline drops by more than 1.4 times the page's usual line spacing (the
// median), or by more than 1.8 font sizes on a page with too few lines to
// tell, or goes up (a new column or a block placed out of order).
func paragraphs(ls []pdfLine) []string {
	var gaps []float64
	for i := 1; i < len(ls); i++ {
		if d := ls[i-1].y - ls[i].y; d > 0 {
			gaps = append(gaps, d)
		}
	}
	usual := 0.0
	if len(gaps) >= 3 {
		slices.Sort(gaps)
		usual = gaps[len(gaps)/2]
	}
	out := make([]string, 0, len(ls)+len(ls)/4)
	for i, l := range ls {
		if i > 0 {
			d := ls[i-1].y - l.y
			limit := 1.8 * max(l.size, ls[i-1].size)
			if usual > 0 {
				limit = 1.4 * usual
			}
			if d <= 0 || d > limit {
				out = append(out, "")
			}
		}
		out = append(out, l.text)
	}
	return out
}

// joinHyphens joins a word hyphenated at a line break within a paragraph
// ("secu-" then "rity deposit") on the line where it starts. The hyphen
// is dropped when a lowercase letter comes before it and after the break,
// unless the document spells the word with the hyphen elsewhere ("well-
// known"); it is kept when the document never has the word without it and
// does have it with one. When the word is all the line after the break
// has, it moves down instead, so that no line is left empty (which would
// end the paragraph); when both lines would be empty it stays as it is.
func joinHyphens(pages [][]string) {
	words := map[string]bool{}
	for _, ls := range pages {
		for _, l := range ls {
			for _, w := range strings.Fields(l) {
				words[strings.ToLower(strings.TrimFunc(w, isEdgePunct))] = true
			}
		}
	}
	for _, ls := range pages {
		for i := 0; i+1 < len(ls); i++ {
			a, b := ls[i], ls[i+1]
			if a == "" || b == "" || !strings.HasSuffix(a, "-") {
				continue
			}
			head := a[:len(a)-1]
			before, _ := utf8.DecodeLastRuneInString(head)
			after, _ := utf8.DecodeRuneInString(b)
			if !unicode.IsLetter(before) || !unicode.IsLower(after) {
				continue
			}
			cut := strings.IndexByte(b, ' ')
			if cut < 0 {
				cut = len(b)
			}
			frag, rest := b[:cut], strings.TrimSpace(b[cut:])
			start := strings.LastIndexByte(head, ' ') + 1
			whole := strings.TrimFunc(head[start:], isEdgePunct) + strings.TrimFunc(frag, isEdgePunct)
			hyphened := strings.TrimFunc(head[start:], isEdgePunct) + "-" + strings.TrimFunc(frag, isEdgePunct)
			join := head
			if words[strings.ToLower(hyphened)] && !words[strings.ToLower(whole)] || !unicode.IsLower(before) {
				join = a // keep the hyphen
			}
			switch {
			case rest != "":
				ls[i], ls[i+1] = join+frag, rest
			case start > 0:
				ls[i], ls[i+1] = strings.TrimSpace(head[:start]), join[start:]+frag
			}
		}
	}
}

func isEdgePunct(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }

// pdfBlocks parses a PDF into blocks, each with its page and lines
// numbered within that page.
func pdfBlocks(data []byte) ([]block, error) {
	pages, err := pdfPages(data)
	if err != nil {
		return nil, err
	}
	var out []block
	for i, ls := range pages {
		bs := structured(parseLines(strings.Join(ls, "\n"), nil, nil))
		for j := range bs {
			bs[j].page = i + 1
		}
		out = append(out, bs...)
	}
	return out, nil
}

// pagelessPDF reports whether the index holds key as a PDF extracted
// before pages were recorded (its words glued at every wrap), which Add
// and Reindex parse again even though the file has not changed.
func (x *index) pagelessPDF(key string) bool {
	d, ok := x.docs[key]
	if !ok || len(d.Slots) == 0 {
		return false
	}
	for _, s := range d.Slots {
		if x.chunks[s].Page > 0 {
			return false
		}
	}
	return true
}

// pagelessPDFDoc is pagelessPDF for a document object.
func pagelessPDFDoc(d *docObject) bool {
	if d.Format != fmtPDF || len(d.Chunks) == 0 {
		return false
	}
	for _, c := range d.Chunks {
		if c.Page > 0 {
			return false
		}
	}
	return true
}
