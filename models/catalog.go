package models

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nook-ai/nook/internal/hint"
)

// Roles a catalog entry serves.
const (
	RoleChat      = "chat"
	RoleEmbedding = "embedding"
)

// CatalogEntry is a recommended model for a role on machines with at least
// MinMemory bytes of RAM.
type CatalogEntry struct {
	Role      string
	Name      string // a pullable name
	MinMemory uint64
	Size      int64 // download size, approximate
	Params    string
	Quant     string
	Context   int
	About     string
}

const gib = 1 << 30

// catalog is ordered by role, then by MinMemory.
var catalog = []CatalogEntry{
	{RoleChat, "qwen2.5:0.5b", 0, 398_000_000, "494M", "Q4_K_M", 32768, "tiny and quick; fine for short answers on small machines"},
	{RoleChat, "llama3.2:1b", 4 * gib, 1_300_000_000, "1.2B", "Q8_0", 131072, "small general chat model"},
	{RoleChat, "llama3.2", 8 * gib, 2_000_000_000, "3.2B", "Q4_K_M", 131072, "good general default for laptops"},
	{RoleChat, "llama3.1:8b", 16 * gib, 4_900_000_000, "8.0B", "Q4_K_M", 131072, "stronger answers, needs 16 GB of RAM"},
	{RoleEmbedding, "all-minilm", 0, 46_000_000, "23M", "F16", 512, "small sentence embeddings"},
	{RoleEmbedding, "nomic-embed-text", 4 * gib, 274_000_000, "137M", "F16", 2048, "long-context embeddings for retrieval"},
}

// Catalog returns the recommended models, by role then memory.
func Catalog() []CatalogEntry { return slices.Clone(catalog) }

// Default picks the largest catalog model of the role that fits memBytes of
// RAM (0 = unknown: the smallest). An unknown role gives the zero entry.
func Default(role string, memBytes uint64) CatalogEntry {
	var best CatalogEntry
	for _, e := range catalog {
		if e.Role != role {
			continue
		}
		if best.Name == "" || (memBytes != 0 && e.MinMemory <= memBytes && e.MinMemory >= best.MinMemory) {
			best = e
		}
	}
	return best
}

// TotalMemory is the machine's RAM in bytes, or 0 when it cannot be read.
func TotalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fs[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// WithMemory sets the RAM size EnsureDefault plans for (default: TotalMemory()).
func WithMemory(n uint64) Option {
	return func(s *Store) error { s.mem = n; return nil }
}

// EnsureDefault returns the path of a model for the role, pulling the
// catalog default when none of the role's catalog models is installed. An
// installed default (in nook's or the Ollama store) wins; otherwise the
// largest installed catalog model of the role that fits in memory.
func (s *Store) EnsureDefault(ctx context.Context, role string, progress io.Writer) (string, error) {
	mem := s.mem
	if mem == 0 {
		mem = TotalMemory()
	}
	def := Default(role, mem)
	if def.Name == "" {
		return "", fmt.Errorf("models: no catalog model for role %q (want %q or %q)", role, RoleChat, RoleEmbedding)
	}
	if p, err := s.Resolve(def.Name); err == nil {
		return p, nil
	}
	for _, e := range slices.Backward(catalog) {
		if e.Role == role && (mem == 0 || e.MinMemory <= mem) {
			if p, err := s.Resolve(e.Name); err == nil {
				return p, nil
			}
		}
	}
	n, err := ParseName(def.Name)
	if err != nil {
		return "", fmt.Errorf("models: catalog: %w", err)
	}
	bar := newBar(progress)
	m, err := s.pullName(ctx, n, bar.update)
	bar.finish()
	if err != nil {
		env := "NOOK_MODEL"
		if role == RoleEmbedding {
			env = "NOOK_EMBED_MODEL"
		}
		err = pullHint(def.Name, fmt.Errorf("models: no %s model installed, and pulling %s failed: %w", role, def.Name, err))
		if errors.Is(err, ErrUnreachable) {
			return "", hint.New(err, fmt.Sprintf("set %s to a GGUF file, or NOOK_REGISTRY to a reachable mirror, or connect and run `nook pull %s`", env, def.Name))
		}
		if h := hint.Of(err); h != "" {
			return "", hint.New(err, fmt.Sprintf("%s; or set %s to a GGUF file", h, env))
		}
		return "", hint.New(err, fmt.Sprintf("set %s to a GGUF file", env))
	}
	return m.Path, nil
}

// Prefixes are the texts an embedding model was trained to see before a
// search query and before a document (sentence-transformers' "prompts").
// Most models want none; asymmetric retrieval models lose recall without
// them.
type Prefixes struct {
	Query, Document string
}

// embedPrefixes is what nook knows of embedding model families, from
// their model cards. A model name matches the longest family it starts
// with.
var embedPrefixes = []struct {
	family string
	p      Prefixes
}{
	{"nomic-embed-text", Prefixes{"search_query: ", "search_document: "}},
	{"nomic-embed-code", Prefixes{"Represent this query for searching relevant code: ", ""}},
	{"mxbai-embed-large", Prefixes{"Represent this sentence for searching relevant passages: ", ""}},
	{"snowflake-arctic-embed", Prefixes{"Represent this sentence for searching relevant passages: ", ""}},
	{"snowflake-arctic-embed2", Prefixes{"query: ", ""}},
	{"snowflake-arctic-embed-l-v2", Prefixes{"query: ", ""}},
	{"snowflake-arctic-embed-m-v2", Prefixes{"query: ", ""}},
	{"bge-small-en", Prefixes{"Represent this sentence for searching relevant passages: ", ""}},
	{"bge-base-en", Prefixes{"Represent this sentence for searching relevant passages: ", ""}},
	{"bge-large-en", Prefixes{"Represent this sentence for searching relevant passages: ", ""}},
	{"e5-", Prefixes{"query: ", "passage: "}},
	{"multilingual-e5", Prefixes{"query: ", "passage: "}},
	{"embeddinggemma", Prefixes{"task: search result | query: ", "title: none | text: "}},
}

// EmbedPrefixes returns the prefixes the catalog knows for an embedding
// model, by any of its names: a pullable name (nomic-embed-text:v1.5,
// hf.co/nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0), a GGUF's general.name
// or a file name. ok is false for a model it does not know (which may
// well want no prefixes).
func EmbedPrefixes(name string) (p Prefixes, ok bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.TrimSuffix(n, ".gguf")
	if i := strings.IndexByte(n, ':'); i >= 0 {
		n = n[:i]
	}
	n = strings.ReplaceAll(n, "_", "-")
	best := -1
	for i, e := range embedPrefixes {
		if strings.HasPrefix(n, e.family) && (best < 0 || len(e.family) > len(embedPrefixes[best].family)) {
			best = i
		}
	}
	if best < 0 {
		return Prefixes{}, false
	}
	return embedPrefixes[best].p, true
}
