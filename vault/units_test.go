package vault

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// unitLite is what these tests compare of a unit.
type unitLite struct {
	Start, End int
	Kind       string
	Heading    string
	Lead       string
	Speaker    string
	Date       string
	Text       string
}

func unitsOfText(t *testing.T, format, text string) []unitLite {
	t.Helper()
	bs, err := parse(format, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var out []unitLite
	for _, c := range units(bs, 0) {
		out = append(out, unitLite{c.StartLine, c.EndLine, c.Kind, c.Heading, c.Lead, c.Speaker, c.Date, c.Text})
	}
	return out
}

func TestUnitsFollowTheStructure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		text   string
		want   []unitLite
	}{
		{
			"paragraphs are units and the first starts at its heading", fmtMarkdown,
			"# Garden\n\nWater the beds.\n\nTurn the compost.\n",
			[]unitLite{
				{1, 3, KindPara, "Garden", "", "", "", "Water the beds."},
				{5, 5, KindPara, "Garden", "", "", "", "Turn the compost."},
			},
		},
		{
			"a chat log is one unit per turn, dated by its heading", fmtMarkdown,
			"## 2 March 2024\n\nTom: are you up for climbing?\nNadia: yes, after six\n  (if the train is on time)\n",
			[]unitLite{
				{1, 3, KindTurn, "2 March 2024", "", "Tom", "2024-03-02", "Tom: are you up for climbing?"},
				{4, 5, KindTurn, "2 March 2024", "", "Nadia", "2024-03-02", "Nadia: yes, after six\n  (if the train is on time)"},
			},
		},
		{
			"chat export lines carry their own dates", fmtText,
			"12/03/2024, 19:04 - Mum: Has anyone seen the key?\n13/03/2024, 08:10 - Karim: In the blue jar\n",
			[]unitLite{
				{1, 1, KindTurn, "", "", "Mum", "2024-03-12", "12/03/2024, 19:04 - Mum: Has anyone seen the key?"},
				{2, 2, KindTurn, "", "", "Karim", "2024-03-13", "13/03/2024, 08:10 - Karim: In the blue jar"},
			},
		},
		{
			"bold speakers in separate paragraphs", fmtMarkdown,
			"## Standup 2024-04-09\n\n**Leo:** blocked on the tax tables.\n\n**Amira:** staging is down.\n",
			[]unitLite{
				{1, 3, KindTurn, "Standup 2024-04-09", "", "Leo", "2024-04-09", "**Leo:** blocked on the tax tables."},
				{5, 5, KindTurn, "Standup 2024-04-09", "", "Amira", "2024-04-09", "**Amira:** staging is down."},
			},
		},
		{
			"list items carry the line that leads into them", fmtMarkdown,
			"Actions:\n\n- Jonas: get quotes\n- Priya: order compost\n  for the spring\n",
			[]unitLite{
				{1, 1, KindPara, "", "", "", "", "Actions:"},
				{3, 3, KindItem, "", "Actions:", "", "", "- Jonas: get quotes"},
				{4, 5, KindItem, "", "Actions:", "", "", "- Priya: order compost\n  for the spring"},
			},
		},
		{
			"a lead-in line in the same paragraph as the list", fmtText,
			"Packing list:\n* passport\n* charger\n",
			[]unitLite{
				{1, 1, KindPara, "", "", "", "", "Packing list:"},
				{2, 2, KindItem, "", "Packing list:", "", "", "* passport"},
				{3, 3, KindItem, "", "Packing list:", "", "", "* charger"},
			},
		},
		{
			"table rows carry the header", fmtMarkdown,
			"| Plot | Holder |\n|---|---|\n| 1 | Priya |\n| 2 | Jonas |\n",
			[]unitLite{
				{1, 3, KindRow, "", "Plot | Holder", "", "", "| 1 | Priya |"},
				{4, 4, KindRow, "", "Plot | Holder", "", "", "| 2 | Jonas |"},
			},
		},
		{
			"a date line dates what follows; labels are not speakers", fmtText,
			"Call with the landlord\nDate: 14 May 2024\n\nNote: bring the contract\n\n[10:02] Mr Brandt: Good morning.\n",
			[]unitLite{
				{1, 2, KindPara, "", "", "", "2024-05-14", "Call with the landlord\nDate: 14 May 2024"},
				{4, 4, KindPara, "", "", "", "2024-05-14", "Note: bring the contract"},
				{6, 6, KindTurn, "", "", "Mr Brandt", "2024-05-14", "[10:02] Mr Brandt: Good morning."},
			},
		},
		{
			"a heading without a date keeps the date of the heading above", fmtMarkdown,
			"# Trip, June 2024\n\n## Day one\n\nTram 28.\n\n# Other\n\nNo date here.\n",
			[]unitLite{
				{3, 5, KindPara, "Trip, June 2024 > Day one", "", "", "2024-06", "Tram 28."},
				{7, 9, KindPara, "Other", "", "", "", "No date here."},
			},
		},
		{
			"separators make no unit", fmtMarkdown,
			"one\n\n---\n\ntwo\n",
			[]unitLite{
				{1, 1, KindPara, "", "", "", "", "one"},
				{5, 5, KindPara, "", "", "", "", "two"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(tc.want, unitsOfText(t, tc.format, tc.text)); d != "" {
				t.Errorf("units (-want +got):\n%s", d)
			}
		})
	}
}

func TestLongParagraphsAreCutAtSentences(t *testing.T) {
	t.Parallel()
	long := ""
	for range 30 {
		long += "The quick brown fox jumps over the lazy dog. "
	}
	us := unitsOfText(t, fmtText, "intro\n\n"+long+"\n")
	if len(us) < 3 {
		t.Fatalf("%d units, want the long line cut", len(us))
	}
	for _, u := range us[1:] {
		if len(u.Text) > DefaultChunkChars || u.Start != 3 || u.End != 3 {
			t.Errorf("piece %d-%d of %d bytes", u.Start, u.End, len(u.Text))
		}
		if text := strings.TrimSpace(u.Text); text[len(text)-1] != '.' {
			t.Errorf("piece ends mid-sentence: %q", u.Text[len(u.Text)-20:])
		}
	}
}

func TestFindDate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Standup 2024-04-09":            "2024-04-09",
		"Monday 8 January 2024":         "2024-01-08",
		"1:56 pm on 8 May, 2023":        "2023-05-08",
		"the 2nd of March 2024":         "2024-03-02",
		"March 2, 2024":                 "2024-03-02",
		"Sept. 30 2023":                 "2023-09-30",
		"Trip, June 2024":               "2024-06",
		"31 April 2024":                 "2024-04", // no such day: the month
		"room 2024":                     "",
		"Session 4 — 10 September 2024": "2024-09-10",
	} {
		if got := findDate(in); got != want {
			t.Errorf("findDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnalysisStemsAndDropsStopWords(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"knitted", "knit"}, {"Knitting", "knit"}, {"meditation", "medit"}, {"meditating", "medit"},
		{"composting", "compost"}, {"ponies", "poni"}, {"2024", "2024"}, {"Größe", "größe"},
	}
	for _, tc := range tests {
		if got := tokenize(tc.in); len(got) != 1 || got[0] != tc.want {
			t.Errorf("tokenize(%q) = %q, want [%q]", tc.in, got, tc.want)
		}
	}
	if got := tokenize("What did the doctor say about my sleep?"); !cmp.Equal(got, []string{"doctor", "say", "sleep"}) {
		t.Errorf("stop words: %q", got)
	}
	var pos []int
	analyze("the bank of the river", func(_ string, p int) { pos = append(pos, p) })
	if !cmp.Equal(pos, []int{1, 4}) {
		t.Errorf("positions %v, want [1 4] (stop words count for distance)", pos)
	}
}

func TestEstimateTokens(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"":                     0,
		"the cat sat":          3,
		"extraordinarily":      6, // 15 letters: 1 + ceil(10/2)
		"rent is 852.80 euros": 3 + 5 + 1,
		"Hi!\nBye.":            5,
		"日本語":                  3,
	} {
		if got := EstimateTokens(in); got != want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", in, got, want)
		}
	}
}
