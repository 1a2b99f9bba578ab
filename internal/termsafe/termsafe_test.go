package termsafe_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/nook-ai/nook/internal/termsafe"
)

func TestUntrustedTextIsShownNotObeyed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, line string
	}{
		{"plain text is kept", "héllo, wörld ✓ 日本", "héllo, wörld ✓ 日本", "héllo, wörld ✓ 日本"},
		{"an OSC 52 clipboard write is shown, not run", "\x1b]52;c;ZXZpbA==\x07", "␛]52;c;ZXZpbA==␇", "␛]52;c;ZXZpbA==␇"},
		{"an OSC 0 window title ended by ST is shown", "\x1b]0;pwned\x1b\\", "␛]0;pwned␛\\", "␛]0;pwned␛\\"},
		{"an OSC 2 title is shown", "\x1b]2;t\x07", "␛]2;t␇", "␛]2;t␇"},
		{"CSI colours and cursor moves are shown", "\x1b[31mred\x1b[2J\x1b[H", "␛[31mred␛[2J␛[H", "␛[31mred␛[2J␛[H"},
		{"DCS, APC, PM and SOS are shown", "\x1bPq\x1b\\\x1b_a\x1b\\\x1b^p\x1b\\\x1bXs\x1b\\", "␛Pq␛\\␛_a␛\\␛^p␛\\␛Xs␛\\", "␛Pq␛\\␛_a␛\\␛^p␛\\␛Xs␛\\"},
		{"8-bit C1 CSI and OSC are replaced", "a\u009b2Jb\u009d0;x\u009c", "a�2Jb�0;x�", "a�2Jb�0;x�"},
		{"bytes that are not UTF-8 are replaced", "a\x9b2J\xffb", "a�2J�b", "a�2J�b"},
		{"bidi overrides and isolates are replaced", "invoice\u202etxt.exe \u2066x\u2069", "invoice�txt.exe �x�", "invoice�txt.exe �x�"},
		{"newlines and tabs are kept in text, shown in lines", "a\tb\nc", "a\tb\nc", "a␉b␊c"},
		{"CRLF is kept in text; a lone CR that would overwrite the line is shown", "a\r\nb\rc", "a\r\nb␍c", "a␍␊b␍c"},
		{"NUL, BEL, backspace and DEL are shown", "\x00\x07\x08\x7f", "␀␇␈␡", "␀␇␈␡"},
		{"a real replacement character is kept", "\uFFFD", "\uFFFD", "\uFFFD"},
		{"an empty string stays empty", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := termsafe.String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := termsafe.Line(tc.in); got != tc.line {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := string(termsafe.Bytes([]byte(tc.in))); got != tc.want {
				t.Errorf("Bytes(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if termsafe.Clean(tc.in) != (tc.in == tc.want) {
				t.Errorf("Clean(%q) = %v", tc.in, termsafe.Clean(tc.in))
			}
		})
	}
}

func TestCleanTextIsReturnedWithoutAllocating(t *testing.T) {
	text := strings.Repeat("A clean line of text, with ünïcödé and a tab\there.\n", 100)
	if n := testing.AllocsPerRun(100, func() { _ = termsafe.String(text) }); n != 0 {
		t.Errorf("String allocates %v times on clean text", n)
	}
	b := []byte(text)
	if n := testing.AllocsPerRun(100, func() { _ = termsafe.Bytes(b) }); n != 0 {
		t.Errorf("Bytes allocates %v times on clean text", n)
	}
}

func TestAWriterSanitisesAStreamWhateverTheChunks(t *testing.T) {
	t.Parallel()
	in := "ok \x1b]52;c;x\x07 日本\r\nnext\r é\xe2\x82"
	want := termsafe.String(in)
	for size := 1; size <= len(in); size++ {
		var out bytes.Buffer
		w := termsafe.NewWriter(&out)
		for i := 0; i < len(in); i += size {
			if n, err := w.Write([]byte(in[i:min(i+size, len(in))])); err != nil || n != min(size, len(in)-i) {
				t.Fatalf("write: %d %v", n, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("in chunks of %d: %q, want %q", size, out.String(), want)
		}
	}
}

// safe checks what no output may hold: controls but \n, \t and the \r of
// \r\n (none at all in a line), DEL, C1, bidi controls, invalid UTF-8.
func safe(t *testing.T, in, out string, line bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%q gave invalid UTF-8 %q", in, out)
	}
	for i, r := range out {
		ok := true
		switch {
		case r == '\n' || r == '\t':
			ok = !line
		case r == '\r':
			ok = !line && i+1 < len(out) && out[i+1] == '\n'
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			ok = false
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			ok = false
		}
		if !ok {
			t.Fatalf("%q gave %q, which holds %U at %d", in, out, r, i)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]52;c;ZXZpbA==\x07", "\x1b[31m", "\u009b2J", "\xff\xfe", "a\r\nb\rc", "\u202eabc", "\xe2\x82", "\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := termsafe.String(in)
		safe(t, in, out, false)
		if termsafe.String(out) != out {
			t.Fatalf("String is not idempotent on %q: %q", in, out)
		}
		if termsafe.Clean(in) != (out == in) {
			t.Fatalf("Clean(%q) = %v but String gives %q", in, termsafe.Clean(in), out)
		}
		line := termsafe.Line(in)
		safe(t, in, line, true)
		if string(termsafe.Bytes([]byte(in))) != out {
			t.Fatalf("Bytes and String differ on %q", in)
		}
		// Streamed in two pieces, split anywhere, it gives the same.
		for _, cut := range []int{0, len(in) / 3, len(in) / 2, len(in) - 1} {
			if cut < 0 || cut > len(in) {
				continue
			}
			var buf bytes.Buffer
			w := termsafe.NewWriter(&buf)
			w.Write([]byte(in[:cut]))
			w.Write([]byte(in[cut:]))
			w.Close()
			if buf.String() != out {
				t.Fatalf("%q split at %d streams to %q, want %q", in, cut, buf.String(), out)
			}
		}
	})
}

// BenchmarkSanitise compares String with its peer,
// charmbracelet/x/ansi.Strip (which the TUI's stack uses to drop escape
// sequences), on 1 MiB of clean and of dirty text.
func BenchmarkSanitise(b *testing.B) {
	texts := map[string]string{
		"clean": strings.Repeat("A clean line of text, with ünïcödé and a tab\there.\n", 20000),
		"dirty": strings.Repeat("A line with \x1b[31mcolour\x1b[0m and a bell\x07.\n", 20000),
	}
	funcs := map[string]func(string) string{"termsafe.String": termsafe.String, "peer=ansi.Strip": ansi.Strip}
	for _, text := range []string{"clean", "dirty"} {
		for _, f := range []string{"termsafe.String", "peer=ansi.Strip"} {
			b.Run(text+"/"+f, func(b *testing.B) {
				b.SetBytes(int64(len(texts[text])))
				for b.Loop() {
					_ = funcs[f](texts[text])
				}
			})
		}
	}
}
