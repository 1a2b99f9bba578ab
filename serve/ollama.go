package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/nook-ai/nook/engine"
)

// The Ollama API (https://github.com/ollama/ollama/blob/main/docs/api.md)
// over nook's models, enough for the ollama CLI and Ollama's client
// libraries: /api/chat, /api/generate, /api/embed, /api/embeddings,
// /api/tags, /api/show, /api/ps, /api/version. Requests and answers use
// the types of github.com/ollama/ollama/api, so the wire format is
// Ollama's own. Errors are {"error": "…"} with the HTTP status.

// readBody reads a JSON request body into v, and into each of more (for
// the fields v's type does not hold, like nook's extension). Malformed JSON
// is a 400, an oversized body a 413.
func readBody(r *http.Request, v any, more ...any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return errTooLarge(mb.Limit)
		}
		return badRequest("", "reading the request: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "the request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("", "malformed JSON: %v", err)
	}
	for _, m := range more {
		if err := json.Unmarshal(body, m); err != nil {
			return badRequest("", "malformed JSON: %v", err)
		}
	}
	return nil
}

// extField reads nook's extension field of a request.
type extField struct {
	Nook *Ext `json:"nook"`
}

func (e extField) ext() Ext {
	if e.Nook == nil {
		return Ext{}
	}
	return *e.Nook
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ndjson streams Ollama's newline-delimited JSON.
type ndjson struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func newNDJSON(w http.ResponseWriter) *ndjson {
	return &ndjson{w: w, rc: http.NewResponseController(w)}
}

func (n *ndjson) send(v any) error {
	if !n.started {
		n.w.Header().Set("Content-Type", "application/x-ndjson")
		n.w.WriteHeader(http.StatusOK)
		n.started = true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := n.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return n.rc.Flush()
}

// chatResponse is api.ChatResponse with nook's extension.
type chatResponse struct {
	api.ChatResponse
	Nook *ExtReply `json:"nook,omitempty"`
}

type generateResponse struct {
	api.GenerateResponse
	Nook *ExtReply `json:"nook,omitempty"`
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	var ext extField
	if err := readBody(r, &req, &ext); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := ollamaJob(req.Model, req.Format, req.Options, req.Think, ext.ext())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if job.messages, err = fromAPIMessages(req.Messages); err != nil {
		s.writeError(w, r, err)
		return
	}
	if job.tools, err = fromAPITools(req.Tools); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(job.messages) == 0 {
		s.ollamaLoad(w, r, job.model, true)
		return
	}
	stream := req.Stream == nil || *req.Stream
	out := newNDJSON(w)
	var all chatResponse
	start := time.Now()
	err = s.chat(r.Context(), job, func(o chatOut) error {
		resp := chatResponse{ChatResponse: api.ChatResponse{Model: o.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant", Content: o.Text, ToolCalls: toAPICalls(o.Calls)}, Done: o.Done, DoneReason: o.Reason}}
		if o.Done {
			resp.Metrics = metrics(o.Stats, time.Since(start))
			if o.Sources != nil {
				resp.Nook = &ExtReply{Sources: o.Sources}
			}
		}
		if stream {
			return out.send(resp)
		}
		all.Model = resp.Model
		all.Message.Role = "assistant"
		all.Message.Content += resp.Message.Content
		all.Message.ToolCalls = append(all.Message.ToolCalls, resp.Message.ToolCalls...)
		if o.Done {
			all.CreatedAt, all.Done, all.DoneReason, all.Metrics, all.Nook = resp.CreatedAt, true, resp.DoneReason, resp.Metrics, resp.Nook
		}
		return nil
	})
	s.finishOllama(w, r, out, err, stream, all)
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	var req api.GenerateRequest
	var ext extField
	if err := readBody(r, &req, &ext); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := ollamaJob(req.Model, req.Format, req.Options, req.Think, ext.ext())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case len(req.Images) > 0:
		err = badRequest("images", "nook serves no vision models yet; send text only")
	case req.Suffix != "":
		err = badRequest("suffix", "fill-in-the-middle (suffix) is not supported")
	case req.Template != "":
		err = badRequest("template", "nook renders prompts with the model's own template; leave template empty")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Prompt == "" {
		s.ollamaLoad(w, r, job.model, false)
		return
	}
	job.raw = req.Raw
	if req.System != "" && !req.Raw {
		job.messages = append(job.messages, engine.Message{Role: engine.RoleSystem, Content: req.System})
	}
	job.messages = append(job.messages, engine.Message{Role: engine.RoleUser, Content: req.Prompt})
	stream := req.Stream == nil || *req.Stream
	out := newNDJSON(w)
	var all generateResponse
	start := time.Now()
	err = s.chat(r.Context(), job, func(o chatOut) error {
		resp := generateResponse{GenerateResponse: api.GenerateResponse{Model: o.Model, CreatedAt: time.Now().UTC(),
			Response: o.Text, ToolCalls: toAPICalls(o.Calls), Done: o.Done, DoneReason: o.Reason}}
		if o.Done {
			resp.Metrics = metrics(o.Stats, time.Since(start))
			if o.Sources != nil {
				resp.Nook = &ExtReply{Sources: o.Sources}
			}
		}
		if stream {
			return out.send(resp)
		}
		all.Model = resp.Model
		all.Response += resp.Response
		all.ToolCalls = append(all.ToolCalls, resp.ToolCalls...)
		if o.Done {
			all.CreatedAt, all.Done, all.DoneReason, all.Metrics, all.Nook = resp.CreatedAt, true, resp.DoneReason, resp.Metrics, resp.Nook
		}
		return nil
	})
	s.finishOllama(w, r, out, err, stream, all)
}

// finishOllama ends a chat or generate answer: the collected response, or
// the error as a status (nothing sent yet) or as a last {"error"} line.
func (s *Server) finishOllama(w http.ResponseWriter, r *http.Request, out *ndjson, err error, stream bool, all any) {
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away; nobody reads an error
		}
		if out.started {
			out.send(map[string]string{"error": asAPIError(err).Error()})
			return
		}
		s.writeError(w, r, err)
		return
	}
	if !stream {
		writeJSON(w, http.StatusOK, all)
	}
}

// ollamaLoad answers a chat without messages or a generate without a
// prompt: Ollama's way to load a model.
func (s *Server) ollamaLoad(w http.ResponseWriter, r *http.Request, name string, chat bool) {
	c := callerOf(r.Context())
	if err := s.allow(r.Context(), c, ScopeChat); err != nil {
		s.writeError(w, r, err)
		return
	}
	if name == RAGModel {
		name = s.models.DefaultChat()
	}
	eng, err := s.models.Acquire(r.Context(), name)
	if err != nil {
		if errors.Is(err, ErrModelNotFound) {
			err = errModelNotFound(name)
		}
		s.writeError(w, r, err)
		return
	}
	eng.Close()
	now := time.Now().UTC()
	if chat {
		writeJSON(w, http.StatusOK, api.ChatResponse{Model: name, CreatedAt: now, Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "load"})
		return
	}
	writeJSON(w, http.StatusOK, api.GenerateResponse{Model: name, CreatedAt: now, Done: true, DoneReason: "load"})
}

// ollamaJob reads what chat and generate share: model, format, options.
func ollamaJob(model string, format json.RawMessage, options map[string]any, think *api.ThinkValue, ext Ext) (*chatJob, error) {
	if model == "" {
		return nil, badRequest("model", "model is required")
	}
	if think != nil && think.Bool() {
		return nil, badRequest("think", "%q does not support thinking", model)
	}
	f, err := parseFormat(format)
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(options)
	if err != nil {
		return nil, err
	}
	return &chatJob{model: model, format: f, options: o, ext: ext}, nil
}

// parseFormat reads Ollama's format: "json" (any JSON object) or a JSON
// schema.
func parseFormat(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "json" {
			return map[string]any{"type": "object"}, nil
		}
		return nil, badRequest("format", `format must be "json" or a JSON schema, not %q`, s)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, badRequest("format", "format must be \"json\" or a JSON schema object: %v", err)
	}
	return schema, nil
}

// parseOptions maps Ollama's options to the engine's. Options the
// in-process engine has no use for (num_ctx, num_gpu, penalties other than
// repeat_penalty…) are accepted and ignored; a value of the wrong type is a
// 400.
func parseOptions(m map[string]any) (engine.Options, error) {
	var o engine.Options
	if len(m) == 0 {
		return o, nil
	}
	var ao api.Options
	if err := ao.FromMap(m); err != nil {
		return o, badRequest("options", "%v", err)
	}
	has := func(k string) bool { v, ok := m[k]; return ok && v != nil }
	if has("temperature") {
		t := ao.Temperature
		if t < 0 || t > 2 || math.IsNaN(float64(t)) {
			return o, badRequest("options.temperature", "temperature must be between 0 and 2, not %v", t)
		}
		o.Temperature = &t
	}
	if has("seed") && ao.Seed >= 0 {
		seed := uint32(ao.Seed)
		o.Seed = &seed
	}
	if has("top_k") {
		o.TopK = ao.TopK
	}
	if has("top_p") {
		o.TopP = ao.TopP
	}
	o.MinP = ao.MinP
	o.RepeatPenalty = ao.RepeatPenalty
	o.RepeatLastN = ao.RepeatLastN
	o.NumPredict = ao.NumPredict
	o.Stop = ao.Stop
	return o, nil
}

func fromAPIMessages(ms []api.Message) ([]engine.Message, error) {
	out := make([]engine.Message, 0, len(ms))
	for i, m := range ms {
		if len(m.Images) > 0 {
			return nil, badRequest(fmt.Sprintf("messages[%d].images", i), "nook serves no vision models yet; send text only")
		}
		switch m.Role {
		case engine.RoleSystem, engine.RoleUser, engine.RoleAssistant, engine.RoleTool:
		default:
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "unknown role %q (system, user, assistant, tool)", m.Role)
		}
		em := engine.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			em.ToolCalls = append(em.ToolCalls, engine.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments.ToMap()})
		}
		out = append(out, em)
	}
	return out, nil
}

func fromAPITools(ts api.Tools) ([]engine.Tool, error) {
	var out []engine.Tool
	for i, t := range ts {
		if t.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("tools[%d].function.name", i), "a tool needs a name")
		}
		b, err := json.Marshal(t.Function.Parameters)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "%v", err)
		}
		var params map[string]any
		if err := json.Unmarshal(b, &params); err != nil {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "%v", err)
		}
		if props, ok := params["properties"]; ok && props == nil {
			params["properties"] = map[string]any{}
		}
		out = append(out, engine.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: params})
	}
	return out, nil
}

func toAPICalls(cs []toolCall) []api.ToolCall {
	var out []api.ToolCall
	for i, c := range cs {
		args := api.NewToolCallFunctionArguments()
		for k, v := range c.Args {
			args.Set(k, v)
		}
		out = append(out, api.ToolCall{ID: c.ID, Function: api.ToolCallFunction{Index: i, Name: c.Name, Arguments: args}})
	}
	return out
}

func metrics(st *engine.Stats, total time.Duration) api.Metrics {
	m := api.Metrics{TotalDuration: total}
	if st != nil {
		m.PromptEvalCount = st.PromptTokens
		m.PromptEvalDuration = st.PromptDuration
		m.EvalCount = st.DecodeTokens
		m.EvalDuration = st.DecodeDuration
	}
	return m
}

func (s *Server) ollamaVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": ollamaVersion(), "nook": s.o.Version})
}

func (s *Server) ollamaManage(w http.ResponseWriter, r *http.Request) {
	what := strings.TrimPrefix(r.URL.Path, "/api/")
	s.writeError(w, r, &apiError{Status: http.StatusForbidden, Msg: fmt.Sprintf("nook serve does not %s models for clients", strings.SplitN(what, "/", 2)[0]),
		Hint: "manage models on this machine: `nook pull NAME`, `nook models`", Type: "permission_error", Code: "not_served"})
}

func listEntry(m ModelEntry) api.ListModelResponse {
	return api.ListModelResponse{Name: m.Name, Model: m.Name, ModifiedAt: m.Modified, Size: m.Size, Digest: digest(m), Details: details(m)}
}

// digest is the model's digest, or one made from its name, size and time
// when the store has none (Ollama's clients show its first 12 characters).
func digest(m ModelEntry) string {
	if len(m.Digest) >= 12 {
		return m.Digest
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d", m.Name, m.Size, m.Modified.UnixNano()))
	return hex.EncodeToString(h[:])
}

func details(m ModelEntry) api.ModelDetails {
	return api.ModelDetails{Format: "gguf", Family: m.Family, Families: []string{m.Family}, ParameterSize: m.Parameters, QuantizationLevel: m.Quantization}
}

// modelList is the installed models, and nook:rag standing for the
// default chat model answering from the vault.
func (s *Server) modelList(r *http.Request) ([]ModelEntry, error) {
	ms, err := s.models.List(r.Context())
	if err != nil {
		return nil, err
	}
	if def := s.models.DefaultChat(); def != "" {
		if d, err := s.models.Show(r.Context(), def); err == nil {
			rag := d.ModelEntry
			rag.Name = RAGModel
			ms = append(ms, rag)
		}
	}
	return ms, nil
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	ms, err := s.modelList(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := api.ListResponse{Models: []api.ListModelResponse{}}
	for _, m := range ms {
		resp.Models = append(resp.Models, listEntry(m))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req api.ShowRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		s.writeError(w, r, badRequest("model", "model is required"))
		return
	}
	d, err := s.showModel(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	caps := []model.Capability{model.CapabilityCompletion, model.CapabilityTools}
	if d.Embedding {
		caps = []model.Capability{model.CapabilityEmbedding}
	}
	info := map[string]any{"general.architecture": d.Family, "general.parameter_count": d.ParameterCount}
	if d.Family != "" {
		info[d.Family+".context_length"] = d.ContextLength
		info[d.Family+".embedding_length"] = d.EmbeddingSize
	}
	writeJSON(w, http.StatusOK, api.ShowResponse{
		License: d.License, Modelfile: fmt.Sprintf("# nook: %s\nFROM %s\n", name, d.Path), Parameters: d.Params,
		Template: d.Template, System: d.System, Details: details(d.ModelEntry), ModelInfo: info,
		Capabilities: caps, ModifiedAt: d.Modified,
	})
}

func (s *Server) ollamaPS(w http.ResponseWriter, r *http.Request) {
	resp := api.ProcessResponse{Models: []api.ProcessModelResponse{}}
	for _, l := range s.models.Loaded() {
		e := ModelEntry{Name: l.Info.Name, Family: l.Info.Architecture, Quantization: l.Info.Quantization, Parameters: ParamSize(l.Info.Parameters)}
		vram := int64(0)
		if l.Info.Backend != "CPU" && !strings.HasPrefix(l.Info.Backend, "remote") {
			vram = l.Size
		}
		resp.Models = append(resp.Models, api.ProcessModelResponse{Name: e.Name, Model: e.Name, Size: l.Size, Digest: digest(e), Details: details(e),
			ExpiresAt: time.Now().Add(24 * time.Hour).UTC(), SizeVRAM: vram, ContextLength: l.Info.ContextLength})
	}
	writeJSON(w, http.StatusOK, resp)
}

// ParamSize writes a parameter count as Ollama does: "494.03M", "7.24B".
func ParamSize(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
