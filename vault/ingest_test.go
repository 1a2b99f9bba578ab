package vault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIngestLifecycle(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	ctx := context.Background()
	notes := filepath.Join(t.TempDir(), "n")
	write(t, filepath.Join(notes, "a.md"), "# A\n\nalpha apples\n")
	write(t, filepath.Join(notes, "b.txt"), "bravo bananas\n")
	write(t, filepath.Join(notes, "build", "gen.md"), "generated garbage\n")
	write(t, filepath.Join(notes, ".git", "config"), "hidden\n")
	write(t, filepath.Join(notes, "big.md"), strings.Repeat("huge ", 400))
	write(t, filepath.Join(notes, ".gitignore"), "build/\n")
	write(t, filepath.Join(notes, "image.png"), "\x89PNG\x00\x00")
	steps := []struct {
		name string
		do   func()
		want AddReport
	}{
		{"a first add ingests supported files and skips excluded and large ones", func() {}, AddReport{Added: 2, Skipped: 2}},
		{"an unchanged folder is skipped by content hash", func() {}, AddReport{Unchanged: 2, Skipped: 2}},
		{"a changed file is re-indexed", func() { write(t, filepath.Join(notes, "a.md"), "# A\n\nalpha apricots\n") }, AddReport{Updated: 1, Unchanged: 1, Skipped: 2}},
		{"a deleted file is removed", func() { os.Remove(filepath.Join(notes, "b.txt")) }, AddReport{Unchanged: 1, Removed: 1, Skipped: 2}},
	}
	for _, s := range steps {
		s.do()
		rep, err := v.Add(ctx, []string{notes}, AddOptions{MaxFileSize: 1000})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := AddReport{Added: rep.Added, Updated: rep.Updated, Unchanged: rep.Unchanged, Removed: rep.Removed, Skipped: rep.Skipped}
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("%s: report %+v, want %+v", s.name, got, s.want)
		}
	}
	for q, want := range map[string]int{"apricots": 1, "apples": 0, "bananas": 0, "garbage": 0} {
		hs, _ := v.Search(ctx, q, SearchOptions{Mode: Lexical})
		if len(hs) != want {
			t.Errorf("search %q: %d hits, want %d", q, len(hs), want)
		}
	}
	v.Close()
	w := reopen(t, dir)
	if rep, _ := w.Add(ctx, []string{notes}, AddOptions{MaxFileSize: 1000}); rep.Unchanged != 1 || rep.Added+rep.Updated != 0 {
		t.Errorf("after reopen: %+v", rep)
	}
}

func TestUnitsOfEachFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		body   string
		query  string
		start  int
		end    int
		header string
	}{
		{"markdown keeps headings and line ranges", "n.md", "# Top\n\nintro line\n\n## Sub\n\nthe zebra paragraph\nsecond line\n", "zebra", 5, 8, "Top > Sub"},
		{"markdown code fences stay whole", "c.md", "# Code\n\n```go\nfunc quokka() {\n\n\treturn\n}\n```\n", "quokka", 1, 8, "Code"},
		{"org headings, and src blocks apart", "o.org", "* Garden\n** Beds\nthe walrus bed\n#+BEGIN_SRC sh\necho hi\n#+END_SRC\n", "walrus", 2, 3, "Garden > Beds"},
		{"html text with source lines", "p.html", "<html><head><title>T</title><style>.x{}</style></head>\n<body>\n<h1>Pets</h1>\n<p>the\nlemur paragraph</p>\n</body></html>\n", "lemur", 3, 5, "Pets"},
		{"source code by blank-line blocks", "m.go", "package m\n\n// Narwhal swims.\nfunc Narwhal() {}\n", "narwhal", 3, 4, ""},
		{"pdf text", "d.pdf", string(minimalPDF("the platypus document")), "platypus", 1, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, _ := newTestVault(t)
			p := filepath.Join(t.TempDir(), tc.file)
			write(t, p, tc.body)
			rep, err := v.Add(context.Background(), []string{p}, AddOptions{})
			if err != nil || rep.Added != 1 {
				t.Fatalf("Add: %+v %v", rep, err)
			}
			hs, err := v.Search(context.Background(), tc.query, SearchOptions{K: 1, Mode: Lexical})
			if err != nil || len(hs) != 1 {
				t.Fatalf("Search: %+v %v", hs, err)
			}
			h := hs[0]
			if h.StartLine != tc.start || h.EndLine != tc.end || h.Heading != tc.header {
				t.Errorf("hit %d-%d %q, want %d-%d %q (text %q)", h.StartLine, h.EndLine, h.Heading, tc.start, tc.end, tc.header, h.Text)
			}
		})
	}
}

// minimalPDF writes a one-page PDF showing text in Helvetica.
func minimalPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	return pdfFile(objs)
}

// pdfFile lays out objs (object 1 the catalog) as a PDF file with its
// cross-reference table.
func pdfFile(objs []string) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}
