package testmodels

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nook-ai/nook/engine/gguf/synth"
)

// The real models (see SOURCES.md beside them).
const (
	Stories260K  = "stories260K.gguf"         // trained TinyStories llama, vocab 512
	TinyRandom   = "llama-2-tiny-random.gguf" // random weights, Llama-2 vocab
	VocabLlama   = "ggml-vocab-llama-spm.gguf"
	VocabPhi3    = "ggml-vocab-phi-3.gguf"
	VocabBertBGE = "ggml-vocab-bert-bge.gguf"
)

// Dir returns the folder of the shared models: $NOOK_TEST_MODELS, or a
// shared/models folder found walking up from the working directory.
func Dir() (string, error) {
	if d := os.Getenv("NOOK_TEST_MODELS"); d != "" {
		if _, err := os.Stat(filepath.Join(d, Stories260K)); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "models"), filepath.Join(d, "..", "shared", "models")} {
			if _, err := os.Stat(filepath.Join(c, Stories260K)); err == nil {
				return filepath.Clean(c), nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testmodels: no shared/models folder above %s; set NOOK_TEST_MODELS", wd)
		}
	}
}

// Path returns the path of a shared model, failing the test if it is absent.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	d, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(d, name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("testmodels: %v", err)
	}
	return p
}

var synthMu sync.Mutex

// Synth writes (once per config, cached in the temp dir across runs: the
// bytes are deterministic) a synthetic model and returns its path.
func Synth(tb testing.TB, c synth.Config) string {
	tb.Helper()
	p, err := SynthPath(c)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// SynthPath is Synth for non-test callers (benchmarks).
func SynthPath(c synth.Config) (string, error) {
	synthMu.Lock()
	defer synthMu.Unlock()
	h := sha256.Sum256(fmt.Appendf(nil, "v%d %+v", synth.Version, c))
	dir := filepath.Join(os.TempDir(), "nook-synth")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, c.Name+"-"+hex.EncodeToString(h[:8])+".gguf")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := synth.Write(p, c); err != nil {
		return "", err
	}
	return p, nil
}

// Tiny returns a tiny synthetic llama with the Llama-2 vocabulary and a
// ChatML chat template.
func Tiny(tb testing.TB) string {
	tb.Helper()
	c := synth.Tiny(Path(tb, VocabLlama))
	c.ChatTemplate = ChatMLJinja
	return Synth(tb, c)
}

// ChatMLJinja is the usual ChatML template as GGUF files carry it (Jinja).
const ChatMLJinja = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
