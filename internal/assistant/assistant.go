package assistant

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// Engine is what a turn needs from a model; engine.Engine satisfies it.
type Engine interface {
	Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error]
	Tokenize(text string) ([]int, error)
	Info() engine.ModelInfo
}

// Store is what a turn needs from the vault; *vault.Vault satisfies it.
type Store interface {
	Search(ctx context.Context, query string, o vault.SearchOptions) ([]vault.Hit, error)
	Facts() ([]vault.Fact, error)
	Remember(text string) (vault.Fact, error)
}

var (
	_ Engine = engine.Engine(nil)
	_ Store  = (*vault.Vault)(nil)
)

// DefaultSystem is the instruction part of the system prompt.
const DefaultSystem = `You are nook, a personal assistant. Answer from the numbered sources when they are relevant and cite them as [1], [2] right after the statement they support. If the sources do not contain the answer, say so briefly. Be concise.`

// Assistant runs turns against one engine and one vault.
type Assistant struct {
	eng   Engine
	store Store
	o     options
}

type options struct {
	system      string
	k           int
	answerToks  int
	search      vault.SearchOptions
	chatOptions engine.Options
	tools       *toolConfig // WithTools (tools.go)
}

// Option configures New.
type Option func(*options)

// WithSystem replaces DefaultSystem.
func WithSystem(s string) Option { return func(o *options) { o.system = s } }

// WithSources caps how many sources a turn may give the model (default:
// as many as fit the retrieval budget, see sourceBudget).
func WithSources(k int) Option { return func(o *options) { o.k = k } }

// WithAnswerTokens reserves room for the answer (default: min(512, context/4)).
func WithAnswerTokens(n int) Option { return func(o *options) { o.answerToks = n } }

// WithSearch sets folder/tag filters and the retrieval mode.
func WithSearch(s vault.SearchOptions) Option { return func(o *options) { o.search = s } }

// WithChatOptions sets sampling options passed to the engine.
func WithChatOptions(c engine.Options) Option { return func(o *options) { o.chatOptions = c } }

// New returns an assistant. store may be nil (no retrieval, no memory).
func New(e Engine, store Store, opts ...Option) *Assistant {
	o := options{system: DefaultSystem}
	for _, f := range opts {
		f(&o)
	}
	return &Assistant{eng: e, store: store, o: o}
}

// Source is a retrieved passage given to the model as [N].
type Source struct {
	N         int     `json:"n"`
	Path      string  `json:"source"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Page      int     `json:"page,omitempty"` // of a PDF: the lines are within it
	Score     float64 `json:"score"`
	Text      string  `json:"text"`
	Cited     bool    `json:"cited"`
}

// Input is one user turn.
type Input struct {
	Text    string
	History []engine.Message // earlier turns, oldest first
	Session string           // engine KV-cache session name
}

// Turn is a turn in progress: the sources given to the model, the request
// sent, and the streamed answer.
type Turn struct {
	Sources []Source
	Request engine.ChatRequest
	// Remembered is set when the input asked to remember something.
	Remembered *vault.Fact
	// Notice is a line to show with the turn ("" when none): why the
	// plugins' tools sit this turn out.
	Notice string
	// Chunks streams the answer; iterate it once.
	Chunks iter.Seq2[engine.Chunk, error]
}

// Answer is a collected turn (the JSON shape of `nook ask --json`).
type Answer struct {
	Answer  string        `json:"answer"`
	Sources []Source      `json:"sources"`
	Stats   *engine.Stats `json:"-"`
	// Cut says why the answer stopped before its end ("" = it ended):
	// see CutNote.
	Cut string `json:"cut,omitempty"`
	// Notice is Turn.Notice.
	Notice string `json:"notice,omitempty"`
}

// CutNote is the line that marks an answer cut off ("" when reason is not
// "length"): by a full context, or by the tokens reserved for the answer.
func CutNote(reason string, s *engine.Stats) string {
	if reason != "length" {
		return ""
	}
	if s != nil && s.ContextLength > 0 && s.ContextUsed >= s.ContextLength-8 {
		return fmt.Sprintf("answer cut off: the context (%d tokens) is full; start a new session, or ask for the rest", s.ContextLength)
	}
	if s != nil && s.DecodeTokens > 0 {
		return fmt.Sprintf("answer cut off at its length limit (%d tokens); ask for the rest", s.DecodeTokens)
	}
	return "answer cut off at its length limit; ask for the rest"
}

var rememberRE = regexp.MustCompile(`(?i)^\s*(?:please\s+)?remember(?:\s+that)?[\s:,]+(.+)$`)

// Turn retrieves, builds the prompt within the token budget and starts the
// engine. A message of the form "remember (that) X" stores X as a fact
// first.
func (a *Assistant) Turn(ctx context.Context, in Input) (*Turn, error) {
	t := &Turn{}
	question := strings.TrimSpace(in.Text)
	if question == "" {
		return nil, errors.New("assistant: empty question")
	}
	if m := rememberRE.FindStringSubmatch(question); m != nil && a.store != nil {
		f, err := a.store.Remember(m[1])
		if err != nil {
			return nil, fmt.Errorf("assistant: remember: %w", err)
		}
		t.Remembered = &f
	}
	tools, toolCost, err := a.turnTools(ctx, question)
	if err != nil {
		return nil, err
	}
	if tools == nil && toolCost > 0 {
		t.Notice = a.toolsOffNotice(question, toolCost)
		toolCost = 0
	}
	var facts []vault.Fact
	var hits []vault.Hit
	if a.store != nil {
		var err error
		if facts, err = a.store.Facts(); err != nil {
			return nil, fmt.Errorf("assistant: memory: %w", err)
		}
		so := a.o.search
		so.K = a.o.k
		so.Budget = a.sourceBudget(question, toolCost)
		so.Tokens = a.count
		so.PerHit = perSource
		if t.Remembered == nil {
			if hits, err = a.store.Search(ctx, question, so); err != nil {
				return nil, fmt.Errorf("assistant: retrieve: %w", err)
			}
		}
	}
	msgs, used, err := a.buildPrompt(question, toolCost, facts, hits, in.History)
	if err != nil {
		return nil, err
	}
	for i, h := range hits[:used] {
		t.Sources = append(t.Sources, Source{N: i + 1, Path: h.Source, StartLine: h.StartLine, EndLine: h.EndLine, Page: h.Page, Score: h.Score, Text: h.Text})
	}
	t.Request = engine.ChatRequest{Session: in.Session, Messages: msgs, Options: a.o.chatOptions}
	if t.Request.Options.NumPredict == 0 {
		t.Request.Options.NumPredict = a.answerTokens()
	}
	if len(tools) > 0 {
		t.Chunks = a.toolLoop(ctx, t.Request, tools)
	} else {
		t.Chunks = a.eng.Chat(ctx, t.Request)
	}
	return t, nil
}

// Ask runs a turn and collects the answer, marking the cited sources.
func (a *Assistant) Ask(ctx context.Context, in Input, onText func(string)) (*Answer, error) {
	t, err := a.Turn(ctx, in)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	ans := &Answer{Notice: t.Notice}
	for c, err := range t.Chunks {
		if err != nil {
			return nil, err
		}
		sb.WriteString(c.Text)
		if onText != nil && c.Text != "" {
			onText(c.Text)
		}
		if c.Stats != nil {
			ans.Stats = c.Stats
		}
		if c.Done {
			ans.Cut = CutNote(c.DoneReason, c.Stats)
		}
	}
	ans.Answer = sb.String()
	ans.Sources = MarkCited(ans.Answer, t.Sources)
	if ans.Sources == nil {
		ans.Sources = []Source{}
	}
	return ans, nil
}

var citeRE = regexp.MustCompile(`\[(\d+)\]`)

// MarkCited sets Cited on the sources whose [n] appears in answer.
func MarkCited(answer string, sources []Source) []Source {
	cited := map[int]bool{}
	for _, m := range citeRE.FindAllStringSubmatch(answer, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			cited[n] = true
		}
	}
	out := append([]Source(nil), sources...)
	for i := range out {
		out[i].Cited = cited[out[i].N]
	}
	return out
}

func (a *Assistant) contextLength() int {
	if n := a.eng.Info().ContextLength; n > 0 {
		return n
	}
	return 2048
}

func (a *Assistant) answerTokens() int {
	if a.o.answerToks > 0 {
		return a.o.answerToks
	}
	return min(512, a.contextLength()/4)
}

// perMessage approximates the chat template's tokens around each message.
const perMessage = 8

// perSource approximates the tokens formatSource puts before a source's
// text ("[3] /home/me/notes/chats.md:12-18 (Chats > 2 March 2024)" and
// line breaks).
const perSource = 32

// maxSourceTokens bounds retrieval on long-context models: past a few
// thousand tokens more passages cost prompt time and dilute the evidence
// more than they add to it.
const maxSourceTokens = 4096

// sourceBudget is how many tokens of sources a turn asks retrieval for:
// what the context leaves after the answer reserve, the instructions and
// the question, less a quarter of that (at most 512 tokens) kept for
// memory facts and recent history, and at most maxSourceTokens. A
// 2,048-token context gets about 1,000 tokens of sources, a 4,096-token
// one about 3,000. extra is what else the prompt must hold (the tools'
// descriptions, see toolCost).
func (a *Assistant) sourceBudget(question string, extra int) int {
	left := a.contextLength() - a.answerTokens() - a.baseTokens(question) - extra
	return min(max(left-min(left/4, 512), 0), maxSourceTokens)
}

// baseTokens is what the instructions, the question and the chat
// template around them take.
func (a *Assistant) baseTokens(question string) int {
	return a.count(a.o.system) + a.count(question) + 2*perMessage + 16
}

func (a *Assistant) count(s string) int {
	toks, err := a.eng.Tokenize(s)
	if err != nil {
		return len(s)/3 + 1 // a safe over-estimate
	}
	return len(toks)
}

// buildPrompt assembles the messages within the budget: context length
// minus the answer reserve and extra (the tools' share, see toolCost). It
// keeps, in order of priority, the instructions and the question, then
// sources best first, then memory facts newest first, then history newest
// first. It returns how many of hits made it in.
func (a *Assistant) buildPrompt(question string, extra int, facts []vault.Fact, hits []vault.Hit, history []engine.Message) ([]engine.Message, int, error) {
	budget := a.contextLength() - a.answerTokens() - extra
	base := a.baseTokens(question)
	if base > budget {
		return nil, 0, hint.New(fmt.Errorf("assistant: the question alone needs %d tokens, the budget is %d: %w", base, budget, engine.ErrContextFull),
			"ask a shorter question, or use a model with a longer context")
	}
	left := budget - base
	var srcTexts []string
	for i, h := range hits {
		s := formatSource(i+1, h)
		n := a.count(s) + 1
		if n > left {
			if i == 0 && left > 64 { // cut the best source rather than drop it
				s = s[:len(s)*left/n/10*9]
				n = a.count(s) + 1
				if n <= left {
					srcTexts = append(srcTexts, s+"…")
					left -= n
				}
			}
			break
		}
		srcTexts = append(srcTexts, s)
		left -= n
	}
	var keptFacts []string
	for i := len(facts) - 1; i >= 0; i-- {
		s := "- " + facts[i].Text
		n := a.count(s) + 1
		if n > left {
			break
		}
		keptFacts = append([]string{s}, keptFacts...)
		left -= n
	}
	if len(keptFacts) > 0 {
		left -= a.count("Things the user asked you to remember:") + 1
	}
	var keptHist []engine.Message
	for i := len(history) - 1; i >= 0; i-- {
		n := a.count(history[i].Content) + perMessage
		if n > left {
			break
		}
		keptHist = append([]engine.Message{history[i]}, keptHist...)
		left -= n
	}

	system := a.o.system
	if len(keptFacts) > 0 {
		system += "\n\nThings the user asked you to remember:\n" + strings.Join(keptFacts, "\n")
	}
	user := question
	if len(srcTexts) > 0 {
		user = "Sources:\n\n" + strings.Join(srcTexts, "\n\n") + "\n\nQuestion: " + question
	}
	msgs := []engine.Message{{Role: engine.RoleSystem, Content: system}}
	msgs = append(msgs, keptHist...)
	msgs = append(msgs, engine.Message{Role: engine.RoleUser, Content: user})
	return msgs, len(srcTexts), nil
}

// formatSource numbers a passage and heads it with where it comes from and
// its context: the headings above it and the date in force (a chat turn
// rarely says when it was written).
func formatSource(n int, h vault.Hit) string {
	head := fmt.Sprintf("[%d] %s", n, vault.Location(h.Source, h.Page, h.StartLine, h.EndLine))
	var ctx []string
	if h.Heading != "" {
		ctx = append(ctx, h.Heading)
	}
	if h.Date != "" && !strings.Contains(h.Heading, h.Date) {
		ctx = append(ctx, h.Date)
	}
	if len(ctx) > 0 {
		head += " (" + strings.Join(ctx, ", ") + ")"
	}
	return head + "\n" + strings.TrimSpace(h.Text)
}
