package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
)

// Config selects the server.
type Config struct {
	Kind   string // "ollama" or "openai"
	URL    string // base URL: http://host:11434, https://host/v1
	APIKey string // sent as a bearer token (openai)
	Model  string
	// HTTPClient, if set, is used for every request (tests, proxies).
	HTTPClient *http.Client
	// AllowHTTP allows an http:// URL to a host other than this machine's
	// loopback (refused by default: ErrPlainHTTP).
	AllowHTTP bool
}

// Engine is a remote model.
type Engine struct {
	cfg    Config
	base   *url.URL
	http   *http.Client
	ollama *api.Client
	info   engine.ModelInfo
}

var _ engine.Engine = (*Engine)(nil)

// New checks the config; it connects on the first call.
func New(cfg Config) (*Engine, error) {
	if cfg.Model == "" {
		return nil, hint.New(errors.New("remote: no model named"), "set remote.model in the config, or pass -m NAME")
	}
	if cfg.URL == "" {
		switch cfg.Kind {
		case "ollama":
			cfg.URL = "http://127.0.0.1:11434"
		default:
			return nil, hint.New(fmt.Errorf("remote: %s: no URL", cfg.Kind), "set remote.url in the config")
		}
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hint.New(fmt.Errorf("remote: bad URL %q", cfg.URL), "use http://HOST:PORT or https://HOST/PATH")
	}
	if err := checkTransport(u, cfg.AllowHTTP); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 0} // streams can be long; contexts bound them
	}
	e := &Engine{cfg: cfg, base: u, http: hc, info: engine.ModelInfo{Name: cfg.Model, Backend: "remote " + cfg.Kind + " " + u.Host}}
	switch cfg.Kind {
	case "ollama":
		e.ollama = api.NewClient(u, hc)
	case "openai":
	default:
		return nil, hint.New(fmt.Errorf("remote: unknown kind %q", cfg.Kind), `set remote.kind to "ollama" or "openai"`)
	}
	return e, nil
}

// Info describes the remote model; for Ollama it asks the server once.
func (e *Engine) Info() engine.ModelInfo {
	if e.ollama != nil && e.info.Architecture == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if r, err := e.ollama.Show(ctx, &api.ShowRequest{Model: e.cfg.Model}); err == nil {
			e.info.Architecture = r.Details.Family
			e.info.Quantization = r.Details.QuantizationLevel
			e.info.Template = r.Template
			for k, v := range r.ModelInfo {
				if f, ok := v.(float64); ok {
					switch {
					case strings.HasSuffix(k, ".context_length"):
						e.info.TrainedLength = int(f)
						e.info.ContextLength = int(f)
					case k == "general.parameter_count":
						e.info.Parameters = uint64(f)
					case strings.HasSuffix(k, ".embedding_length"):
						e.info.EmbeddingSize = int(f)
					}
				}
			}
		}
	}
	return e.info
}

// Tokenize estimates tokens: servers do not expose their tokenizer, so it
// returns one placeholder id per ~4 bytes of text (rounded up) — enough
// for prompt budgets, which is all nook uses it for with a remote model.
func (e *Engine) Tokenize(text string) ([]int, error) {
	return make([]int, (len(text)+3)/4), nil
}

// Close does nothing: connections are per request.
func (e *Engine) Close() error { return nil }

func (e *Engine) unreachable(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		return hint.New(fmt.Errorf("remote: %s: %w", e.base.Host, err), "check that the server is running and remote.url in the config")
	}
	return fmt.Errorf("remote: %w", err)
}

// Chat streams the answer from the server.
func (e *Engine) Chat(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	if e.ollama != nil {
		return e.chatOllama(ctx, req)
	}
	return e.chatOpenAI(ctx, req)
}

// Embed returns L2-normalised vectors from the server.
func (e *Engine) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	var out [][]float32
	if e.ollama != nil {
		r, err := e.ollama.Embed(ctx, &api.EmbedRequest{Model: e.cfg.Model, Input: texts})
		if err != nil {
			return nil, e.unreachable(err)
		}
		out = r.Embeddings
	} else {
		var r struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
		}
		if err := e.postJSON(ctx, "embeddings", map[string]any{"model": e.cfg.Model, "input": texts}, &r); err != nil {
			return nil, err
		}
		out = make([][]float32, len(texts))
		for _, d := range r.Data {
			if d.Index >= 0 && d.Index < len(out) {
				out[d.Index] = d.Embedding
			}
		}
	}
	if len(out) != len(texts) {
		return nil, fmt.Errorf("remote: embed: %d vectors for %d texts", len(out), len(texts))
	}
	for i, v := range out {
		if v == nil {
			return nil, fmt.Errorf("remote: embed: no vector for text %d", i)
		}
		out[i] = engine.Normalize(v)
	}
	return out, nil
}

func ollamaOptions(o engine.Options) map[string]any {
	m := map[string]any{}
	if o.Temperature != nil {
		m["temperature"] = *o.Temperature
	}
	if o.TopK != 0 {
		m["top_k"] = o.TopK
	}
	if o.TopP != 0 {
		m["top_p"] = o.TopP
	}
	if o.MinP != 0 {
		m["min_p"] = o.MinP
	}
	if o.RepeatPenalty != 0 {
		m["repeat_penalty"] = o.RepeatPenalty
	}
	if o.RepeatLastN != 0 {
		m["repeat_last_n"] = o.RepeatLastN
	}
	if o.Seed != nil {
		m["seed"] = *o.Seed
	}
	if o.NumPredict != 0 {
		m["num_predict"] = o.NumPredict
	}
	if len(o.Stop) > 0 {
		m["stop"] = o.Stop
	}
	return m
}

var errStop = errors.New("consumer stopped")

func (e *Engine) chatOllama(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		var tools api.Tools
		if len(req.Tools) > 0 {
			b, _ := json.Marshal(toolsJSON(req.Tools))
			if err := json.Unmarshal(b, &tools); err != nil {
				yield(engine.Chunk{}, fmt.Errorf("remote: tools: %w", err))
				return
			}
		}
		msgs := make([]api.Message, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName}
			for _, tc := range m.ToolCalls {
				args := api.NewToolCallFunctionArguments()
				for k, v := range tc.Arguments {
					args.Set(k, v)
				}
				msgs[i].ToolCalls = append(msgs[i].ToolCalls, api.ToolCall{Function: api.ToolCallFunction{Name: tc.Name, Arguments: args}})
			}
		}
		ar := &api.ChatRequest{Model: e.cfg.Model, Messages: msgs, Tools: tools, Options: ollamaOptions(req.Options)}
		if req.Format != nil {
			ar.Format, _ = json.Marshal(req.Format)
		}
		start := time.Now()
		first := time.Duration(0)
		err := e.ollama.Chat(ctx, ar, func(r api.ChatResponse) error {
			c := engine.Chunk{Text: r.Message.Content}
			if c.Text != "" && first == 0 {
				first = time.Since(start)
			}
			for _, tc := range r.Message.ToolCalls {
				c.ToolCalls = append(c.ToolCalls, engine.ToolCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments.ToMap()})
			}
			if r.Done {
				c.Done, c.DoneReason = true, r.DoneReason
				c.Stats = &engine.Stats{
					PromptTokens: r.PromptEvalCount, PromptEvaluated: r.PromptEvalCount, PromptDuration: r.PromptEvalDuration,
					DecodeTokens: r.EvalCount, DecodeDuration: r.EvalDuration, TimeToFirst: first,
					ContextUsed: r.PromptEvalCount + r.EvalCount,
				}
			}
			if !yield(c, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			yield(engine.Chunk{}, e.unreachable(err))
		}
	}
}

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

func (e *Engine) newRequest(ctx context.Context, path string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint(path), bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	if e.cfg.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	return r, nil
}

func (e *Engine) do(r *http.Request) (*http.Response, error) {
	resp, err := e.http.Do(r)
	if err != nil {
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

func (e *Engine) postJSON(ctx context.Context, path string, body, out any) error {
	r, err := e.newRequest(ctx, path, body)
	if err != nil {
		return err
	}
	resp, err := e.do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("remote: %s: %w", path, err)
	}
	return nil
}

type oaDelta struct {
	Content   string `json:"content"`
	ToolCalls []struct {
		Index    int `json:"index"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type oaChunk struct {
	Choices []struct {
		Delta        oaDelta `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

func (e *Engine) chatOpenAI(ctx context.Context, req engine.ChatRequest) iter.Seq2[engine.Chunk, error] {
	return func(yield func(engine.Chunk, error) bool) {
		msgs := make([]map[string]any, len(req.Messages))
		for i, m := range req.Messages {
			mm := map[string]any{"role": m.Role, "content": m.Content}
			if m.Role == engine.RoleTool {
				mm["name"] = m.ToolName
			}
			if len(m.ToolCalls) > 0 {
				var calls []map[string]any
				for j, tc := range m.ToolCalls {
					args, _ := json.Marshal(tc.Arguments)
					calls = append(calls, map[string]any{"id": fmt.Sprintf("call_%d", j), "type": "function", "function": map[string]any{"name": tc.Name, "arguments": string(args)}})
				}
				mm["tool_calls"] = calls
			}
			msgs[i] = mm
		}
		body := map[string]any{"model": e.cfg.Model, "messages": msgs, "stream": true, "stream_options": map[string]any{"include_usage": true}}
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
		start := time.Now()
		r, err := e.newRequest(ctx, "chat/completions", body)
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
		stats := &engine.Stats{}
		reason := ""
		type call struct{ name, args string }
		var calls []*call
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data:") {
				continue
			}
			data := strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			if data == "[DONE]" {
				break
			}
			var ch oaChunk
			if err := json.Unmarshal([]byte(data), &ch); err != nil {
				yield(engine.Chunk{}, fmt.Errorf("remote: bad stream event: %w", err))
				return
			}
			if ch.Usage != nil {
				stats.PromptTokens, stats.PromptEvaluated, stats.DecodeTokens = ch.Usage.PromptTokens, ch.Usage.PromptTokens, ch.Usage.CompletionTokens
			}
			for _, c := range ch.Choices {
				for _, tc := range c.Delta.ToolCalls {
					for len(calls) <= tc.Index {
						calls = append(calls, &call{})
					}
					calls[tc.Index].name += tc.Function.Name
					calls[tc.Index].args += tc.Function.Arguments
				}
				if c.FinishReason != nil {
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
		if err := sc.Err(); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			yield(engine.Chunk{}, e.unreachable(err))
			return
		}
		final := engine.Chunk{Done: true, DoneReason: reason, Stats: stats}
		if reason == "" || reason == "tool_calls" {
			final.DoneReason = "stop"
		}
		for _, c := range calls {
			args := map[string]any{}
			if c.args != "" {
				if err := json.Unmarshal([]byte(c.args), &args); err != nil {
					yield(engine.Chunk{}, fmt.Errorf("remote: tool call %q: arguments are not JSON: %w", c.name, err))
					return
				}
			}
			final.ToolCalls = append(final.ToolCalls, engine.ToolCall{Name: c.name, Arguments: args})
		}
		stats.DecodeDuration = time.Since(start) - stats.TimeToFirst
		yield(final, nil)
	}
}
