package llama_test

import (
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testmodels"
)

// The in-process engine keeps the engine contract with a real model:
// stories260K, a base model with no chat template (its messages are the
// plain prompt text), which writes English from "Once upon a time".
func TestTheLlamaEngineKeepsTheEngineContract(t *testing.T) {
	path := testmodels.Path(t, testmodels.Stories260K)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return open(t, path, llama.Options{ContextLength: 512})
	}, enginetest.Options{
		Want: engine.CapChat | engine.CapEmbed | engine.CapFormat | engine.CapTokenize,
	})
}
