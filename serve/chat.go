package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/vault"
)

// RAGModel is the model name that asks for an answer from the vault with
// the default chat model: `ollama run nook:rag "…"`, or model "nook:rag" in
// an OpenAI client. Any other model answers from the vault when the
// request carries the extension {"nook": {"rag": true}}.
const RAGModel = "nook:rag"

// Ext is nook's extension field of a request, at the top level of the
// JSON body in both APIs: {"model": …, "messages": […], "nook": {…}}.
type Ext struct {
	// RAG answers from the vault: the last user message is the question,
	// the retrieved chunks go into the prompt as numbered sources.
	RAG bool `json:"rag,omitempty"`
	// Tag limits retrieval to the documents added with this tag.
	Tag string `json:"tag,omitempty"`
	// Sources is how many chunks to retrieve (default 5, at most 20).
	Sources int `json:"sources,omitempty"`
}

// ExtReply is nook's extension field of an answer (the final chunk of a
// stream): the sources a vault-aware answer was given, with Cited set on
// those its text cites as [n].
type ExtReply struct {
	Sources []assistant.Source `json:"sources"`
}

// chatJob is one chat request in nook's terms, whatever API it came in.
type chatJob struct {
	model    string
	messages []engine.Message
	tools    []engine.Tool
	// toolChoice: "" or "auto", "none", "required", or a function's name.
	toolChoice string
	format     map[string]any
	raw        bool
	options    engine.Options
	ext        Ext
}

// chatOut is a piece of an answer: text, tool calls, or the end.
type chatOut struct {
	Model   string
	Text    string
	Calls   []toolCall
	Done    bool
	Reason  string // "stop", "length" (done only)
	Stats   *engine.Stats
	Sources []assistant.Source // done only, vault-aware answers
	Load    time.Duration
}

// toolCall is a call the model made, for the client to run.
type toolCall struct {
	ID   string
	Name string
	Args map[string]any
}

// toolCalls gives each call an ID (the engine's, when it named the call).
func toolCalls(cs []engine.ToolCall) []toolCall {
	out := make([]toolCall, len(cs))
	for i, c := range cs {
		out[i] = toolCall{ID: c.ID, Name: c.Name, Args: c.Arguments}
		if out[i].ID == "" {
			out[i].ID = "call_" + randomID()
		}
		if out[i].Args == nil {
			out[i].Args = map[string]any{}
		}
	}
	return out
}

// errStarted wraps an error that happened after the first emit: the
// status line is sent, so each API reports it inside the stream.
type errStarted struct{ error }

func (e errStarted) Unwrap() error { return e.error }

// chat runs job for the caller in ctx and calls emit with each piece. An
// error before the first emit is returned as is; after it, wrapped in
// errStarted. Cancelling ctx (the client went away) stops generation at
// once and frees the engine for the next request.
func (s *Server) chat(ctx context.Context, job *chatJob, emit func(chatOut) error) error {
	c := callerOf(ctx)
	if err := s.allow(ctx, c, ScopeChat); err != nil {
		return err
	}
	if job.model == RAGModel {
		job.ext.RAG = true
		job.model = s.models.DefaultChat()
		if job.model == "" {
			return badRequest("model", "%s answers with the default chat model, and none is configured (set model in the config)", RAGModel)
		}
	}
	if job.model == "" {
		return badRequest("model", "no model given")
	}
	if job.ext.Sources < 0 || job.ext.Sources > 20 {
		return badRequest("nook.sources", "nook.sources must be 0 to 20, not %d", job.ext.Sources)
	}
	var store *grantedStore
	if job.ext.RAG {
		ra, err := s.allowRead(ctx, c, job.ext.Tag)
		if err != nil {
			return err
		}
		if s.vault == nil {
			return errUnavailable(errors.New("the vault is not open in this server"))
		}
		store = &grantedStore{s: s, ctx: ctx, c: c, access: ra}
	}
	if err := s.admit(); err != nil {
		return err
	}
	defer s.leave()
	loadStart := time.Now()
	eng, err := s.models.Acquire(ctx, job.model)
	if err != nil {
		if errors.Is(err, ErrModelNotFound) {
			return errModelNotFound(job.model)
		}
		return err
	}
	defer eng.Close()
	load := time.Since(loadStart)
	info := eng.Info()
	if info.Name == "" {
		info.Name = job.model
	}

	// Without max_tokens an answer runs to its end or the context's (the
	// context bounds it); with one, MaxTokens caps it.
	opts := job.options
	if opts.NumPredict < 0 {
		opts.NumPredict = 0
	}
	opts.NumPredict = min(opts.NumPredict, s.o.MaxTokens)
	req := engine.ChatRequest{Messages: job.messages, Format: job.format, Options: opts, Raw: job.raw}
	var sources []assistant.Source
	if store != nil {
		if req, sources, err = s.ragRequest(ctx, eng, store, job, opts); err != nil {
			return err
		}
	}
	if len(req.Messages) == 0 {
		return badRequest("messages", "no messages")
	}

	st := &streamState{emit: emit, model: job.model, limit: s.o.MaxOutput, load: load}
	tools := job.tools
	if job.toolChoice == "none" {
		tools = nil
	}
	if len(tools) > 0 {
		if info.Capabilities.Has(engine.CapTools) {
			req.Tools = tools
		} else {
			return s.formatTools(ctx, eng, req, tools, job.toolChoice, st, sources)
		}
	}
	return s.stream(ctx, eng, req, st, sources)
}

// streamState carries what a chat has emitted so far.
type streamState struct {
	emit    func(chatOut) error
	model   string
	limit   int // bytes of text
	sent    int
	started bool
	load    time.Duration
}

func (st *streamState) send(o chatOut) error {
	o.Model = st.model
	if !st.started {
		o.Load = st.load
	}
	st.started = true
	return st.emit(o)
}

func (st *streamState) fail(err error) error {
	if st.started {
		return errStarted{err}
	}
	return err
}

// stream runs req and emits its text as it comes, cut at the output cap.
func (s *Server) stream(ctx context.Context, eng engine.Engine, req engine.ChatRequest, st *streamState, sources []assistant.Source) error {
	var all strings.Builder
	for ch, err := range eng.Chat(ctx, req) {
		if err != nil {
			return st.fail(err)
		}
		if ch.Text != "" {
			text := ch.Text
			over := st.sent+len(text) > st.limit
			if over {
				text = cutUTF8(text, st.limit-st.sent)
			}
			st.sent += len(text)
			if sources != nil {
				all.WriteString(text)
			}
			if text != "" || len(ch.ToolCalls) > 0 {
				if err := st.send(chatOut{Text: text, Calls: toolCalls(ch.ToolCalls)}); err != nil {
					return errStarted{err}
				}
			}
			if over {
				return st.send(chatOut{Done: true, Reason: "length", Stats: ch.Stats, Sources: assistant.MarkCited(all.String(), sources)})
			}
		} else if len(ch.ToolCalls) > 0 {
			if err := st.send(chatOut{Calls: toolCalls(ch.ToolCalls)}); err != nil {
				return errStarted{err}
			}
		}
		if ch.Done {
			return st.send(chatOut{Done: true, Reason: ch.DoneReason, Stats: ch.Stats, Sources: markCited(all.String(), sources)})
		}
	}
	if err := ctx.Err(); err != nil {
		return st.fail(err)
	}
	return st.fail(errors.New("the engine ended the answer without a final chunk"))
}

func markCited(text string, sources []assistant.Source) []assistant.Source {
	if sources == nil {
		return nil
	}
	return assistant.MarkCited(text, sources)
}

// cutUTF8 returns at most n bytes of s, not splitting a character.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if n >= len(s) {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// formatTools drives tools through a JSON schema for engines that do not
// parse tool calls themselves (the in-process engine): the reply must be
// {"call": NAME, "with": ARGS} or {"answer": TEXT} (assistant.CallFormat),
// and a call comes back to the client as a tool call, for it to run. The
// reply is collected before anything is sent.
func (s *Server) formatTools(ctx context.Context, eng engine.Engine, req engine.ChatRequest, tools []engine.Tool, choice string, st *streamState, sources []assistant.Source) error {
	answer := choice != "required"
	if choice != "" && choice != "auto" && choice != "required" {
		i := slices.IndexFunc(tools, func(t engine.Tool) bool { return t.Name == choice })
		if i < 0 {
			return badRequest("tool_choice", "tool_choice names %q, which is not among the tools", choice)
		}
		tools, answer = tools[i:i+1], false
	}
	req.Messages = toolMessages(req.Messages, tools)
	req.Tools = nil
	if req.Format != nil {
		return badRequest("response_format", "tools and a response format cannot be combined with this model")
	}
	req.Format = assistant.CallFormat(tools, answer)
	var text strings.Builder
	var done engine.Chunk
	for ch, err := range eng.Chat(ctx, req) {
		if err != nil {
			return st.fail(err)
		}
		text.WriteString(ch.Text)
		if text.Len() > st.limit {
			break
		}
		if ch.Done {
			done = ch
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	reply, err := assistant.ParseReply(text.String())
	switch {
	case err != nil: // cut short: the text as it came
		out := cutUTF8(text.String(), st.limit)
		if err := st.send(chatOut{Text: out}); err != nil {
			return errStarted{err}
		}
		return st.send(chatOut{Done: true, Reason: "length", Stats: done.Stats, Sources: markCited(out, sources)})
	case reply.Answer != nil:
		out := cutUTF8(*reply.Answer, st.limit)
		if out != "" {
			if err := st.send(chatOut{Text: out}); err != nil {
				return errStarted{err}
			}
		}
		reason := done.DoneReason
		if reason == "" {
			reason = "stop"
		}
		return st.send(chatOut{Done: true, Reason: reason, Stats: done.Stats, Sources: markCited(out, sources)})
	}
	calls := toolCalls([]engine.ToolCall{{Name: reply.Call, Arguments: reply.With}})
	if err := st.send(chatOut{Calls: calls}); err != nil {
		return errStarted{err}
	}
	return st.send(chatOut{Done: true, Reason: "stop", Stats: done.Stats, Sources: markCited("", sources)})
}

// ToolPrompt goes into the system prompt when tools are driven through the
// JSON schema.
const ToolPrompt = `You can call functions. To call one, reply with JSON only: {"call": "<function>", "with": {<arguments>}}. To answer, reply {"answer": "<text>"}. A function's result comes back in a tool message.
Functions:`

// toolMessages adds the tools to the system prompt, and writes earlier tool
// calls in the reply format so the model sees its own convention.
func toolMessages(msgs []engine.Message, tools []engine.Tool) []engine.Message {
	var b strings.Builder
	b.WriteString(ToolPrompt)
	for _, t := range tools {
		params, _ := json.Marshal(t.Parameters)
		fmt.Fprintf(&b, "\n- %s(%s): %s", t.Name, params, strings.TrimSpace(t.Description))
	}
	out := make([]engine.Message, 0, len(msgs)+1)
	if len(msgs) == 0 || msgs[0].Role != engine.RoleSystem {
		out = append(out, engine.Message{Role: engine.RoleSystem, Content: b.String()})
	}
	for i, m := range msgs {
		if i == 0 && m.Role == engine.RoleSystem {
			m.Content += "\n\n" + b.String()
		}
		if m.Role == engine.RoleAssistant && len(m.ToolCalls) > 0 && m.Content == "" {
			call := m.ToolCalls[0]
			j, _ := json.Marshal(map[string]any{"call": call.Name, "with": call.Arguments})
			m.Content = string(j)
		}
		out = append(out, m)
	}
	return out
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ragRequest builds a vault-aware request: the client's system message (or
// the assistant's), its earlier turns as history, and the last user
// message as the question, with numbered sources and memory within the
// model's context (internal/assistant does the budget).
func (s *Server) ragRequest(ctx context.Context, eng engine.Engine, store *grantedStore, job *chatJob, opts engine.Options) (engine.ChatRequest, []assistant.Source, error) {
	msgs := job.messages
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != engine.RoleUser {
		return engine.ChatRequest{}, nil, badRequest("messages", "a vault-aware answer needs the question as the last message, from the user")
	}
	var aopts []assistant.Option
	if msgs[0].Role == engine.RoleSystem && len(msgs) > 1 {
		aopts = append(aopts, assistant.WithSystem(msgs[0].Content))
		msgs = msgs[1:]
	}
	k := job.ext.Sources
	if k == 0 {
		k = s.o.Sources
	}
	// Room for the answer: what the client asked for, else a quarter of
	// the context; never more than half of it.
	ctxLen := eng.Info().ContextLength
	answer := opts.NumPredict
	if answer <= 0 {
		answer = max(ctxLen/4, 64)
	}
	if ctxLen > 0 {
		answer = min(answer, ctxLen/2)
	}
	opts.NumPredict = answer
	aopts = append(aopts, assistant.WithSources(k), assistant.WithChatOptions(opts), assistant.WithAnswerTokens(answer))
	a := assistant.New(eng, store, aopts...)
	t, err := a.Turn(ctx, assistant.Input{Text: msgs[len(msgs)-1].Content, History: msgs[:len(msgs)-1]})
	if err != nil {
		return engine.ChatRequest{}, nil, err
	}
	req := t.Request
	req.Format, req.Raw = job.format, false
	req.Options.NumPredict = opts.NumPredict
	if t.Sources == nil {
		t.Sources = []assistant.Source{}
	}
	return req, t.Sources, nil
}

// grantedStore is the vault as one caller may see it (assistant.Store):
// search within the tags it may read, memory facts only with the whole
// vault, remembering only with memory:write.
type grantedStore struct {
	s      *Server
	ctx    context.Context
	c      *Caller
	access readAccess
}

var _ assistant.Store = (*grantedStore)(nil)

func (g *grantedStore) Search(ctx context.Context, query string, o vault.SearchOptions) ([]vault.Hit, error) {
	return g.s.search(ctx, g.access, query, o)
}

func (g *grantedStore) Facts() ([]vault.Fact, error) {
	if !g.access.all {
		return nil, nil
	}
	return g.s.vault.Facts()
}

func (g *grantedStore) Remember(text string) (vault.Fact, error) {
	if err := g.s.allow(g.ctx, g.c, ScopeMemoryWrite); err != nil {
		return vault.Fact{}, err
	}
	return g.s.vault.Remember(text)
}

// refresh lets the vault catch up with what other processes wrote (`nook
// add`, sync) before it answers, at most every two seconds.
func (s *Server) refresh() {
	r, ok := s.vault.(interface{ Refresh() error })
	if !ok {
		return
	}
	now := time.Now().UnixNano()
	last := s.refreshed.Load()
	if now-last < int64(2*time.Second) || !s.refreshed.CompareAndSwap(last, now) {
		return
	}
	if err := r.Refresh(); err != nil {
		s.log.Warn("serve: vault refresh", "err", err)
	}
}

// search runs a vault search within what access allows: one search for the
// whole vault, or one per tag merged by score.
func (s *Server) search(ctx context.Context, access readAccess, query string, o vault.SearchOptions) ([]vault.Hit, error) {
	s.refresh()
	if o.K <= 0 {
		o.K = s.o.Sources
	}
	if access.all {
		return s.vault.Search(ctx, query, o)
	}
	if o.Tag != "" {
		if !slices.Contains(access.tags, o.Tag) {
			return nil, errForbidden(fmt.Sprintf("no grant to read tag %q", o.Tag), "", ScopeTagPrefix+o.Tag)
		}
		return s.vault.Search(ctx, query, o)
	}
	var hits []vault.Hit
	for _, t := range access.tags {
		o.Tag = t
		hs, err := s.vault.Search(ctx, query, o)
		if err != nil {
			return nil, err
		}
		hits = append(hits, hs...)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	seen := map[string]bool{}
	out := hits[:0]
	for _, h := range hits {
		key := fmt.Sprintf("%s:%d", h.Source, h.StartLine)
		if !seen[key] {
			seen[key] = true
			out = append(out, h)
		}
	}
	return out[:min(len(out), o.K)], nil
}
