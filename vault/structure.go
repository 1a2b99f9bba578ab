package vault

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Structure inside paragraphs: a paragraph of list items, table rows or
// dialog turns is split into one block per item, row or turn, so that each
// can be retrieved alone. A table's header row and the line that leads into
// a list travel with each row or item as its lead; a turn keeps its speaker
// and, when the line has one, its timestamp's date.

var (
	itemRE     = regexp.MustCompile(`^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S`)
	tableRE    = regexp.MustCompile(`^\s*\|.*\|\s*$`)
	tableSepRE = regexp.MustCompile(`^\s*\|?\s*:?-{2,}:?\s*(?:[|+]\s*:?-{2,}:?\s*)*\|?\s*$`)
	// A dialog turn: an optional timestamp ("[2024-03-02 19:04]", "[19:04]",
	// "3/2/24, 19:04 - "), a speaker of one to three capitalised words,
	// optionally in bold, then a colon and the words said.
	turnRE = regexp.MustCompile(`^\s*(?:\[([^\]]{1,40})\]\s*|(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s?[APap][Mm])?)\s*[-–]\s*)?(?:\*\*|__)?(\p{Lu}[\p{L}'.\-]*(?:\s\p{Lu}[\p{L}'.\-]*){0,2})(?:\*\*|__)?\s*:(?:\*\*|__)?\s+\S`)
)

// notSpeakers are "Word:" prefixes that label a line rather than name who
// speaks.
var notSpeakers = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`note notes nb ps update todo to-do done date time when where location place
		attendees present agenda decision decisions action actions summary status result results warning tip tips
		question answer example re subject from to cc bcc tags tag topic title goal goals next step steps
		pros cons plan total cost price address phone email link source see`) {
		notSpeakers[w] = true
	}
}

// speakerOf returns the speaker, the date of the timestamp (ISO, "" if
// none) and whether line opens a dialog turn.
func speakerOf(line string) (speaker, date string, ok bool) {
	m := turnRE.FindStringSubmatch(line)
	if m == nil || notSpeakers[strings.ToLower(m[3])] {
		return "", "", false
	}
	if ts := m[1] + m[2]; ts != "" {
		date = findDate(ts)
		if date == "" && m[2] != "" {
			date = slashDate(m[2])
		}
	}
	return m[3], date, true
}

// splitStructure splits a paragraph block into items, rows or turns when it
// is a list, a table or a dialog; otherwise it returns it as it is.
func splitStructure(b block) []block {
	lines := strings.Split(b.text, "\n")
	if len(lines) >= 3 && tableRE.MatchString(lines[0]) && tableSepRE.MatchString(lines[1]) {
		return splitTable(b, lines)
	}
	turns, items := 0, 0
	for _, l := range lines {
		if _, _, ok := speakerOf(l); ok {
			turns++
		} else if itemRE.MatchString(l) {
			items++
		}
	}
	switch {
	case turns > 0 && (turns >= 2 || len(lines) == 1 || turns*2 >= len(lines)):
		return splitAt(b, lines, blockTurn, func(l string) bool { _, _, ok := speakerOf(l); return ok })
	case items > 0:
		return splitAt(b, lines, blockItem, itemRE.MatchString)
	}
	return []block{b}
}

// splitAt cuts lines into blocks of kind where opens matches; lines before
// the first match stay a paragraph and lead into the items.
func splitAt(b block, lines []string, kind int, opens func(string) bool) []block {
	var out []block
	lead := ""
	for i, l := range lines {
		n := b.start + i
		if opens(l) || len(out) == 0 {
			nb := block{kind: kind, start: n, end: n, text: l}
			if !opens(l) {
				nb.kind = blockPara
			}
			if kind == blockTurn && nb.kind == blockTurn {
				nb.speaker, nb.date, _ = speakerOf(l)
			}
			out = append(out, nb)
			continue
		}
		last := &out[len(out)-1]
		last.text += "\n" + l
		last.end = n
	}
	if len(out) > 0 && out[0].kind == blockPara && kind == blockItem {
		lead = out[0].text
	}
	if lead != "" {
		for i := 1; i < len(out); i++ {
			out[i].lead = lead
		}
	}
	return out
}

func splitTable(b block, lines []string) []block {
	header := tableCells(lines[0])
	var out []block
	for i := 2; i < len(lines); i++ {
		n := b.start + i
		if !tableRE.MatchString(lines[i]) || tableSepRE.MatchString(lines[i]) {
			if len(out) > 0 {
				out[len(out)-1].text += "\n" + lines[i]
				out[len(out)-1].end = n
			}
			continue
		}
		out = append(out, block{kind: blockRow, start: n, end: n, text: lines[i], lead: header})
	}
	if len(out) == 0 {
		return []block{b}
	}
	out[0].start = b.start // the header lines belong to the first row's range
	return out
}

// tableCells turns "| a | b |" into "a | b".
func tableCells(l string) string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(strings.TrimSuffix(l, "|"), "|")
	cells := strings.Split(l, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return strings.Join(cells, " | ")
}

// Dates. findDate recognises "2024-03-02", "2 March 2024", "2nd of March,
// 2024", "March 2, 2024" and "March 2024" (month precision) and returns
// the ISO form ("2024-03-02", "2024-03").

const monthNames = `(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`

var (
	isoDateRE   = regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`)
	dmyDateRE   = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+` + monthNames + `\.?,?\s+(\d{4})\b`)
	mdyDateRE   = regexp.MustCompile(`(?i)\b` + monthNames + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b`)
	monthYearRE = regexp.MustCompile(`(?i)\b` + monthNames + `\.?,?\s+(\d{4})\b`)
	slashDateRE = regexp.MustCompile(`^(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})`)
)

func monthOf(name string) int {
	name = strings.ToLower(name)
	for i, m := range []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
		if strings.HasPrefix(name, m) {
			return i + 1
		}
	}
	return 0
}

func isoDate(y, m, d int) string {
	if y < 1000 || y > 9999 || m < 1 || m > 12 || d < 0 || d > 31 {
		return ""
	}
	if d == 0 {
		return strconv.Itoa(y) + "-" + twoDigits(m)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return "" // 31 April
	}
	return t.Format("2006-01-02")
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// findDate returns the first date in s, ISO formatted, or "".
func findDate(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return ""
	}
	type found struct {
		at  int
		iso string
	}
	best := found{at: len(s) + 1}
	try := func(re *regexp.Regexp, f func(m []string) string) {
		if loc := re.FindStringSubmatchIndex(s); loc != nil && loc[0] < best.at {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = s[loc[2*i]:loc[2*i+1]]
				}
			}
			if iso := f(m); iso != "" {
				best = found{loc[0], iso}
			}
		}
	}
	try(isoDateRE, func(m []string) string { return isoDate(atoi(m[1]), atoi(m[2]), atoi(m[3])) })
	try(dmyDateRE, func(m []string) string { return isoDate(atoi(m[3]), monthOf(m[2]), atoi(m[1])) })
	try(mdyDateRE, func(m []string) string { return isoDate(atoi(m[3]), monthOf(m[1]), atoi(m[2])) })
	if best.iso == "" {
		try(monthYearRE, func(m []string) string { return isoDate(atoi(m[2]), monthOf(m[1]), 0) })
	}
	return best.iso
}

// slashDate reads the day-first "2/3/24" of chat exports (3 February 2024
// reads as 2 March; a first number over 12 settles it either way).
func slashDate(s string) string {
	m := slashDateRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	d, mo, y := atoi(m[1]), atoi(m[2]), atoi(m[3])
	if y < 100 {
		y += 2000
	}
	if mo > 12 && d <= 12 {
		d, mo = mo, d
	}
	return isoDate(y, mo, d)
}

// dateWords spells an ISO date for the lexical index and the embedder:
// "2024-03-02" → "2 March 2024", "2024-03" → "March 2024".
func dateWords(iso string) string {
	if t, err := time.Parse("2006-01-02", iso); err == nil {
		return t.Format("2 January 2006")
	}
	if t, err := time.Parse("2006-01", iso); err == nil {
		return t.Format("January 2006")
	}
	return iso
}
