package vault

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// Text analysis for the lexical index and queries: lowercase, split on
// anything but letters and digits, drop English stop words, and reduce
// words to their Snowball (Porter 2) English stem, so that "knitted",
// "knitting" and "knits" meet at "knit", and "meditation" and "meditating"
// at "medit".
//
// The stemmer is github.com/blevesearch/snowballstem: the Snowball
// project's own generated Go code, kept by the bleve project, with no
// dependencies. bleve itself would bring its analysis framework, a bolt
// store, roaring bitmaps and geo code for the same stemmer, so only the
// stemmer is used. The stop list is nook's own: the function words of
// English that carry no topic (articles, pronouns, auxiliaries,
// prepositions, conjunctions, question words), kept short on purpose:
// words such as "first", "last", "before" or "after" are left in, because
// questions about a personal history turn on them.

// analyzerVersion names the analysis, the field weights (rank.go) and
// EstimateTokens. The index snapshot records it; a snapshot made with
// another version has its postings and token counts rebuilt from the
// stored unit texts when it is loaded.
const analyzerVersion = 3

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or but nor so yet if then than as of at by for from in into on onto
		to with without about over under up down out off
		i me my mine myself we us our ours you your yours he him his she her hers it its they them their theirs
		this that these those there here
		is are was were be been being am do does did done doing have has had having
		will would shall should can could may might must
		what which who whom whose when where why how
		not no s t d ll m re ve just very too also`) {
		stopwords[w] = true
	}
}

// stems maps a lowercased word to its stem. Words longer than
// stemCacheWordLen, and words after the first stemCacheMax, are stemmed
// without being kept (ids, hashes and the like would only fill it). A
// lookup with the word's bytes allocates nothing.
var stems = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

var stemEnvs = sync.Pool{New: func() any { return snowballstem.NewEnv("") }}

const (
	stemCacheWordLen = 24
	stemCacheMax     = 1 << 18
)

// stem returns the Snowball English stem of a lowercased word. Words with
// digits or non-ASCII letters are returned as they are (the English rules
// would only mangle them).
func stem(w []byte) string {
	if len(w) < 3 {
		return string(w)
	}
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return string(w)
		}
	}
	stems.RLock()
	s, ok := stems.m[string(w)]
	stems.RUnlock()
	if ok {
		return s
	}
	word := string(w)
	env := stemEnvs.Get().(*snowballstem.Env)
	env.SetCurrent(word)
	english.Stem(env)
	s = env.Current()
	stemEnvs.Put(env)
	if len(word) <= stemCacheWordLen {
		stems.Lock()
		if len(stems.m) < stemCacheMax {
			stems.m[word] = s
		}
		stems.Unlock()
	}
	return s
}

// maxTermLen drops longer "words" (base64, hashes): nobody searches them.
const maxTermLen = 40

// analyze calls fn with each term of s and its position, counted over all
// words including stop words (so that positions measure distance in the
// text).
func analyze(s string, fn func(term string, pos int)) { analyzeIf(s, nil, fn) }

// analyzeIf is analyze for the words whose lowercase form keep accepts
// (nil: all), saving the stemming of the others.
func analyzeIf(s string, keep func(lower []byte) bool, fn func(term string, pos int)) {
	start, pos := -1, 0
	var lower []byte
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := s[start:end]
		start = -1
		p := pos
		pos++
		if len(w) > maxTermLen {
			return
		}
		lower = appendLower(lower[:0], w)
		if keep != nil && !keep(lower) || stopwords[string(lower)] {
			return
		}
		fn(stem(lower), p)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII: no rune decoding
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				if start < 0 {
					start = i
				}
			} else {
				flush(i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
		} else {
			flush(i)
		}
		i += n
	}
	flush(len(s))
}

func appendLower(b []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf {
			return append(b[:0], strings.ToLower(w)...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// tokenize returns the terms of s in order.
func tokenize(s string) []string {
	var out []string
	analyze(s, func(t string, _ int) { out = append(out, t) })
	return out
}

// queryTerms returns the distinct terms of a query in order of first use.
func queryTerms(s string) []string {
	var out []string
	analyze(s, func(t string, _ int) {
		for _, o := range out {
			if o == t {
				return
			}
		}
		out = append(out, t)
	})
	return out
}

// EstimateTokens is the cheap estimate of how many model tokens s takes
// that budgets use when no tokenizer is given: one token per word of up to
// five letters and one more per further two letters, one per digit (LLaMA
// and Qwen tokenizers split numbers into digits), one per punctuation mark
// or symbol, one per line break, and one per letter outside ASCII. On the
// retrieval corpora it counts 3% more than LLaMA's and Phi-3's
// SentencePiece vocabularies and 27% more than GPT-2's BPE
// (TestTokenEstimateAgainstRealTokenizers): it errs high, so a budget it
// fills is not overrun by a real tokenizer.
func EstimateTokens(s string) int {
	n, run := 0, 0
	end := func() {
		if run > 0 {
			n += 1 + (max(run-5, 0)+1)/2
			run = 0
		}
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'):
			run++
		case r == ' ' || r == '\t' || r == '\r':
			end()
		default:
			end()
			if r == '\n' || unicode.IsDigit(r) || unicode.IsLetter(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
				n++
			}
		}
	}
	end()
	return n
}
