package appbackend

import "testing"

func TestHoldsWordsTellsAWordMatchFromAPassageNearInMeaning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, query string
		want        bool
	}{
		{"The spare key is under the blue mat.", "spare key", true},
		{"Two deposits were paid.", "deposit", true},
		{"The DEPOSIT is 900 euros.", "deposit", true},
		{"Tomatoes go in after the last frost.", "spare key", false},
		{"A keystone holds the arch.", "key", true}, // the start of a word counts
		{"The monkey sleeps.", "key", false},        // the middle of one does not
		{"e is a letter", "e", false},               // one-letter words are not searched for
		{"", "key", false},
	}
	for _, tt := range tests {
		if got := holdsWords(tt.text, tt.query); got != tt.want {
			t.Errorf("holdsWords(%q, %q) = %v, want %v", tt.text, tt.query, got, tt.want)
		}
	}
}
