package assistant

import (
	"encoding/json"
	"strings"
	"unicode"
)

// replyState is what a reply of the JSON tool mode turned out to be.
type replyState int

const (
	replyUndecided replyState = iota // only a prefix of {"answer":" so far
	replyAnswer                      // inside the answer's string
	replyEnded                       // the answer's string has closed
	replyCall                        // JSON that is not an answer: a call
	replyPlain                       // not JSON: an engine that ignored the format
)

// answerHead is how an answer starts under CallFormat, whitespace aside.
const answerHead = `{"answer":"`

// replyStream decodes a reply of the JSON tool mode as it streams, so that
// an answer reaches the user token by token: feed returns the answer's
// text decoded so far (JSON escapes undone), nothing for a call (its JSON
// is collected in raw), and the text itself from an engine that does not
// follow the format.
type replyStream struct {
	raw     strings.Builder // every byte of the reply
	state   replyState
	pending string // the start of an escape sequence cut by the chunking
}

func (s *replyStream) feed(text string) string {
	s.raw.WriteString(text)
	switch s.state {
	case replyUndecided:
		raw := s.raw.String()
		i, matched := 0, 0
		for ; i < len(raw) && matched < len(answerHead); i++ {
			c := raw[i]
			if unicode.IsSpace(rune(c)) && (matched == 0 || matched == 1 || matched == len(`{"answer"`) || matched == len(`{"answer":`)) {
				continue
			}
			if c != answerHead[matched] {
				s.state = replyCall
				if matched == 0 {
					s.state = replyPlain
					return raw
				}
				return ""
			}
			matched++
		}
		if matched < len(answerHead) {
			return ""
		}
		s.state = replyAnswer
		return s.decode(raw[i:])
	case replyAnswer:
		return s.decode(text)
	case replyPlain:
		return text
	}
	return ""
}

// flush is what a reply cut off inside an escape sequence still holds.
func (s *replyStream) flush() string {
	p := s.pending
	s.pending = ""
	if s.state != replyAnswer || p == "" {
		return ""
	}
	if strings.HasPrefix(p, `\u`) && len(p) >= 6 {
		return unescape(p[:6])
	}
	return ""
}

// decode undoes the JSON string escapes of text (the continuation of the
// answer's string) up to its closing quote, keeping an escape cut by the
// chunking for the next call.
func (s *replyStream) decode(text string) string {
	in := s.pending + text
	s.pending = ""
	var b strings.Builder
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == '"':
			s.state = replyEnded
			return b.String()
		case c != '\\':
			j := i + 1
			for j < len(in) && in[j] != '"' && in[j] != '\\' {
				j++
			}
			b.WriteString(in[i:j])
			i = j
		default:
			n := escapeLen(in[i:])
			if n == 0 { // incomplete: wait for more
				s.pending = in[i:]
				return b.String()
			}
			b.WriteString(unescape(in[i : i+n]))
			i += n
		}
	}
	return b.String()
}

// escapeLen is the length of the escape sequence at the start of s (which
// starts with a backslash), 0 when s ends before it does. A high surrogate
// takes its low half with it when one follows.
func escapeLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	if s[1] != 'u' {
		return 2
	}
	if len(s) < 6 {
		return 0
	}
	if h := s[2:6]; strings.ContainsAny(h[:1], "dD") && strings.ContainsAny(h[1:2], "89abAB") {
		switch {
		case len(s) < 8:
			return 0
		case s[6] == '\\' && s[7] == 'u':
			if len(s) < 12 {
				return 0
			}
			return 12
		}
	}
	return 6
}

// unescape decodes one escape sequence (a bad one decodes to U+FFFD).
func unescape(seq string) string {
	var out string
	if err := json.Unmarshal([]byte(`"`+seq+`"`), &out); err != nil {
		return "\uFFFD"
	}
	return out
}
