package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/testmodels"
)

// Offline first: with no embedding model installed (and a registry that
// cannot be reached), nook add indexes for keyword search and says so in
// one line; nook reindex adds the vectors once a model is there.
func TestAddWithoutAnEmbeddingModelThenReindex(t *testing.T) {
	env := map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": cliPass, "NOOK_REGISTRY": "http://127.0.0.1:1"}
	notes := cliNotes(t, "sourdough.md", "bike-tire.md", "contacts.md")
	mustNook(t, env, "init")

	out, errs := mustNook(t, env, "add", notes)
	if !strings.Contains(out, "added 3,") {
		t.Errorf("add printed %q", out)
	}
	if lines := strings.Split(strings.TrimSpace(errs), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no embedding model") || !strings.Contains(lines[0], "nook reindex") {
		t.Errorf("stderr %q, want one line saying the index is lexical and how to add vectors", errs)
	}

	t.Run("search --budget returns passages that fit", func(t *testing.T) {
		out, _ := mustNook(t, env, "search", "--json", "--budget", "40", "what is the plumber's phone number?")
		var hits []struct {
			Source string `json:"source"`
			Text   string `json:"text"`
			Kind   string `json:"kind"`
			Tokens int    `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(out), &hits); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		total := 0
		for _, h := range hits {
			total += h.Tokens
		}
		if len(hits) == 0 || total > 40 || !strings.Contains(hits[0].Text, "5551 2847") || hits[0].Kind != "para" {
			t.Errorf("hits %+v (%d tokens)", hits, total)
		}
	})

	model := testmodels.Path(t, testmodels.Stories260K)
	env["NOOK_MODEL"], env["NOOK_EMBED_MODEL"] = model, model
	out, _ = mustNook(t, env, "reindex")
	if !strings.Contains(out, "reindexed 3 documents") {
		t.Errorf("reindex printed %q", out)
	}
	out, _ = mustNook(t, env, "reindex")
	if !strings.Contains(out, "reindexed 0 documents") || !strings.Contains(out, "3 already current") {
		t.Errorf("second reindex printed %q", out)
	}
	out, _ = mustNook(t, env, "add", notes)
	if !strings.Contains(out, "unchanged 3") {
		t.Errorf("add after reindex printed %q", out)
	}
}
