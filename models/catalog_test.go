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
