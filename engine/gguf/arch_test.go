package gguf

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The architecture list must match the llama.cpp that the pinned ollama
// module compiles; regenerate arch.go when bumping ollama.
func TestArchitectureListMatchesPinnedLlamaCpp(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ollama/ollama").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "llama", "llama.cpp", "src", "llama-arch.cpp"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\{\s*LLM_ARCH_[A-Z0-9_]+,\s*"([^"]+)"\s*\}`)
	want := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		if m[1] != "(unknown)" && m[1] != "clip" {
			want[m[1]] = true
		}
	}
	if len(want) < 50 {
		t.Fatalf("found only %d architectures: the source layout changed", len(want))
	}
	for a := range want {
		if !architectures[a] {
			t.Errorf("llama.cpp knows %q but arch.go does not", a)
		}
	}
	for a := range architectures {
		if !want[a] {
			t.Errorf("arch.go lists %q, which llama.cpp does not know", a)
		}
	}
}
