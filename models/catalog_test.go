package models

import (
	"testing"
)

func TestDefaultFitsTheMachine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, role string
		mem        uint64
		want       string
	}{
		{"unknown memory gets the smallest chat model", RoleChat, 0, "qwen2.5:0.5b"},
		{"a 2 GiB machine gets the smallest chat model", RoleChat, 2 * gib, "qwen2.5:0.5b"},
		{"an 8 GiB laptop gets llama3.2", RoleChat, 8 * gib, "llama3.2"},
		{"a 64 GiB workstation gets the largest", RoleChat, 64 * gib, "llama3.1:8b"},
		{"embeddings on a small machine", RoleEmbedding, 1 * gib, "all-minilm"},
		{"embeddings on a laptop", RoleEmbedding, 16 * gib, "nomic-embed-text"},
		{"an unknown role gets nothing", "vision", 16 * gib, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Default(tc.role, tc.mem); got.Name != tc.want {
				t.Fatalf("Default(%q, %d) = %q, want %q", tc.role, tc.mem, got.Name, tc.want)
			}
		})
	}
}

func TestEnsureDefaultPullsOnceThenUsesWhatIsInstalled(t *testing.T) {
	t.Parallel()
	gguf := readFixture(t, "stories260K.gguf")
	reg := newFakeRegistry(t)
	reg.add(t, "library", "qwen2.5", "0.5b", [2]string{MediaTypeModel, string(gguf)})
	s := newTestStore(t, reg.URL, WithMemory(2*gib))
	p, err := s.EnsureDefault(t.Context(), RoleChat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := s.Resolve("qwen2.5:0.5b"); p != want {
		t.Fatalf("EnsureDefault = %q, want %q", p, want)
	}
	hits := reg.hits.Load()
	if p2, err := s.EnsureDefault(t.Context(), RoleChat, nil); err != nil || p2 != p {
		t.Fatalf("second EnsureDefault = %q, %v", p2, err)
	}
	if reg.hits.Load() != hits {
		t.Error("second EnsureDefault went to the registry")
	}
	// On a bigger machine, the installed small model is used rather than
	// downloading the bigger default.
	big, _ := NewStore(s.Dir(), WithRegistry(reg.URL), WithHTTPClient(loopbackClient(t)), WithMemory(64*gib))
	if p3, err := big.EnsureDefault(t.Context(), RoleChat, nil); err != nil || p3 != p {
		t.Fatalf("EnsureDefault on a big machine = %q, %v", p3, err)
	}
	if reg.hits.Load() != hits {
		t.Error("EnsureDefault pulled although a catalog model was installed")
	}
}

func TestEmbedPrefixesByAnyOfAModelsNames(t *testing.T) {
	t.Parallel()
	const passages = "Represent this sentence for searching relevant passages: "
	for _, tc := range []struct {
		name       string
		query, doc string
		known      bool
	}{
		{"nomic-embed-text", "search_query: ", "search_document: ", true},
		{"nomic-embed-text:v1.5", "search_query: ", "search_document: ", true},
		{"hf.co/nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0", "search_query: ", "search_document: ", true},
		{"/models/Nomic-Embed-Text-v1.5.Q4_K_M.gguf", "search_query: ", "search_document: ", true},
		{"bge_small_en_v1.5", passages, "", true},
		{"snowflake-arctic-embed:33m", passages, "", true},
		{"snowflake-arctic-embed2", "query: ", "", true}, // the longest family wins
		{"multilingual-e5-small", "query: ", "passage: ", true},
		{"all-minilm", "", "", false},
		{"llama3.2", "", "", false},
		{"", "", "", false},
	} {
		p, ok := EmbedPrefixes(tc.name)
		if ok != tc.known || p.Query != tc.query || p.Document != tc.doc {
			t.Errorf("EmbedPrefixes(%q) = %+v, %v; want %q, %q, %v", tc.name, p, ok, tc.query, tc.doc, tc.known)
		}
	}
}
