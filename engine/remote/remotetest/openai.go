package remotetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
)

// NewOpenAI serves the OpenAI-compatible API under /v1 for the model name,
// answered by m. It checks what OpenAI checks and a client can get wrong:
// the bearer token (when APIKey is set), the model name, and that every
// tool message answers a call of an earlier assistant message by its ID.
func NewOpenAI(t testing.TB, m *enginetest.Engine, name string) *Server {
	var seq atomic.Int64
	return newServer(t, m, name, func(s *Server, w http.ResponseWriter, r *http.Request, body []byte) {
		s.openAI(w, r, body, &seq)
	})
}

func openAIError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": fmt.Sprintf(format, args...), "type": "invalid_request_error", "code": code,
	}})
}

func (s *Server) openAI(w http.ResponseWriter, r *http.Request, body []byte, seq *atomic.Int64) {
	if s.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.APIKey {
		openAIError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		s.openAIModels(w)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		s.openAIChat(w, r, body, seq)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		s.openAIEmbed(w, r, body)
	default:
		openAIError(w, http.StatusNotFound, "unknown_url", "Unknown request URL: %s %s.", r.Method, r.URL.Path)
	}
}

// openAIDecode reads a request for the server's model into req (model
// points at its model field); otherwise it answers as OpenAI does.
func (s *Server) openAIDecode(w http.ResponseWriter, body []byte, req any, model *string) bool {
	if err := json.Unmarshal(body, req); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_json", "%v", err)
		return false
	}
	if *model != s.Name {
		openAIError(w, http.StatusNotFound, "model_not_found", "The model `%s` does not exist.", *model)
		return false
	}
	return true
}

// openAIModels lists the model with the meta llama.cpp's server adds.
func (s *Server) openAIModels(w http.ResponseWriter) {
	info := s.Model.Info()
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{
		"id": s.Name, "object": "model", "created": 1767322800, "owned_by": "remotetest",
		"meta": map[string]any{"n_ctx_train": info.TrainedLength, "n_embd": info.EmbeddingSize, "n_params": info.Parameters},
	}}})
}

func (s *Server) openAIEmbed(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Model string `json:"model"`
		Input any    `json:"input"`
	}
	if !s.openAIDecode(w, body, &req, &req.Model) {
		return
	}
	in, ok := texts(req.Input)
	if !ok {
		openAIError(w, http.StatusBadRequest, "invalid_input", "'input' must be a string or an array of strings")
		return
	}
	vecs, err := s.Model.Embed(r.Context(), in)
	if err != nil {
		openAIError(w, http.StatusInternalServerError, "server_error", "%v", err)
		return
	}
	data := make([]any, len(vecs))
	for i, v := range s.scale(vecs) { // listed last first: clients must go by index
		data[len(vecs)-1-i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "model": req.Model, "data": data, "usage": map[string]int{"prompt_tokens": len(in), "total_tokens": len(in)}})
}

// chatBody is the part of a chat completions request the server reads.
type chatBody struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float32        `json:"temperature"`
	TopP                float32         `json:"top_p"`
	Seed                *uint32         `json:"seed"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Tools               []struct {
		Type     string      `json:"type"`
		Function engine.Tool `json:"function"`
	} `json:"tools"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema map[string]any `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// request turns the body into the scripted model's request, or says what
// OpenAI would refuse.
func (b *chatBody) request() (engine.ChatRequest, error) {
	var out engine.ChatRequest
	calls := map[string]string{} // call ID → tool name, from earlier assistant messages
	for i, m := range b.Messages {
		em := engine.Message{Role: m.Role, ToolCallID: m.ToolCallID}
		var text string
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		switch {
		case len(m.Content) == 0 || string(m.Content) == "null":
		case json.Unmarshal(m.Content, &text) == nil:
			em.Content = text
		case json.Unmarshal(m.Content, &parts) == nil:
			for _, p := range parts {
				em.Content += p.Text
			}
		default:
			return out, fmt.Errorf("messages[%d].content: not a string or a list of parts", i)
		}
		for _, tc := range m.ToolCalls {
			args := map[string]any{}
			if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
				return out, fmt.Errorf("messages[%d].tool_calls: arguments are not a JSON object: %v", i, err)
			}
			calls[tc.ID] = tc.Function.Name
			em.ToolCalls = append(em.ToolCalls, engine.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
		}
		if m.Role == engine.RoleTool {
			name, ok := calls[m.ToolCallID]
			if !ok {
				return out, fmt.Errorf("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[%d].tool_call_id %q)", i, m.ToolCallID)
			}
			em.ToolName = name
		}
		out.Messages = append(out.Messages, em)
	}
	for _, t := range b.Tools {
		out.Tools = append(out.Tools, t.Function)
	}
	if rf := b.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_schema":
			out.Format = rf.JSONSchema.Schema
		case "json_object":
			out.Format = map[string]any{"type": "object"}
		}
	}
	o := &out.Options
	o.Temperature, o.TopP, o.Seed = b.Temperature, b.TopP, b.Seed
	o.NumPredict = max(b.MaxTokens, b.MaxCompletionTokens)
	if len(b.Stop) > 0 {
		var one string
		if json.Unmarshal(b.Stop, &one) == nil {
			o.Stop = []string{one}
		} else if err := json.Unmarshal(b.Stop, &o.Stop); err != nil {
			return out, fmt.Errorf("stop: %v", err)
		}
	}
	return out, nil
}

func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request, body []byte, seq *atomic.Int64) {
	var b chatBody
	if !s.openAIDecode(w, body, &b, &b.Model) {
		return
	}
	if !b.Stream {
		openAIError(w, http.StatusBadRequest, "unsupported", "remotetest answers streamed requests only")
		return
	}
	req, err := b.request()
	if err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request", "%v", err)
		return
	}
	id := fmt.Sprintf("chatcmpl-%d", seq.Add(1))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(v any) bool {
		data, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return true
	}
	event := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": b.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	if !send(event(map[string]any{"role": engine.RoleAssistant, "content": ""}, nil)) {
		return
	}
	called := false
	for c, err := range s.Model.Chat(r.Context(), req) {
		if err != nil {
			if r.Context().Err() == nil {
				send(map[string]any{"error": map[string]any{"message": err.Error(), "type": "server_error"}})
			}
			return
		}
		if c.Text != "" && !send(event(map[string]any{"content": c.Text}, nil)) {
			return
		}
		for i, tc := range c.ToolCalls {
			called = true
			callID := tc.ID
			if callID == "" {
				callID = fmt.Sprintf("call_%s_%d", strings.TrimPrefix(id, "chatcmpl-"), i)
			}
			args, _ := json.Marshal(tc.Arguments)
			half := len(args) / 2 // arguments arrive in pieces
			for j, piece := range []string{"", string(args[:half]), string(args[half:])} {
				d := map[string]any{"index": i, "function": map[string]any{"arguments": piece}}
				if j == 0 {
					d["id"], d["type"] = callID, "function"
					d["function"].(map[string]any)["name"] = tc.Name
				}
				if !send(event(map[string]any{"tool_calls": []any{d}}, nil)) {
					return
				}
			}
		}
		if !c.Done {
			continue
		}
		finish := "stop"
		switch {
		case c.DoneReason == "length":
			finish = "length"
		case called:
			finish = "tool_calls"
		}
		if !send(event(map[string]any{}, finish)) {
			return
		}
		if b.StreamOptions != nil && b.StreamOptions.IncludeUsage && c.Stats != nil {
			send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": b.Model, "choices": []any{},
				"usage": map[string]int{"prompt_tokens": c.Stats.PromptTokens, "completion_tokens": c.Stats.DecodeTokens, "total_tokens": c.Stats.PromptTokens + c.Stats.DecodeTokens}})
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}
