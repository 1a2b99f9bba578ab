package remotetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
)

// NewOllama serves Ollama's API for the model name, answered by m. It
// behaves as Ollama does where the client can tell: 404 for an unknown
// model, 400 for tools offered to a model without the tools capability,
// errors in the stream as {"error": ...} lines.
func NewOllama(t testing.TB, m *enginetest.Engine, name string) *Server {
	return newServer(t, m, name, (*Server).ollama)
}

func (s *Server) ollama(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/api/chat":
		s.ollamaChat(w, r, body)
	case "/api/show":
		s.ollamaShow(w, body)
	case "/api/embed":
		s.ollamaEmbed(w, r, body)
	default:
		http.NotFound(w, r)
	}
}

func ollamaError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// ollamaDecode reads a request for the server's model into req (model
// points at its model field); otherwise it answers as Ollama does.
func (s *Server) ollamaDecode(w http.ResponseWriter, body []byte, req any, model *string) bool {
	if err := json.Unmarshal(body, req); err != nil {
		ollamaError(w, http.StatusBadRequest, "%v", err)
		return false
	}
	if *model != s.Name {
		ollamaError(w, http.StatusNotFound, "model \"%s\" not found, try pulling it first", *model)
		return false
	}
	return true
}

func (s *Server) ollamaShow(w http.ResponseWriter, body []byte) {
	var req api.ShowRequest
	if err := json.Unmarshal(body, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if name := req.Model + req.Name; name != s.Name {
		ollamaError(w, http.StatusNotFound, "model '%s' not found", name)
		return
	}
	info := s.Model.Info()
	arch := info.Architecture
	var caps []model.Capability
	for _, c := range []struct {
		has  bool
		name model.Capability
	}{
		{info.Capabilities.Has(engine.CapChat), model.CapabilityCompletion},
		{!info.Capabilities.Has(engine.CapChat) && info.Capabilities.Has(engine.CapEmbed), model.CapabilityEmbedding},
		{info.Capabilities.Has(engine.CapTools), model.CapabilityTools},
		{info.Capabilities.Has(engine.CapVision), model.CapabilityVision},
	} {
		if c.has {
			caps = append(caps, c.name)
		}
	}
	writeJSON(w, http.StatusOK, api.ShowResponse{
		Template:   "{{ .Prompt }}",
		Parameters: s.Parameters,
		Details: api.ModelDetails{
			Format: "gguf", Family: arch, Families: []string{arch},
			ParameterSize: fmt.Sprintf("%dK", info.Parameters/1000), QuantizationLevel: info.Quantization,
		},
		ModelInfo: map[string]any{
			"general.architecture":     arch,
			"general.parameter_count":  info.Parameters,
			arch + ".context_length":   info.TrainedLength,
			arch + ".embedding_length": info.EmbeddingSize,
		},
		Capabilities: caps,
		ModifiedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
}

func (s *Server) ollamaEmbed(w http.ResponseWriter, r *http.Request, body []byte) {
	var req api.EmbedRequest
	if !s.ollamaDecode(w, body, &req, &req.Model) {
		return
	}
	in, ok := texts(req.Input)
	if !ok {
		ollamaError(w, http.StatusBadRequest, "invalid input type")
		return
	}
	vecs, err := s.Model.Embed(r.Context(), in)
	if err != nil {
		ollamaError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, api.EmbedResponse{Model: req.Model, Embeddings: s.scale(vecs), PromptEvalCount: len(in)})
}

// fromOllama turns Ollama's chat request into the scripted model's.
func fromOllama(req api.ChatRequest) (engine.ChatRequest, error) {
	var out engine.ChatRequest
	for _, m := range req.Messages {
		em := engine.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			em.ToolCalls = append(em.ToolCalls, engine.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments.ToMap()})
		}
		out.Messages = append(out.Messages, em)
	}
	if len(req.Tools) > 0 {
		b, err := json.Marshal(req.Tools)
		if err != nil {
			return out, err
		}
		var tools []struct {
			Function engine.Tool `json:"function"`
		}
		if err := json.Unmarshal(b, &tools); err != nil {
			return out, err
		}
		for _, t := range tools {
			out.Tools = append(out.Tools, t.Function)
		}
	}
	if len(req.Format) > 0 {
		var f any
		if err := json.Unmarshal(req.Format, &f); err != nil {
			return out, fmt.Errorf("invalid format: %w", err)
		}
		switch f := f.(type) {
		case map[string]any:
			out.Format = f
		case string: // "json": any JSON object
			out.Format = map[string]any{"type": "object"}
		}
	}
	o := &out.Options
	for k, v := range req.Options {
		switch x := v.(type) {
		case float64:
			f32, n := float32(x), int(x)
			switch k {
			case "temperature":
				o.Temperature = &f32
			case "top_k":
				o.TopK = n
			case "top_p":
				o.TopP = f32
			case "min_p":
				o.MinP = f32
			case "repeat_penalty":
				o.RepeatPenalty = f32
			case "repeat_last_n":
				o.RepeatLastN = n
			case "seed":
				seed := uint32(x)
				o.Seed = &seed
			case "num_predict":
				o.NumPredict = n
			}
		case []any:
			if k == "stop" {
				for _, s := range x {
					if s, ok := s.(string); ok {
						o.Stop = append(o.Stop, s)
					}
				}
			}
		}
	}
	return out, nil
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request, body []byte) {
	var req api.ChatRequest
	if !s.ollamaDecode(w, body, &req, &req.Model) {
		return
	}
	caps := s.Model.Info().Capabilities
	if !caps.Has(engine.CapChat) {
		ollamaError(w, http.StatusBadRequest, "%q does not support chat", req.Model)
		return
	}
	if len(req.Tools) > 0 && !caps.Has(engine.CapTools) {
		ollamaError(w, http.StatusBadRequest, "registry.ollama.ai/library/%s does not support tools", req.Model)
		return
	}
	er, err := fromOllama(req)
	if err != nil {
		ollamaError(w, http.StatusBadRequest, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	for c, err := range s.Model.Chat(r.Context(), er) {
		if err != nil {
			if r.Context().Err() == nil {
				_ = enc.Encode(map[string]string{"error": err.Error()})
			}
			return
		}
		resp := api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: engine.RoleAssistant, Content: c.Text}}
		for i, tc := range c.ToolCalls {
			args := api.NewToolCallFunctionArguments()
			for k, v := range tc.Arguments {
				args.Set(k, v)
			}
			resp.Message.ToolCalls = append(resp.Message.ToolCalls, api.ToolCall{ID: tc.ID, Function: api.ToolCallFunction{Index: i, Name: tc.Name, Arguments: args}})
		}
		if c.Done {
			resp.Done, resp.DoneReason = true, c.DoneReason
			if st := c.Stats; st != nil {
				resp.Metrics = api.Metrics{
					TotalDuration: st.PromptDuration + st.DecodeDuration, PromptEvalCount: st.PromptEvaluated,
					PromptEvalDuration: st.PromptDuration, EvalCount: st.DecodeTokens, EvalDuration: st.DecodeDuration,
				}
			}
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
		flush()
	}
}
