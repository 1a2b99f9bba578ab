package termsafe

import (
	"encoding/binary"
	"io"
	"unicode/utf8"
	"unsafe"
)

// Placeholders (see the package doc).
const (
	// Replacement stands for C1 controls, bidi controls and bytes that are
	// not UTF-8.
	Replacement = '\uFFFD'
	pictureDEL  = '\u2421' // ␡
	pictureBase = 0x2400   // ␀; ␛ is pictureBase + 0x1b
)

// String returns s with every control character and escape introducer
// replaced by a visible placeholder; \n, \t and the \r of \r\n are kept,
// so paragraphs and tables keep their layout. Clean s is returned as is.
func String(s string) string { return sanitize(s, true) }

// Line is String for one-line fields (file names, titles, status lines):
// \n, \r and \t are replaced too.
func Line(s string) string { return sanitize(s, false) }

// Bytes is String over bytes; clean b is returned as is.
func Bytes(b []byte) []byte {
	s := unsafe.String(unsafe.SliceData(b), len(b)) // read only, not kept
	i := firstUnsafe(s, true)
	if i < 0 {
		return b
	}
	return appendSafe(append(make([]byte, 0, len(b)+16), b[:i]...), s[i:], true)
}

// Clean reports whether String(s) == s.
func Clean(s string) bool { return firstUnsafe(s, true) < 0 }

func sanitize(s string, keepLayout bool) string {
	i := firstUnsafe(s, keepLayout)
	if i < 0 {
		return s
	}
	return string(appendSafe(append(make([]byte, 0, len(s)+16), s[:i]...), s[i:], keepLayout))
}

// firstUnsafe is the index of the first byte of s that is replaced, or -1.
func firstUnsafe(s string, keepLayout bool) int {
	for i := 0; i < len(s); {
		if i+8 <= len(s) && printableWord(s[i:i+8]) { // the common case: 8 at once
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if !safeASCII(s, i, keepLayout) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			return i
		}
		i += size
	}
	return -1
}

// printableWord reports whether the 8 bytes of w are all printable ASCII
// (0x20 to 0x7e), testing them together.
func printableWord(w string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(w), 8))
	below := (x - 0x20*ones) &^ x & highs // a byte under 0x20
	above := ((x + ones) | x) & highs     // a byte over 0x7e
	return below|above == 0
}

func safeASCII(s string, i int, keepLayout bool) bool {
	switch b := s[i]; {
	case b >= 0x20 && b < 0x7f:
		return true
	case !keepLayout:
		return false
	case b == '\n' || b == '\t':
		return true
	case b == '\r':
		return i+1 < len(s) && s[i+1] == '\n'
	}
	return false
}

// unsafeRune: not UTF-8, a C1 control, or a bidi embedding, override or
// isolate.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// appendSafe appends s to dst with its unsafe characters replaced.
func appendSafe(dst []byte, s string, keepLayout bool) []byte {
	for len(s) > 0 {
		i := firstUnsafe(s, keepLayout)
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		if b := s[i]; b < utf8.RuneSelf {
			if b == 0x7f {
				dst = utf8.AppendRune(dst, pictureDEL)
			} else {
				dst = utf8.AppendRune(dst, rune(pictureBase+int(b)))
			}
			s = s[i+1:]
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, Replacement)
		s = s[i+size:]
	}
	return dst
}

// Writer sanitises a stream as String does, whatever the sizes of the
// writes: a character split between two writes is held until it is whole.
// Close writes what is held (an unfinished character as �). A Writer is
// not safe for concurrent use.
type Writer struct {
	w    io.Writer
	held []byte // at most an unfinished UTF-8 character, or a \r
	buf  []byte
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sanitises p and writes what is whole of it to the underlying
// writer. It reports len(p) when the underlying write succeeded.
func (w *Writer) Write(p []byte) (int, error) {
	data := p
	if len(w.held) > 0 {
		data = append(w.held, p...)
		w.held = nil
	}
	cut := len(data) - unfinished(data)
	if cut < len(data) {
		w.held = append([]byte(nil), data[cut:]...)
	}
	w.buf = appendSafe(w.buf[:0], unsafe.String(unsafe.SliceData(data), cut), true)
	if len(w.buf) == 0 {
		return len(p), nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// unfinished is how many bytes at the end of p may still change meaning
// with what comes next: an incomplete UTF-8 character, or a final \r.
func unfinished(p []byte) int {
	if n := len(p); n > 0 && p[n-1] == '\r' {
		return 1
	}
	for k := 1; k <= utf8.UTFMax-1 && k <= len(p); k++ {
		b := p[len(p)-k]
		if b < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(b) {
			if utf8.FullRune(p[len(p)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// Close writes what is held. It does not close the underlying writer.
func (w *Writer) Close() error {
	if len(w.held) == 0 {
		return nil
	}
	out := appendSafe(nil, string(w.held), true)
	w.held = nil
	_, err := w.w.Write(out)
	return err
}
