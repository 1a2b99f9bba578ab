package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Source formats.
const (
	fmtMarkdown = "markdown"
	fmtText     = "text"
	fmtOrg      = "org"
	fmtHTML     = "html"
	fmtPDF      = "pdf"
	fmtCode     = "code"
)

var codeExts = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`.go .py .js .mjs .ts .tsx .jsx .rs .c .h .cc .cpp .hpp .java .kt .swift .rb .php
		.cs .scala .sh .bash .zsh .fish .lua .pl .r .sql .css .scss .toml .yaml .yml .json .ini .cfg .proto .zig .nim
		.ex .exs .erl .hs .ml .clj .el .vim .tf .mk .cmake .dockerfile`) {
		codeExts[e] = true
	}
}

// formatOf picks a parser from the file name; "" means not ingested.
func formatOf(path string, head []byte) string {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".md", ".markdown", ".mdown", ".mkd":
		return fmtMarkdown
	case ".txt", ".text", ".rst", ".adoc":
		return fmtText
	case ".org":
		return fmtOrg
	case ".html", ".htm", ".xhtml":
		return fmtHTML
	case ".pdf":
		return fmtPDF
	}
	if codeExts[ext] {
		return fmtCode
	}
	base := strings.ToLower(filepath.Base(path))
	if base == "makefile" || base == "dockerfile" {
		return fmtCode
	}
	if ext == "" && looksText(head) {
		return fmtText
	}
	return ""
}

func looksText(b []byte) bool {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for i := 0; i < 4 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1] // a rune cut at the end of the sample
	}
	return utf8.Valid(b)
}

// block is a structural unit of a source: a heading, a paragraph, a code
// block, a list item, a table row or a dialog turn, with its line range
// (1-based, inclusive).
type block struct {
	kind    int // blockHeading, blockPara, ...
	level   int // heading level
	start   int
	end     int
	text    string
	lead    string // a table's header row, the line leading into a list
	speaker string // who says a dialog turn
	date    string // ISO date of a turn's timestamp
	page    int    // of a PDF, whose lines are numbered within the page
}

const (
	blockHeading = iota
	blockPara
	blockCode
	blockItem
	blockRow
	blockTurn
)

// parse turns file contents into blocks.
func parse(format string, data []byte) ([]block, error) {
	switch format {
	case fmtMarkdown:
		return structured(parseLines(string(data), mdHeading, mdFence)), nil
	case fmtOrg:
		return structured(parseLines(string(data), orgHeading, orgFence)), nil
	case fmtText:
		return structured(parseLines(string(data), nil, nil)), nil
	case fmtCode:
		bs := parseLines(string(data), nil, nil)
		for i := range bs {
			bs[i].kind = blockCode
		}
		return bs, nil
	case fmtHTML:
		return parseHTML(data)
	case fmtPDF:
		return pdfBlocks(data)
	}
	return nil, fmt.Errorf("unsupported format %q", format)
}

// structured splits the paragraphs that are lists, tables or dialogs into
// their items, rows and turns (structure.go).
func structured(bs []block) []block {
	out := make([]block, 0, len(bs))
	for _, b := range bs {
		if b.kind != blockPara {
			out = append(out, b)
			continue
		}
		out = append(out, splitStructure(b)...)
	}
	return out
}

var (
	mdHeadingRE  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	orgHeadingRE = regexp.MustCompile(`^(\*+)\s+(.*)$`)
)

func mdHeading(line string) (int, string, bool) {
	m := mdHeadingRE.FindStringSubmatch(line)
	if m == nil {
		return 0, "", false
	}
	return len(m[1]), m[2], true
}

func orgHeading(line string) (int, string, bool) {
	m := orgHeadingRE.FindStringSubmatch(line)
	if m == nil {
		return 0, "", false
	}
	return len(m[1]), m[2], true
}

// fence reports whether line opens a code block and how to recognise its end.
func mdFence(line string) (func(string) bool, bool) {
	t := strings.TrimSpace(line)
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, f) {
			return func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), f) }, true
		}
	}
	return nil, false
}

func orgFence(line string) (func(string) bool, bool) {
	t := strings.ToLower(strings.TrimSpace(line))
	if strings.HasPrefix(t, "#+begin_") {
		end := "#+end_" + strings.Fields(t[len("#+begin_"):] + " x")[0]
		return func(l string) bool { return strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), end) }, true
	}
	return nil, false
}

// parseLines splits text into headings, fenced code blocks and paragraphs
// separated by blank lines.
func parseLines(text string, heading func(string) (int, string, bool), fence func(string) (func(string) bool, bool)) []block {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out []block
	var para []string
	pstart := 0
	flush := func(end int) {
		if len(para) > 0 {
			out = append(out, block{kind: blockPara, start: pstart, end: end, text: strings.Join(para, "\n")})
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		n := i + 1
		if fence != nil {
			if closes, ok := fence(ln); ok {
				flush(n - 1)
				j := i + 1
				for j < len(lines) && !closes(lines[j]) {
					j++
				}
				if j >= len(lines) {
					j = len(lines) - 1
				}
				out = append(out, block{kind: blockCode, start: n, end: j + 1, text: strings.Join(lines[i:j+1], "\n")})
				i = j
				continue
			}
		}
		if heading != nil {
			if lvl, title, ok := heading(ln); ok {
				flush(n - 1)
				out = append(out, block{kind: blockHeading, level: lvl, start: n, end: n, text: title})
				continue
			}
		}
		if strings.TrimSpace(ln) == "" {
			flush(n - 1)
			continue
		}
		if len(para) == 0 {
			pstart = n
		}
		para = append(para, ln)
	}
	flush(len(lines))
	return out
}

// parseHTML extracts text blocks from HTML; line numbers are those of the
// source markup.
func parseHTML(data []byte) ([]block, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	line := 1
	var out []block
	var cur strings.Builder
	curStart, curLevel, skip := 0, 0, 0
	inPre := false
	flush := func(end int) {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		if t == "" {
			return
		}
		b := block{kind: blockPara, start: curStart, end: max(end, curStart), text: t}
		if curLevel > 0 {
			b.kind, b.level = blockHeading, curLevel
			b.text = strings.Join(strings.Fields(t), " ")
		} else if inPre {
			b.kind = blockCode
		}
		out = append(out, b)
	}
	for {
		tt := z.Next()
		raw := z.Raw()
		startLine := line
		line += bytes.Count(raw, []byte{'\n'})
		switch tt {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				flush(line)
				return out, nil
			}
			return nil, z.Err()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text()) // Text may be called once per token
			if cur.Len() == 0 {
				// start at the first line with text
				lead := len(t) - len(strings.TrimLeft(t, " \t\r\n"))
				curStart = startLine + strings.Count(t[:lead], "\n")
				if strings.TrimSpace(t) == "" {
					continue
				}
			}
			cur.WriteString(t)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "h1", "h2", "h3", "h4", "h5", "h6":
				flush(startLine)
				if tt == html.StartTagToken {
					curLevel = int(tag[1] - '0')
				} else {
					curLevel = 0
				}
			case "pre":
				flush(startLine)
				inPre = tt == html.StartTagToken
			case "p", "div", "li", "ul", "ol", "table", "tr", "section", "article", "blockquote", "br", "hr", "title", "header", "footer", "dd", "dt":
				flush(startLine)
			default:
				if cur.Len() > 0 {
					cur.WriteByte(' ')
				}
			}
		}
	}
}
