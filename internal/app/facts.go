package app

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// FactsMatching finds the facts `forget` means: the one whose id is q, or
// else those whose text holds q as whole words (case-insensitive): "e"
// matches "plan e" but not "the key". None is an error wrapping
// vault.ErrNotFound with a hint. byID says which way it matched.
func FactsMatching(v *vault.Vault, q string) (_ []vault.Fact, byID bool, _ error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, false, fmt.Errorf("forget: no id or text given")
	}
	facts, err := v.Facts()
	if err != nil {
		return nil, false, err
	}
	for _, f := range facts {
		if f.ID == q {
			return []vault.Fact{f}, true, nil
		}
	}
	words := strings.Fields(q)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	re := regexp.MustCompile(`(?i)(^|\W)` + strings.Join(words, `\s+`) + `($|\W)`)
	var out []vault.Fact
	for _, f := range facts {
		if re.MatchString(f.Text) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, false, hint.New(fmt.Errorf("forget: no fact is %q or holds it as a word: %w", q, vault.ErrNotFound),
			"list the facts and their ids with `nook forget --list` (/forget in the app)")
	}
	return out, false, nil
}

// ForgetFacts removes the facts by id and erases them from disk.
func ForgetFacts(v *vault.Vault, facts []vault.Fact) ([]vault.Fact, vault.Erased, error) {
	var gone []vault.Fact
	var total vault.Erased
	for _, f := range facts {
		g, e, err := v.Forget(f.ID)
		gone = append(gone, g...)
		total.Objects += e.Objects
		total.Bytes += e.Bytes
		if err != nil {
			return gone, total, err
		}
	}
	return gone, total, nil
}
