package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pdfRun is text placed at x on a line; runs of one line are shown one
// after the other without a space glyph between them, as typesetters do.
type pdfRun struct {
	x    float64
	text string
}

// pagesPDF writes a PDF whose pages hold lines of Courier 12 (every glyph
// 7.2 points wide, given in /Widths): each line is a list of runs placed
// with Tm, so that a space between words exists only as a gap; a nil line
// leaves a blank line (a paragraph break). Lines are 14 points apart. A
// run whose text starts with "[" is a TJ array as written.
func pagesPDF(pages [][][]pdfRun) []byte {
	widths := strings.TrimSpace(strings.Repeat("600 ", 95))
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"", // the page tree, once the pages are numbered
		fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /Courier /FirstChar 32 /LastChar 126 /Widths [%s] >>", widths),
	}
	var kids []string
	for _, lines := range pages {
		var s strings.Builder
		s.WriteString("BT /F1 12 Tf\n")
		y := 740.0
		for _, runs := range lines {
			for _, r := range runs {
				arr := r.text
				if !strings.HasPrefix(arr, "[") {
					arr = "[(" + arr + ")]"
				}
				fmt.Fprintf(&s, "1 0 0 1 %.1f %.1f Tm %s TJ\n", r.x, y, arr)
			}
			y -= 14
		}
		s.WriteString("ET")
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", s.Len(), s.String()))
		content := len(objs)
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", content))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	return pdfFile(objs)
}

// placed lays out words on a line from x=72, one run each, a glyph's width
// (7.2 points) apart and with no space glyph.
func placed(ws ...string) []pdfRun {
	out := make([]pdfRun, len(ws))
	x := 72.0
	for i, w := range ws {
		out[i] = pdfRun{x, w}
		x += float64(len(w)+1) * 7.2
	}
	return out
}

// leasePDF is a three-page lease whose second page has "security deposit"
// wrapped across two lines, a word hyphenated at a wrap, a word set in two
// runs with no gap, and two paragraphs.
func leasePDF() []byte {
	return pagesPDF([][][]pdfRun{
		{
			placed("Residential", "lease", "agreement"),
			nil,
			placed("The", "tenant", "rents", "the", "flat", "on", "the", "second"),
			placed("floor", "from", "the", "first", "of", "March."),
		},
		{
			placed("Payments"),
			nil,
			placed("Before", "moving", "in", "the", "tenant", "pays", "a", "security"),
			placed("deposit", "of", "two", "months", "rent,", "held", "in", "an", "escrow"),
			placed("account", "and", "returned", "with", "inter-"),
			placed("est", "after", "the", "tenancy", "ends."),
			nil,
			{{72, "The"}, {72 + 4*7.2, "land"}, {72 + 8*7.2, "lord"}, {72 + 13*7.2, "signs."}},
		},
		{
			placed("Pets"),
			nil,
			placed("Cats", "are", "allowed;", "dogs", "need", "consent."),
		},
	})
}

func TestPDFPagesKeepWordsAtWrapsAndParagraphs(t *testing.T) {
	t.Parallel()
	pages, err := pdfPages(leasePDF())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	want := []string{
		"Payments",
		"",
		"Before moving in the tenant pays a security",
		"deposit of two months rent, held in an escrow",
		"account and returned with interest",
		"after the tenancy ends.",
		"",
		"The landlord signs.",
	}
	if got := pages[1]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("page 2:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPDFWordsSpacedByKerningAsTeXWritesThem(t *testing.T) {
	t.Parallel()
	// Word spaces as TJ displacements of a third of an em, no space
	// glyph; small kerns inside words; a line set in one TJ.
	pages, err := pdfPages(pagesPDF([][][]pdfRun{{
		{{72, "[(The)-333(se)15(curity)-333(de)-20(posit)-333(is)-333(held.)]"}},
		{{72, "[(Next)-333(line)]"}},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pages[0], "|"); got != "The security deposit is held.|Next line" {
		t.Errorf("got %q", got)
	}
}

func TestJoinHyphensOnlyWhenSafe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"a lowercase word split at a wrap is joined on its first line", []string{"with inter-", "est after"}, []string{"with interest", "after"}},
		{"a word the document hyphenates elsewhere keeps its hyphen", []string{"a well-known fact and a well-", "known one"}, []string{"a well-known fact and a well-known", "one"}},
		{"a capital after the break is not joined", []string{"the Franco-", "German border"}, []string{"the Franco-", "German border"}},
		{"a capital before the hyphen keeps it", []string{"the COVID-", "era rules"}, []string{"the COVID-era", "rules"}},
		{"a fragment alone on its line moves the head down", []string{"and inter-", "est."}, []string{"and", "interest."}},
		{"a paragraph break is not crossed", []string{"inter-", "", "est"}, []string{"inter-", "", "est"}},
		{"a dash between numbers stays", []string{"pages 3-", "5 apply"}, []string{"pages 3-", "5 apply"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pages := [][]string{append([]string(nil), tc.in...)}
			joinHyphens(pages)
			if strings.Join(pages[0], "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", pages[0], tc.want)
			}
		})
	}
}

func TestPDFHitsCiteTheirPage(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	p := filepath.Join(t.TempDir(), "lease.pdf")
	write(t, p, string(leasePDF()))
	if rep, err := v.Add(context.Background(), []string{p}, AddOptions{}); err != nil || rep.Added != 1 {
		t.Fatalf("Add: %+v %v", rep, err)
	}
	tests := []struct {
		query      string
		page       int
		start, end int
		has        string
	}{
		{"security deposit", 2, 3, 6, "security\ndeposit"},
		{"interest escrow", 2, 3, 6, "interest"},
		{"landlord", 2, 8, 8, "The landlord signs."},
		{"dogs consent", 3, 3, 3, "dogs need consent"},
		{"second floor", 1, 3, 4, "second\nfloor"},
	}
	for _, tc := range tests {
		hs, err := v.Search(context.Background(), tc.query, SearchOptions{K: 1, Mode: Lexical})
		if err != nil || len(hs) != 1 {
			t.Fatalf("%q: %+v %v", tc.query, hs, err)
		}
		h := hs[0]
		if h.Page != tc.page || h.StartLine != tc.start || h.EndLine != tc.end || !strings.Contains(h.Text, tc.has) {
			t.Errorf("%q: page %d lines %d-%d %q; want page %d lines %d-%d with %q", tc.query, h.Page, h.StartLine, h.EndLine, h.Text, tc.page, tc.start, tc.end, tc.has)
		}
	}
	// Units of two pages are not merged into one hit that would cite one.
	hs, err := v.Search(context.Background(), "tenant", SearchOptions{Budget: 400, Mode: Lexical})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[int]bool{}
	for _, h := range hs {
		pages[h.Page] = true
		if strings.Contains(h.Text, "flat") && strings.Contains(h.Text, "deposit") {
			t.Errorf("a hit spans pages 1 and 2: %+v", h)
		}
	}
	if !pages[1] || !pages[2] {
		t.Errorf("tenant is on pages 1 and 2; hits %+v", hs)
	}
}

// plantPagelessPDF adds the PDF at p as an older nook left it: its units
// without pages.
func plantPagelessPDF(t *testing.T, v *Vault, p string) {
	t.Helper()
	data := leasePDF()
	write(t, p, string(data))
	var embed time.Duration
	d, _, had, _, err := v.docFor(context.Background(), p, data, fmtPDF, 0, nil, &embed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Chunks {
		d.Chunks[i].Page = 0
	}
	payload, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := v.putObject(kindDoc, payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.commitDocs([]pendingDoc{{key: p, ref: ref, doc: d, new: !had}}); err != nil {
		t.Fatal(err)
	}
	if hs, err := v.Search(context.Background(), "security deposit", SearchOptions{K: 1, Mode: Lexical}); err != nil || len(hs) != 1 || hs[0].Page != 0 {
		t.Fatalf("the planted PDF: %+v %v", hs, err)
	}
}

func TestAPDFExtractedBeforePagesIsParsedAgain(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"add", "reindex"} {
		t.Run("by "+how, func(t *testing.T) {
			t.Parallel()
			v, _ := newTestVault(t)
			p := filepath.Join(t.TempDir(), "lease.pdf")
			plantPagelessPDF(t, v, p)
			var err error
			if how == "add" {
				var rep AddReport
				rep, err = v.Add(context.Background(), []string{p}, AddOptions{})
				if rep.Updated != 1 {
					t.Errorf("Add: %+v", rep)
				}
			} else {
				_, err = v.Reindex(context.Background(), ReindexOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			hs, err := v.Search(context.Background(), "security deposit", SearchOptions{K: 1, Mode: Lexical})
			if err != nil || len(hs) != 1 || hs[0].Page != 2 {
				t.Fatalf("after %s: %+v %v", how, hs, err)
			}
			if rep, err := v.Add(context.Background(), []string{p}, AddOptions{}); err != nil || rep.Unchanged != 1 {
				t.Errorf("then Add of the same PDF: %+v %v", rep, err)
			}
		})
	}
}

// FuzzPDFBlocks: any bytes give blocks or an error, never a panic; blocks
// are on a page and their lines are in order.
func FuzzPDFBlocks(f *testing.F) {
	f.Add(leasePDF())
	f.Add(minimalPDF("the platypus document"))
	f.Add(pagesPDF([][][]pdfRun{{placed("a", "b-"), placed("c"), nil, {{300, "d"}, {72, "e"}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		bs, err := pdfBlocks(b)
		if err != nil {
			return
		}
		for _, x := range bs {
			if x.page < 1 || x.start < 1 || x.end < x.start {
				t.Fatalf("block %+v", x)
			}
		}
	})
}
