package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
)

func toolsJSON(tools []engine.Tool) []map[string]any {
	out := make([]map[string]any, len(tools))
	for i, t := range tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out[i] = map[string]any{"type": "function", "function": map[string]any{"name": t.Name, "description": t.Description, "parameters": params}}
	}
	return out
}

func (e *Engine) endpoint(path string) string {
	b := strings.TrimRight(e.base.String(), "/")
	if !strings.HasSuffix(b, "/v1") {
		b += "/v1"
	}
	return b + "/" + path
}

func (e *Engine) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("remote: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, e.endpoint(path), rd)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if e.cfg.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	return r, nil
}

func (e *Engine) do(r *http.Request) (*http.Response, error) {
	resp, err := e.http.Do(r)
	if err != nil {
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		return nil, e.unreachable(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		text := strings.Join(strings.Fields(string(msg)), " ")
		if !utf8.ValidString(text) {
			text = ""
		}
		err := fmt.Errorf("remote: %s: %s: %s", r.URL.Path, resp.Status, text)
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, hint.New(err, "check remote.api_key in the config")
		case http.StatusNotFound:
			return nil, hint.New(err, "check remote.url and remote.model in the config")
		}
		return nil, err
	}
	return resp, nil
}

func (e *Engine) callJSON(ctx context.Context, method, path string, body, out any) error {
	r, err := e.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := e.do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("remote: %s: %w", path, err)
	}
	return nil
}

// listOpenAI fills info from the server's model list (GET /v1/models),
// reading the lengths that servers add to the standard entry: vLLM's
// max_model_len, context_length, llama.cpp server's meta.
func (e *Engine) listOpenAI(ctx context.Context, info *engine.ModelInfo) (answered bool, err error) {
	var list struct {
		Data []struct {
			ID            string `json:"id"`
			MaxModelLen   int    `json:"max_model_len"`
			ContextLength int    `json:"context_length"`
			Meta          struct {
				NCtxTrain int    `json:"n_ctx_train"`
				NEmbd     int    `json:"n_embd"`
				NParams   uint64 `json:"n_params"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := e.callJSON(ctx, http.MethodGet, "models", nil, &list); err != nil {
		var ue *url.Error
		return !errors.As(err, &ue) && ctx.Err() == nil, err
	}
	for _, m := range list.Data {
		if m.ID != e.cfg.Model {
			continue
		}
		info.TrainedLength = m.Meta.NCtxTrain
		info.EmbeddingSize = m.Meta.NEmbd
		info.Parameters = m.Meta.NParams
		if info.ContextLength == 0 {
			info.ContextLength = max(m.MaxModelLen, m.ContextLength)
		}
		if info.ContextLength == 0 {
			info.ContextLength = m.Meta.NCtxTrain
		}
	}
	return true, nil
}

func (e *Engine) embedOpenAI(ctx context.Context, texts []string) ([][]float32, error) {
	var r struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := e.callJSON(ctx, http.MethodPost, "embeddings", map[string]any{"model": e.cfg.Model, "input": texts}, &r); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for _, d := range r.Data {
		if d.Index >= 0 && d.Index < len(out) {
			out[d.Index] = d.Embedding
		}
	}
	return out, nil
}

type oaFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type oaToolCall struct {
	Index    int        `json:"index"`
	ID       string     `json:"id,omitempty"`
	Type     string     `json:"type,omitempty"`
	Function oaFunction `json:"function"`
}

type oaMessage struct {
	Role       string       `json:"role"`
	Content    string       `json:"content"`
	Name       string       `json:"name,omitempty"`
	ToolCalls  []oaToolCall `json:"tool_calls,omitempty"`
	ToolCallID string       `json:"tool_call_id,omitempty"`
}

type oaEvent struct {
	Choices []struct {
		Delta struct {
			Content   string       `json:"content"`
			ToolCalls []oaToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// openAIMessages converts messages. The API pairs each tool result with
// its call by ID: calls without one get an ID from their position, and a
// tool message without ToolCallID answers the oldest open call of its tool.
func openAIMessages(msgs []engine.Message) []oaMessage {
	out := make([]oaMessage, len(msgs))
	type open struct{ name, id string }
	var pending []open
	for i, m := range msgs {
		om := oaMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		for j, tc := range m.ToolCalls {
			id := tc.ID
			if id == "" {
				id = fmt.Sprintf("call_%d_%d", i, j)
			}
			args, err := json.Marshal(tc.Arguments)
			if err != nil || tc.Arguments == nil {
				args = []byte("{}")
			}
			om.ToolCalls = append(om.ToolCalls, oaToolCall{Index: j, ID: id, Type: "function", Function: oaFunction{Name: tc.Name, Arguments: string(args)}})
			pending = append(pending, open{tc.Name, id})
		}
		if m.Role == engine.RoleTool {
			om.Name = m.ToolName
			k := -1
			for n, p := range pending {
				if (om.ToolCallID != "" && p.id == om.ToolCallID) || (om.ToolCallID == "" && p.name == m.ToolName) {
					k = n
					break
				}
			}
			if k < 0 && om.ToolCallID == "" && len(pending) > 0 {
				k = 0
			}
			if k >= 0 {
				om.ToolCallID = pending[k].id
				pending = append(pending[:k], pending[k+1:]...)
			}
		}
		out[i] = om
	}
	return out
}

func (e *Engine) openAIBody(req engine.ChatRequest) map[string]any {
	body := map[string]any{"model": e.cfg.Model, "messages": openAIMessages(req.Messages), "stream": true, "stream_options": map[string]any{"include_usage": true}}
	o := req.Options
	if o.Temperature != nil {
		body["temperature"] = *o.Temperature
	}
	if o.TopP != 0 {
		body["top_p"] = o.TopP
	}
	if o.Seed != nil {
		body["seed"] = *o.Seed
	}
	if o.NumPredict > 0 {
		body["max_tokens"] = o.NumPredict
	}
	if len(o.Stop) > 0 {
		body["stop"] = o.Stop
	}
	if len(req.Tools) > 0 {
		body["tools"] = toolsJSON(req.Tools)
	}
	if req.Format != nil {
		body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "answer", "schema": req.Format, "strict": true}}
	}
	return body
}

func (e *Engine) chatOpenAI(ctx context.Context, req engine.ChatRequest, yield func(engine.Chunk, error) bool) {
	start := time.Now()
	r, err := e.newRequest(ctx, http.MethodPost, "chat/completions", e.openAIBody(req))
	if err != nil {
		yield(engine.Chunk{}, err)
		return
	}
	r.Header.Set("Accept", "text/event-stream")
	resp, err := e.do(r)
	if err != nil {
		yield(engine.Chunk{}, err)
		return
	}
	defer resp.Body.Close()
	stats := &engine.Stats{ContextLength: e.Info().ContextLength}
	reason := ""
	ended := false
	var calls []*oaToolCall
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			yield(engine.Chunk{}, err) // events already read are not shown after a cancel
			return
		}
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			ended = true
			break
		}
		var ev oaEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			yield(engine.Chunk{}, fmt.Errorf("remote: bad stream event: %w", err))
			return
		}
		if ev.Error != nil {
			yield(engine.Chunk{}, fmt.Errorf("remote: %s: %s", e.base.Host, ev.Error.Message))
			return
		}
		if ev.Usage != nil {
			stats.PromptTokens, stats.PromptEvaluated, stats.DecodeTokens = ev.Usage.PromptTokens, ev.Usage.PromptTokens, ev.Usage.CompletionTokens
		}
		for _, c := range ev.Choices {
			for _, tc := range c.Delta.ToolCalls {
				for len(calls) <= tc.Index {
					calls = append(calls, &oaToolCall{})
				}
				call := calls[tc.Index]
				call.ID += tc.ID
				call.Function.Name += tc.Function.Name
				call.Function.Arguments += tc.Function.Arguments
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				reason = *c.FinishReason
			}
			if c.Delta.Content != "" {
				if stats.TimeToFirst == 0 {
					stats.TimeToFirst = time.Since(start)
				}
				if !yield(engine.Chunk{Text: c.Delta.Content}, nil) {
					return
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		yield(engine.Chunk{}, err)
		return
	}
	if err := sc.Err(); err != nil {
		yield(engine.Chunk{}, e.unreachable(err))
		return
	}
	if !ended && reason == "" {
		yield(engine.Chunk{}, fmt.Errorf("remote: %s: the answer ended early (no finish reason)", e.base.Host))
		return
	}
	final := engine.Chunk{Done: true, DoneReason: "stop", Stats: stats}
	if reason == "length" {
		final.DoneReason = "length"
	}
	for _, c := range calls {
		args := map[string]any{}
		if strings.TrimSpace(c.Function.Arguments) != "" {
			if err := json.Unmarshal([]byte(c.Function.Arguments), &args); err != nil {
				yield(engine.Chunk{}, fmt.Errorf("remote: tool call %q: arguments are not JSON: %w", c.Function.Name, err))
				return
			}
		}
		final.ToolCalls = append(final.ToolCalls, engine.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args})
	}
	stats.DecodeDuration = time.Since(start) - stats.TimeToFirst
	stats.ContextUsed = stats.PromptTokens + stats.DecodeTokens
	yield(final, nil)
}
