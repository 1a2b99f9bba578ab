package llama

import (
	"testing"

	"github.com/ollama/ollama/ml"

	"github.com/nook-ai/nook/engine/gguf"
	"github.com/nook-ai/nook/engine/gguf/synth"
	"github.com/nook-ai/nook/internal/testmodels"
)

func TestAnEncoderPacksFewTokensADecodeWithoutFlashAttentionWhenItsScoresAreSmall(t *testing.T) {
	vocab := testmodels.Path(t, testmodels.VocabBertBGE)
	// Tiny weights with the real models' contexts: the plan reads the
	// header only.
	minilm, nomic := synth.TinyBERT(vocab, synth.PoolMean), synth.TinyNomic(vocab)
	minilm.Context, nomic.Context = 512, 2048
	tests := []struct {
		name      string
		cfg       synth.Config
		o         Options
		pack      int
		batch     int
		flash     ml.FlashAttentionType
		wantLimit int
	}{
		// MiniLM's 512-token context: plain attention, 128 tokens a decode.
		{"MiniLM", minilm, Options{}, defaultEmbedPack, 512, ml.FlashAttentionDisabled, 512},
		// nomic's 2,048-token windows would need 400 MB of scores: flash.
		{"nomic", nomic, Options{}, defaultEmbedPack, 2048, ml.FlashAttentionAuto, 2048},
		// The same model held to 1,024 tokens goes plain again.
		{"nomic at 1,024", nomic, Options{ContextLength: 1024}, defaultEmbedPack, 1024, ml.FlashAttentionDisabled, 1024},
		{"a configured batch", minilm, Options{BatchSize: 300}, 300, 512, ml.FlashAttentionDisabled, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := gguf.Inspect(testmodels.Synth(t, tt.cfg), gguf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p := planEmbed(f, tt.o)
			if !p.only || !p.encoder || p.pack != tt.pack || p.batch != tt.batch || p.flash != tt.flash || p.seqLimit != tt.wantLimit {
				t.Errorf("plan %+v: want pack %d, batch %d, flash %v, %d tokens a sequence", p, tt.pack, tt.batch, tt.flash, tt.wantLimit)
			}
		})
	}
}

func TestAChatModelKeepsFlashAttentionAuto(t *testing.T) {
	f, err := gguf.Inspect(testmodels.Path(t, testmodels.Stories260K), gguf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := planEmbed(f, Options{}); p.only || p.flash != ml.FlashAttentionAuto {
		t.Errorf("plan %+v: a chat model is no embedding model and keeps llama.cpp's flash attention", p)
	}
}
