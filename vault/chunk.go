package vault

import (
	"regexp"
	"strings"
	"unicode"
)

// DefaultChunkChars is the largest unit, in bytes of text: a longer
// paragraph or code block is cut at sentence or line boundaries.
const DefaultChunkChars = 800

// Unit kinds (Chunk.Kind). Objects written before units hold coarse chunks
// of several paragraphs and no kind ("").
const (
	KindPara = "para"
	KindItem = "item"
	KindRow  = "row"
	KindTurn = "turn"
	KindCode = "code"
)

func kindName(blockKind int) string {
	switch blockKind {
	case blockCode:
		return KindCode
	case blockItem:
		return KindItem
	case blockRow:
		return KindRow
	case blockTurn:
		return KindTurn
	}
	return KindPara
}

// units turns blocks into retrieval units: one per paragraph, list item,
// table row, dialog turn or code block (cut when longer than maxChars),
// each with its context: the headings above it, the date in force (from
// the nearest heading that has one, a line that is only a date, or a
// turn's timestamp), the speaker of a turn, and the lead of an item or row.
// The first unit under a heading starts at the heading's line.
func units(bs []block, maxChars int) []Chunk {
	if maxChars <= 0 {
		maxChars = DefaultChunkChars
	}
	var out []Chunk
	var stack, dates []string // headings and their dates, by level
	date := ""
	headStart := 0 // line of a heading whose first unit is not out yet
	listLead := "" // a paragraph ending in ':' leads into the list after it
	for _, b := range bs {
		if b.kind == blockHeading {
			lvl := max(b.level, 1)
			if len(stack) >= lvl {
				stack, dates = stack[:lvl-1], dates[:lvl-1]
			}
			for len(stack) < lvl-1 {
				stack = append(stack, "")
				dates = append(dates, lastOf(dates))
			}
			title := strings.TrimSpace(b.text)
			stack = append(stack, title)
			d := findDate(title)
			if d == "" {
				d = lastOf(dates)
			}
			dates = append(dates, d)
			date, headStart, listLead = d, b.start, ""
			continue
		}
		if !hasWord(b.text) {
			continue
		}
		switch {
		case b.kind == blockTurn && b.date != "":
			date = b.date
		case b.kind == blockPara:
			if d := dateLineIn(b.text); d != "" {
				date = d
			}
		}
		lead := b.lead
		if b.kind == blockItem && lead == "" {
			lead = listLead
		}
		heading := joinHeadings(stack)
		pieces := cutText(b.text, b.start, maxChars)
		if len(pieces) == 1 {
			pieces[0].start, pieces[0].end = b.start, b.end
		}
		for _, p := range pieces {
			c := Chunk{StartLine: p.start, EndLine: p.end, Heading: heading, Text: p.text,
				Kind: kindName(b.kind), Lead: lead, Speaker: b.speaker, Date: date, Page: b.page}
			if headStart > 0 {
				c.StartLine, headStart = headStart, 0
			}
			out = append(out, c)
		}
		switch {
		case b.kind == blockPara && strings.HasSuffix(strings.TrimSpace(b.text), ":"):
			listLead = strings.TrimSpace(b.text)
		case b.kind != blockItem:
			listLead = ""
		}
	}
	return out
}

func lastOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func hasWord(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// dateLineIn returns the date of the first line of a short paragraph
// that is a date line, or "".
func dateLineIn(s string) string {
	if len(s) > 240 {
		return ""
	}
	for _, l := range strings.Split(s, "\n") {
		if isDateLine(l) {
			return findDate(l)
		}
	}
	return ""
}

// isDateLine reports whether a paragraph is a date and little else
// ("Tuesday, 12 March 2024", "Date: 2024-03-12", "*Session 4 — 8 May 2023*").
func isDateLine(s string) bool {
	if len(s) > 80 || findDate(s) == "" {
		return false
	}
	rest := s
	for _, re := range []*regexp.Regexp{isoDateRE, dmyDateRE, mdyDateRE, monthYearRE} {
		rest = re.ReplaceAllString(rest, " ")
	}
	words := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(rest), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if !dateLabel[w] {
			words++
		}
	}
	return words <= 1
}

var dateLabel = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`date day on session entry meeting call chat am pm
		monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun`) {
		dateLabel[w] = true
	}
}

type piece struct {
	start, end int
	text       string
}

// cutText cuts text (whose first line is line start) into pieces of at
// most maxChars bytes, at line boundaries, and inside a long line at
// sentence ends, then spaces, then anywhere (not inside a UTF-8 sequence).
func cutText(text string, start, maxChars int) []piece {
	if len(text) <= maxChars {
		return []piece{{start, start + strings.Count(text, "\n"), text}}
	}
	var out []piece
	var cur []string
	size, curStart := 0, start
	flush := func(end int) {
		if len(cur) > 0 {
			out = append(out, piece{curStart, end, strings.Join(cur, "\n")})
		}
		cur, size = nil, 0
	}
	for i, l := range strings.Split(text, "\n") {
		ln := start + i
		for len(l) > maxChars {
			flush(ln - 1)
			cut := sentenceCut(l, maxChars)
			out = append(out, piece{ln, ln, strings.TrimSpace(l[:cut])})
			l = strings.TrimLeft(l[cut:], " ")
		}
		if size+len(l)+1 > maxChars {
			flush(ln - 1)
		}
		if len(cur) == 0 {
			curStart = ln
		}
		cur = append(cur, l)
		size += len(l) + 1
	}
	flush(start + strings.Count(text, "\n"))
	return out
}

// sentenceCut picks where to cut a line longer than n: after the last
// sentence end in its first n bytes, else the last space, else at n.
func sentenceCut(l string, n int) int {
	head := l[:cutAt(l, n)]
	for _, sep := range []string{". ", "? ", "! ", "; "} {
		if i := strings.LastIndex(head, sep); i > n/3 {
			return i + 1
		}
	}
	if i := strings.LastIndexByte(head, ' '); i > n/3 {
		return i + 1
	}
	return len(head)
}

// cutAt returns a cut index ≤ n that does not split a UTF-8 sequence.
func cutAt(s string, n int) int {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	if n == 0 {
		return len(s)
	}
	return n
}

func joinHeadings(stack []string) string {
	var hs []string
	for _, h := range stack {
		if h != "" {
			hs = append(hs, h)
		}
	}
	return strings.Join(hs, " > ")
}
