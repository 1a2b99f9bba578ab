package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"
)

// Engine runs one model. Implementations are safe for use by one chat at a
// time; Embed and Tokenize may be called between chats, Info at any time.
// After Close (which may be repeated) Chat, Embed and Tokenize fail with
// ErrClosed. engine/enginetest.Run checks this contract.
type Engine interface {
	// Chat streams the answer to req. The last chunk, and only it, carries
	// Done, a DoneReason and Stats; an error ends the sequence instead.
	// Cancelling ctx stops generation promptly; the sequence then yields
	// ctx.Err() and nothing more. A request without messages is an error.
	Chat(ctx context.Context, req ChatRequest) iter.Seq2[Chunk, error]
	// Embed returns one L2-normalised vector per text (none for none).
	// Without CapEmbed it fails with ErrUnsupported.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Tokenize returns the model's token ids for text (no special tokens).
	Tokenize(text string) ([]int, error)
	// Info describes the loaded model, where it runs and what it can do. It
	// is cheap and pure: no I/O, no waiting for a running chat, the same
	// value on every call until the engine learns more about its model.
	// Callers may call it as often as they like.
	Info() ModelInfo
	Close() error
}

// Sentinel errors callers branch on.
var (
	// ErrContextFull: the request does not fit the context even after
	// dropping every old turn (the system prompt and the last message alone
	// are too long).
	ErrContextFull = errors.New("context window full")
	// ErrBadModel: the model file is missing, truncated, foreign or of an
	// unsupported architecture.
	ErrBadModel = errors.New("unusable model file")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("engine closed")
	// ErrUnsupported: the engine or its model cannot do what was asked
	// (see [Capabilities]), e.g. Embed on a model server that only chats.
	ErrUnsupported = errors.New("not supported by this engine")
)

// Role of a message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls the assistant made in this turn.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolName is set on RoleTool messages: the tool whose result this is.
	ToolName string `json:"tool_name,omitempty"`
	// ToolCallID is set on RoleTool messages: the ID of the call this
	// answers, when the engine gave the call one (OpenAI-compatible servers
	// require it).
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// ToolCall is a call the model asked for.
type ToolCall struct {
	// ID names the call when the engine gives calls names (servers do);
	// the tool message with its result carries it back as ToolCallID.
	ID        string         `json:"id,omitempty"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// Tool describes a function the model may call.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Parameters is a JSON schema object.
	Parameters map[string]any `json:"parameters"`
}

// Options control sampling and limits. Zero values take the defaults noted.
type Options struct {
	Temperature   *float32 // default 0.8; 0 = greedy
	TopK          int      // default 40; <0 disables
	TopP          float32  // default 0.9
	MinP          float32  // default 0.0
	RepeatPenalty float32  // default 1.1
	RepeatLastN   int      // default 64
	Seed          *uint32  // default: random
	NumPredict    int      // max tokens to generate; default -1 (until end or context full)
	Stop          []string // generation ends before any of these
}

// ChatRequest is one turn: the whole conversation so far.
type ChatRequest struct {
	// Session names a conversation whose KV cache the engine may keep between
	// turns; requests of one session that extend the previous prompt only
	// evaluate the new tokens. Empty = no reuse across calls.
	Session  string
	Messages []Message
	Tools    []Tool
	// Format constrains the output: nil = free text; a JSON schema object
	// ("type", "properties", ...) = JSON matching it.
	Format  map[string]any
	Options Options
	// Raw, when true, sends Messages[len-1].Content as the prompt text itself,
	// without the chat template (what `nook run` does for base models).
	Raw bool
}

// Chunk is a piece of a streamed answer.
type Chunk struct {
	Text      string
	ToolCalls []ToolCall
	Done      bool
	// DoneReason: "stop" (end of generation or stop sequence), "length"
	// (NumPredict or context reached), "cancel".
	DoneReason string
	Stats      *Stats
}

// Stats of one chat call.
type Stats struct {
	PromptTokens    int           // tokens in the full prompt
	PromptEvaluated int           // tokens actually evaluated (the rest came from the cache)
	PromptDuration  time.Duration // time to evaluate them
	DecodeTokens    int
	DecodeDuration  time.Duration
	TimeToFirst     time.Duration // from the call to the first generated token
	Dropped         int           // messages dropped to fit the context
	ContextUsed     int           // tokens in the context after the answer
	ContextLength   int
	// Drafted and Accepted count prompt-lookup draft tokens: proposed, and
	// confirmed by the model (engines without speculative decoding: 0).
	Drafted, Accepted int
}

// PromptRate is prompt tokens evaluated per second.
func (s Stats) PromptRate() float64 { return rate(s.PromptEvaluated, s.PromptDuration) }

// DecodeRate is generated tokens per second.
func (s Stats) DecodeRate() float64 { return rate(s.DecodeTokens, s.DecodeDuration) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Name          string
	Path          string
	Architecture  string
	Parameters    uint64
	Quantization  string
	ContextLength int // the context this engine runs with
	TrainedLength int // the model's trained context
	EmbeddingSize int
	Backend       string // for people to read: "CPU", "CUDA", "Metal", "remote ollama HOST"; code branches on Capabilities
	Template      string // the chat template in use (Go template text)
	LoadDuration  time.Duration
	// Threads is the CPU threads in use now, ThreadsWhy the reason (the
	// measured load, or the pinned count); 0 and "" for remote engines.
	Threads    int
	ThreadsWhy string
	// Capabilities says what Chat and Embed can do with this model.
	Capabilities Capabilities
}

// Capabilities is the set of things an engine can do with its model. An
// engine reports them in [ModelInfo]; callers branch on them with Has.
type Capabilities uint32

// The capabilities an engine may have.
const (
	// CapChat: Chat generates text.
	CapChat Capabilities = 1 << iota
	// CapEmbed: Embed returns vectors. Without it Embed fails with
	// ErrUnsupported.
	CapEmbed
	// CapTools: Chat takes ChatRequest.Tools and returns the calls the model
	// makes as Chunk.ToolCalls (the engine or its server parses them).
	// Without it Tools only reach the prompt, and callers that want calls
	// drive the model through Format instead.
	CapTools
	// CapFormat: Chat constrains its output to ChatRequest.Format (a JSON
	// schema), e.g. with a grammar.
	CapFormat
	// CapVision: messages may carry images (reserved: Message has no images
	// yet).
	CapVision
	// CapTokenize: Tokenize returns the model's own token ids; without it
	// Tokenize estimates a count (remote servers do not expose their
	// tokenizer).
	CapTokenize
)

var capNames = []struct {
	c    Capabilities
	name string
}{
	{CapChat, "chat"}, {CapEmbed, "embed"}, {CapTools, "tools"},
	{CapFormat, "format"}, {CapVision, "vision"}, {CapTokenize, "tokenize"},
}

// Has reports whether c includes every capability in x.
func (c Capabilities) Has(x Capabilities) bool { return c&x == x }

// String lists the capabilities by name, comma-separated ("chat,embed").
func (c Capabilities) String() string {
	var names []string
	for _, n := range capNames {
		if c.Has(n.c) {
			names = append(names, n.name)
			c &^= n.c
		}
	}
	if c != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(c)))
	}
	return strings.Join(names, ",")
}

// Normalize scales v to unit length in place (a zero vector stays zero) and
// returns it: every Embed implementation returns vectors this way.
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}
