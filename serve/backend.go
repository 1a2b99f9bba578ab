package serve

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
)

// Models is what the server needs of the engine pool (the application
// layer's, adapted by serve/appbackend). Every engine Acquire returns is a
// reference: Close gives it back, and the pool loads each model once
// however many requests name it.
type Models interface {
	// List returns the models a client may name: what `nook models` lists.
	List(ctx context.Context) ([]ModelEntry, error)
	// Show describes one model from its file, without loading it. An
	// unknown name is an error wrapping ErrModelNotFound.
	Show(ctx context.Context, name string) (*ModelDetails, error)
	// Acquire returns a reference to the engine of the named model, loading
	// it if needed. An unknown name is an error wrapping ErrModelNotFound.
	Acquire(ctx context.Context, name string) (engine.Engine, error)
	// Loaded describes the engines in memory now.
	Loaded() []LoadedModel
	// DefaultChat is the chat model (`nook:rag` and MCP's ask use it); ""
	// when none is configured.
	DefaultChat() string
}

// ErrModelNotFound: the name is not an installed model.
var ErrModelNotFound = errors.New("model not found")

// ModelEntry is one installed model.
type ModelEntry struct {
	Name         string
	Size         int64
	Modified     time.Time
	Digest       string // sha256 hex of the model file's blob, when known
	Family       string // the GGUF architecture
	Parameters   string // "494.03M"
	Quantization string // "Q8_0"
}

// ModelDetails is what /api/show tells about a model.
type ModelDetails struct {
	ModelEntry
	Path           string
	ParameterCount uint64
	ContextLength  int // trained context
	EmbeddingSize  int
	Template       string
	System         string
	Params         string // the Modelfile parameters (JSON), if any
	License        string
	// Embedding: an embedding-only model (it cannot chat).
	Embedding bool
}

// LoadedModel is an engine in memory.
type LoadedModel struct {
	Info engine.ModelInfo
	Size int64 // bytes of the model file
	Refs int   // requests holding it now
}

// Vault is what the server needs of the vault (a *vault.Vault satisfies it;
// serve/appbackend hands out the application's current handle). It is
// reached only for callers whose grant allows it.
type Vault interface {
	Search(ctx context.Context, query string, o vault.SearchOptions) ([]vault.Hit, error)
	Facts() ([]vault.Fact, error)
	Remember(text string) (vault.Fact, error)
	ListSources(tag string) ([]vault.SourceInfo, error)
}

var _ Vault = (*vault.Vault)(nil)

// Grants answers whether an app holds a scope, from the ledger
// (ledgerclient.Client.CheckApp bound to the user's identity). Answers are
// cached per block, so a revocation (a new block) takes effect on the next
// request.
type Grants interface {
	CheckApp(ctx context.Context, app common.Address, scope string) (ledgerclient.Decision, error)
	// AppScopes lists the scopes app holds now (active grants), to find
	// its vault:read:tag/<t> grants; CheckApp stays the authority.
	AppScopes(ctx context.Context, app common.Address) ([]string, error)
}
