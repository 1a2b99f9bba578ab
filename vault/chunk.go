package vault

import "strings"

// DefaultChunkChars is the target chunk size in bytes of text.
const DefaultChunkChars = 1200

// chunkBlocks packs blocks into chunks of at most maxChars: a heading
// starts a new chunk (and names the chunks under it), paragraphs and code
// blocks are packed whole, and a block too large alone is cut at line
// boundaries.
func chunkBlocks(bs []block, maxChars int) []Chunk {
	if maxChars <= 0 {
		maxChars = DefaultChunkChars
	}
	var out []Chunk
	var stack []string
	var parts []string
	size, start, end := 0, 0, 0
	heading := ""
	headStart := 0 // line of a heading whose first chunk is not out yet
	flush := func() {
		if len(parts) > 0 {
			out = append(out, Chunk{StartLine: start, EndLine: end, Heading: heading, Text: strings.Join(parts, "\n\n")})
		}
		parts, size = nil, 0
	}
	add := func(text string, s, e int) {
		if len(parts) == 0 {
			start = s
			if headStart > 0 {
				start, headStart = headStart, 0
			}
		}
		parts = append(parts, text)
		size += len(text) + 2
		end = e
	}
	for _, b := range bs {
		switch {
		case b.kind == blockHeading:
			flush()
			lvl := max(b.level, 1)
			if len(stack) >= lvl {
				stack = stack[:lvl-1]
			}
			for len(stack) < lvl-1 {
				stack = append(stack, "")
			}
			stack = append(stack, strings.TrimSpace(b.text))
			heading = joinHeadings(stack)
			headStart = b.start
		case len(b.text) > maxChars:
			flush()
			lines := strings.Split(b.text, "\n")
			ln := b.start
			for _, l := range lines {
				for len(l) > maxChars { // one enormous line
					cut := cutAt(l, maxChars)
					if size+cut > maxChars {
						flush()
					}
					add(l[:cut], ln, ln)
					flush()
					l = l[cut:]
				}
				if size+len(l)+1 > maxChars {
					flush()
				}
				if len(parts) == 0 {
					start = ln
					parts = []string{l}
					size = len(l) + 1
				} else {
					parts[0] += "\n" + l
					size += len(l) + 1
				}
				end = ln
				ln++
			}
			flush()
		default:
			if size+len(b.text)+2 > maxChars {
				flush()
			}
			add(b.text, b.start, b.end)
		}
	}
	flush()
	return out
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
