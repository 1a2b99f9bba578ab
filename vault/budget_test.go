package vault

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const vetChat = `# Chats

## 18 May 2024

Nadia: Pepper has an ear infection again
Tom: poor cat. same ear as last time?
Nadia: the left one. vet gave drops, twice a day for ten days
Tom: does she let you put them in?
Nadia: absolutely not, I have scratches all over my arms
Tom: how much was the vet this time?
Nadia: 86 euros with the drops
Tom: ouch
Nadia: so are we booking Lisbon? Lea said June is good for her
Tom: let's look at flights tonight
`

// chatVault is a vault holding vetChat and a few other notes.
func chatVault(t *testing.T) *Vault {
	t.Helper()
	v, _ := newTestVault(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "chat.md"), vetChat)
	write(t, filepath.Join(dir, "bike.md"), "# Bike\n\nThe brake pads cost 25 euros at the shop.\n\nThe chain needs oil every month.\n")
	write(t, filepath.Join(dir, "long.md"), "# Long\n\n"+strings.Repeat("Budgets are counted in tokens of the returned text, never in hits. ", 40)+"\n")
	if _, err := v.Add(context.Background(), []string{dir}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	return v
}

func search(t *testing.T, v *Vault, q string, o SearchOptions) []Hit {
	t.Helper()
	hs, err := v.Search(context.Background(), q, o)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func total(hs []Hit, count func(string) int, perHit int) int {
	n := 0
	for _, h := range hs {
		n += count(h.Text) + perHit
	}
	return n
}

func TestSearchWithinABudget(t *testing.T) {
	t.Parallel()
	v := chatVault(t)
	words := func(s string) int { return len(strings.Fields(s)) }

	t.Run("hits never hold more than the budget", func(t *testing.T) {
		for _, b := range []int{8, 16, 40, 100, 400} {
			for _, o := range []SearchOptions{{Budget: b}, {Budget: b, Tokens: words}, {Budget: b, PerHit: 5}} {
				hs := search(t, v, "how much did the vet cost for the cat", o)
				count := o.Tokens
				if count == nil {
					count = EstimateTokens
				}
				if n := total(hs, count, o.PerHit); n > b || len(hs) == 0 {
					t.Errorf("budget %d (per hit %d): %d hits, %d tokens", b, o.PerHit, len(hs), n)
				}
				for _, h := range hs {
					if h.Tokens != count(h.Text) && !strings.Contains(h.Text, "\n") {
						t.Errorf("hit says %d tokens, its text has %d", h.Tokens, count(h.Text))
					}
				}
			}
		}
	})
	t.Run("a hit widens with its neighbours as the budget grows", func(t *testing.T) {
		small := search(t, v, "how much was the vet this time", SearchOptions{Budget: 12})
		if len(small) != 1 || small[0].StartLine != 10 || small[0].EndLine != 10 || small[0].Speaker != "Tom" || small[0].Kind != KindTurn {
			t.Fatalf("12 tokens: %+v, want the one turn that matches (line 10)", small)
		}
		wide := search(t, v, "how much was the vet this time", SearchOptions{Budget: 60})
		h := wide[0]
		if h.StartLine > 10 || h.EndLine < 11 || !strings.Contains(h.Text, "86 euros") {
			t.Errorf("60 tokens: first hit %d-%d %q, want the answer on line 11 merged in", h.StartLine, h.EndLine, h.Text)
		}
		if h.Speaker != "" || h.Kind != KindTurn || h.Date != "2024-05-18" || h.Heading != "Chats > 18 May 2024" {
			t.Errorf("merged turns of two speakers: %+v", h)
		}
		if !strings.Contains(h.Text, "this time?\nNadia: 86 euros") {
			t.Errorf("turns on consecutive lines join with one line break: %q", h.Text)
		}
	})
	t.Run("without a budget K counts hits", func(t *testing.T) {
		hs := search(t, v, "vet drops", SearchOptions{K: 2})
		if len(hs) != 2 {
			t.Fatalf("%d hits, want 2", len(hs))
		}
	})
	t.Run("the best unit alone larger than the budget is cut to fit", func(t *testing.T) {
		hs := search(t, v, "budgets counted tokens returned text", SearchOptions{Budget: 30})
		if len(hs) != 1 || filepath.Base(hs[0].Source) != "long.md" || !strings.HasSuffix(hs[0].Text, "…") || EstimateTokens(hs[0].Text) > 30 {
			t.Errorf("hits %+v", hs)
		}
	})
	t.Run("the JSON of a hit keeps its fields and adds the unit's", func(t *testing.T) {
		hs := search(t, v, "vet drops twice a day", SearchOptions{Budget: 20})
		b, _ := json.Marshal(hs[0])
		for _, k := range []string{`"source":`, `"start_line":`, `"end_line":`, `"score":`, `"text":`, `"heading":`, `"kind":"turn"`, `"date":"2024-05-18"`, `"tokens":`} {
			if !strings.Contains(string(b), k) {
				t.Errorf("%s lacks %s", b, k)
			}
		}
	})
}

func TestNearDuplicatesGiveWayToOtherEvidence(t *testing.T) {
	t.Parallel()
	x := newIndex()
	p := defaultParams
	p.widenDecay = 0
	x.p = &p
	put := func(path, text string) {
		x.putDoc(path, "r", &docObject{Path: path, Version: docUnits, Chunks: []Chunk{{StartLine: 1, EndLine: 1, Kind: KindPara, Text: text}}})
	}
	put("/n/a.md", "Lisbon tips: take tram 28 early in the morning before the crowds arrive.")
	put("/n/b.md", "Lisbon tips: take tram 28 early in the morning, before the crowds arrive!")
	put("/n/c.md", "In Lisbon the ferry to Cacilhas at sunset, early evening, costs almost nothing.")
	for i := range 20 {
		put("/n/other"+string(rune('a'+i))+".md", "unrelated words about gardens and bicycles")
	}
	order := func(lambda float64) []string {
		p.mmrLambda = lambda
		var out []string
		for _, h := range x.search("lisbon tram early morning", nil, &SearchOptions{K: 2}, filter{}) {
			out = append(out, filepath.Base(h.Source))
		}
		return out
	}
	if got := order(1); strings.Join(got, " ") != "a.md b.md" {
		t.Fatalf("without MMR: %v, want the two copies first", got)
	}
	if got := order(defaultParams.mmrLambda); len(got) != 2 || got[1] != "c.md" {
		t.Errorf("with MMR: %v, want the second copy to give way to c.md", got)
	}
}
