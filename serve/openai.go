package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/openai"

	"github.com/nook-ai/nook/engine"
)

// The OpenAI API (/v1/chat/completions, /v1/completions, /v1/embeddings,
// /v1/models) over nook's models. Requests are read and answers written
// with the conversions of github.com/ollama/ollama/openai (what Ollama's
// own OpenAI endpoints use), so the shapes match what OpenAI's client
// libraries expect. Errors are {"error": {"message", "type", "param",
// "code"}} with the HTTP status.

// openaiExtra holds the fields of a chat completion request that
// openai.ChatCompletionRequest does not read.
type openaiExtra struct {
	N          *int            `json:"n"`
	ToolChoice json.RawMessage `json:"tool_choice"`
}

// completion is openai.ChatCompletion with nook's extension.
type completion struct {
	openai.ChatCompletion
	Nook *ExtReply `json:"nook,omitempty"`
}

type completionChunk struct {
	openai.ChatCompletionChunk
	Nook *ExtReply `json:"nook,omitempty"`
}

func writeOpenAIError(w http.ResponseWriter, e *apiError) {
	oe := openai.Error{Message: e.Error(), Type: e.Type}
	if e.Param != "" {
		oe.Param = e.Param
	}
	if e.Code != "" {
		code := e.Code
		oe.Code = &code
	}
	writeJSON(w, e.Status, openai.ErrorResponse{Error: oe})
}

// sse streams server-sent events: "data: {json}" and a final "data: [DONE]".
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func newSSE(w http.ResponseWriter) *sse { return &sse{w: w, rc: http.NewResponseController(w)} }

func (s *sse) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw(b)
}

func (s *sse) raw(b []byte) error {
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// roundTrip passes options through JSON, as Ollama's server receives them
// from its OpenAI middleware (numbers become float64).
func roundTrip(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func toolChoice(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return s, nil
		}
		return "", badRequest("tool_choice", `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}, not %q`, s)
	}
	var f struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Type != "function" || f.Function.Name == "" {
		return "", badRequest("tool_choice", `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}`)
	}
	return f.Function.Name, nil
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	var req openai.ChatCompletionRequest
	var extra openaiExtra
	var ext extField
	if err := readBody(r, &req, &extra, &ext); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := openaiJob(&req, &extra, ext.ext())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := "chatcmpl-" + randomID()
	out := newSSE(w)
	var all chatResponse
	callSent := false
	usage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	start := time.Now()
	err = s.chat(r.Context(), job, func(o chatOut) error {
		resp := api.ChatResponse{Model: o.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant", Content: o.Text, ToolCalls: toAPICalls(o.Calls)}, Done: o.Done, DoneReason: o.Reason}
		if o.Done {
			resp.Metrics = metrics(o.Stats, time.Since(start))
		}
		var ext *ExtReply
		if o.Sources != nil {
			ext = &ExtReply{Sources: o.Sources}
		}
		if req.Stream {
			chunks := openai.ToChunks(id, resp, callSent)
			callSent = callSent || len(o.Calls) > 0
			for i, c := range chunks {
				chunk := completionChunk{ChatCompletionChunk: c}
				if i == len(chunks)-1 {
					chunk.Nook = ext
				}
				if err := out.send(chunk); err != nil {
					return err
				}
			}
			if o.Done && usage {
				u := openai.ToUsage(resp)
				last := chunks[len(chunks)-1]
				return out.send(openai.ChatCompletionChunk{Id: id, Object: "chat.completion.chunk", Created: last.Created, Model: resp.Model,
					SystemFingerprint: last.SystemFingerprint, Choices: []openai.ChunkChoice{}, Usage: &u})
			}
			return nil
		}
		all.Model = resp.Model
		all.Message.Role = "assistant"
		all.Message.Content += o.Text
		all.Message.ToolCalls = append(all.Message.ToolCalls, resp.Message.ToolCalls...)
		if o.Done {
			all.CreatedAt, all.Done, all.DoneReason, all.Metrics, all.Nook = resp.CreatedAt, true, resp.DoneReason, resp.Metrics, ext
		}
		return nil
	})
	if s.openaiFailed(w, r, out, err) {
		return
	}
	if req.Stream {
		out.raw([]byte("[DONE]"))
		return
	}
	writeJSON(w, http.StatusOK, completion{ChatCompletion: openai.ToChatCompletion(id, all.ChatResponse), Nook: all.Nook})
}

// openaiJob converts a chat completion request with ollama's openai
// package, then as an Ollama chat.
func openaiJob(req *openai.ChatCompletionRequest, extra *openaiExtra, ext Ext) (*chatJob, error) {
	if req.Model == "" {
		return nil, badRequest("model", "model is required")
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "messages must hold at least one message")
	}
	for i := range req.Messages {
		if req.Messages[i].Role == "developer" {
			req.Messages[i].Role = "system"
		}
	}
	if extra.N != nil && *extra.N != 1 {
		return nil, badRequest("n", "n must be 1: nook answers with one choice")
	}
	if req.ResponseFormat != nil {
		switch t := strings.ToLower(req.ResponseFormat.Type); t {
		case "", "text", "json_object":
		case "json_schema":
			if req.ResponseFormat.JsonSchema == nil || len(req.ResponseFormat.JsonSchema.Schema) == 0 {
				return nil, badRequest("response_format.json_schema", "json_schema needs a schema")
			}
		default:
			return nil, badRequest("response_format.type", "response_format.type must be text, json_object or json_schema, not %q", t)
		}
	}
	ar, err := openai.FromChatRequest(*req)
	if err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	job, err := ollamaJob(ar.Model, ar.Format, roundTrip(ar.Options), nil, ext)
	if err != nil {
		return nil, err
	}
	if job.messages, err = fromAPIMessages(ar.Messages); err != nil {
		return nil, err
	}
	if job.tools, err = fromAPITools(ar.Tools); err != nil {
		return nil, err
	}
	if job.toolChoice, err = toolChoice(extra.ToolChoice); err != nil {
		return nil, err
	}
	return job, nil
}

func (s *Server) openaiCompletions(w http.ResponseWriter, r *http.Request) {
	var req openai.CompletionRequest
	var ext extField
	if err := readBody(r, &req, &ext); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Model == "" {
		s.writeError(w, r, badRequest("model", "model is required"))
		return
	}
	if req.Suffix != "" {
		s.writeError(w, r, badRequest("suffix", "fill-in-the-middle (suffix) is not supported"))
		return
	}
	gr, err := openai.FromCompleteRequest(req)
	if err != nil {
		s.writeError(w, r, badRequest("", "%v", err))
		return
	}
	job, err := ollamaJob(gr.Model, nil, roundTrip(gr.Options), nil, ext.ext())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	job.raw = true
	job.messages = []engine.Message{{Role: engine.RoleUser, Content: req.Prompt}}
	id := "cmpl-" + randomID()
	out := newSSE(w)
	var all api.GenerateResponse
	start := time.Now()
	err = s.chat(r.Context(), job, func(o chatOut) error {
		resp := api.GenerateResponse{Model: o.Model, CreatedAt: time.Now().UTC(), Response: o.Text, Done: o.Done, DoneReason: o.Reason}
		if o.Done {
			resp.Metrics = metrics(o.Stats, time.Since(start))
		}
		if req.Stream {
			return out.send(openai.ToCompleteChunk(id, resp))
		}
		all.Model = resp.Model
		all.Response += resp.Response
		if o.Done {
			all.CreatedAt, all.Done, all.DoneReason, all.Metrics = resp.CreatedAt, true, resp.DoneReason, resp.Metrics
		}
		return nil
	})
	if s.openaiFailed(w, r, out, err) {
		return
	}
	if req.Stream {
		out.raw([]byte("[DONE]"))
		return
	}
	writeJSON(w, http.StatusOK, openai.ToCompletion(id, all))
}

func (s *Server) openaiEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req openai.EmbedRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch strings.ToLower(req.EncodingFormat) {
	case "", "float", "base64":
	default:
		s.writeError(w, r, badRequest("encoding_format", "encoding_format must be float or base64, not %q", req.EncodingFormat))
		return
	}
	in, err := inputs(req.Input, "input")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(in) == 0 {
		s.writeError(w, r, badRequest("input", "input must not be empty"))
		return
	}
	res, err := s.embed(r.Context(), embedJob{model: req.Model, inputs: in, truncate: true, dims: req.Dimensions})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, openai.ToEmbeddingList(res.model, api.EmbedResponse{Model: res.model, Embeddings: res.vecs, PromptEvalCount: res.tokens}, req.EncodingFormat))
}

func toOpenAIModel(m ModelEntry) openai.Model {
	return openai.Model{Id: m.Name, Object: "model", Created: m.Modified.Unix(), OwnedBy: "nook"}
}

func (s *Server) openaiModels(w http.ResponseWriter, r *http.Request) {
	ms, err := s.modelList(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := openai.ListCompletion{Object: "list", Data: []openai.Model{}}
	for _, m := range ms {
		list.Data = append(list.Data, toOpenAIModel(m))
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) openaiModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	d, err := s.showModel(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := d.ModelEntry
	m.Name = name
	writeJSON(w, http.StatusOK, toOpenAIModel(m))
}

// openaiFailed answers a failed completion: nothing when the client left,
// a last error event when the stream had started, else the error response.
// It reports whether err was a failure.
func (s *Server) openaiFailed(w http.ResponseWriter, r *http.Request, out *sse, err error) bool {
	switch {
	case err == nil:
		return false
	case r.Context().Err() != nil:
	case out.started:
		e := asAPIError(err)
		out.send(openai.ErrorResponse{Error: openai.Error{Message: e.Error(), Type: e.Type}})
	default:
		s.writeError(w, r, err)
	}
	return true
}

// showModel describes the model name (nook:rag: the default chat model).
func (s *Server) showModel(ctx context.Context, name string) (*ModelDetails, error) {
	lookup := name
	if name == RAGModel {
		lookup = s.models.DefaultChat()
	}
	d, err := s.models.Show(ctx, lookup)
	if errors.Is(err, ErrModelNotFound) {
		err = errModelNotFound(name)
	}
	return d, err
}
