package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/nook-ai/nook/engine"
)

// ollamaDefaultContext is the smallest context Ollama gives a model whose
// Modelfile sets none (it picks 4096, 32768 or 262144 by the GPU memory it
// finds).
const ollamaDefaultContext = 4096

// showOllama fills info from /api/show. answered is false when the server
// could not be reached.
func (e *Engine) showOllama(ctx context.Context, info *engine.ModelInfo) (answered bool, err error) {
	r, err := e.ollama.Show(ctx, &api.ShowRequest{Model: e.cfg.Model})
	if err != nil {
		var se api.StatusError
		return errors.As(err, &se), e.unreachable(err)
	}
	info.Architecture = r.Details.Family
	info.Quantization = r.Details.QuantizationLevel
	info.Template = r.Template
	arch, _ := r.ModelInfo["general.architecture"].(string)
	if arch != "" {
		info.Architecture = arch
	}
	num := func(key string) int {
		f, _ := r.ModelInfo[key].(float64)
		return int(f)
	}
	info.Parameters = uint64(num("general.parameter_count"))
	info.TrainedLength = num(arch + ".context_length")
	info.EmbeddingSize = num(arch + ".embedding_length")
	if info.ContextLength == 0 {
		info.ContextLength = modelfileNumCtx(r.Parameters)
	}
	if info.ContextLength == 0 && info.TrainedLength > 0 {
		info.ContextLength = min(info.TrainedLength, ollamaDefaultContext)
	}
	if len(r.Capabilities) > 0 {
		// Ollama embeds with any model; it chats with completion models and
		// passes tools only to models whose template or parser takes them.
		info.Capabilities = engine.CapEmbed
		for _, c := range r.Capabilities {
			switch c {
			case model.CapabilityCompletion:
				info.Capabilities |= engine.CapChat | engine.CapFormat
			case model.CapabilityTools:
				info.Capabilities |= engine.CapTools
			case model.CapabilityVision:
				info.Capabilities |= engine.CapVision
			}
		}
	}
	return true, nil
}

// modelfileNumCtx reads num_ctx from /api/show's parameters ("num_ctx
// 8192" lines); 0 if absent.
func modelfileNumCtx(params string) int {
	for line := range strings.Lines(params) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

func (e *Engine) embedOllama(ctx context.Context, texts []string) ([][]float32, error) {
	r, err := e.ollama.Embed(ctx, &api.EmbedRequest{Model: e.cfg.Model, Input: texts, Options: e.ollamaOptions(engine.Options{})})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, e.unreachable(err)
	}
	return r.Embeddings, nil
}

func (e *Engine) ollamaOptions(o engine.Options) map[string]any {
	m := map[string]any{}
	if e.cfg.ContextLength > 0 {
		m["num_ctx"] = e.cfg.ContextLength
	}
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

// ollamaRequest turns req into Ollama's chat request.
func (e *Engine) ollamaRequest(req engine.ChatRequest) (*api.ChatRequest, error) {
	var tools api.Tools
	if len(req.Tools) > 0 {
		b, err := json.Marshal(toolsJSON(req.Tools))
		if err == nil {
			err = json.Unmarshal(b, &tools)
		}
		if err != nil {
			return nil, fmt.Errorf("remote: tools: %w", err)
		}
	}
	msgs := make([]api.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName, ToolCallID: m.ToolCallID}
		for j, tc := range m.ToolCalls {
			args := api.NewToolCallFunctionArguments()
			for k, v := range tc.Arguments {
				args.Set(k, v)
			}
			msgs[i].ToolCalls = append(msgs[i].ToolCalls, api.ToolCall{ID: tc.ID, Function: api.ToolCallFunction{Index: j, Name: tc.Name, Arguments: args}})
		}
	}
	ar := &api.ChatRequest{Model: e.cfg.Model, Messages: msgs, Tools: tools, Options: e.ollamaOptions(req.Options)}
	if req.Format != nil {
		f, err := json.Marshal(req.Format)
		if err != nil {
			return nil, fmt.Errorf("remote: format: %w", err)
		}
		ar.Format = f
	}
	return ar, nil
}

func (e *Engine) chatOllama(ctx context.Context, req engine.ChatRequest, yield func(engine.Chunk, error) bool) {
	ar, err := e.ollamaRequest(req)
	if err != nil {
		yield(engine.Chunk{}, err)
		return
	}
	start := time.Now()
	first := time.Duration(0)
	done := false
	err = e.ollama.Chat(ctx, ar, func(r api.ChatResponse) error {
		if err := ctx.Err(); err != nil {
			return err // lines already read are not shown after a cancel
		}
		c := engine.Chunk{Text: r.Message.Content}
		if c.Text != "" && first == 0 {
			first = time.Since(start)
		}
		for _, tc := range r.Message.ToolCalls {
			c.ToolCalls = append(c.ToolCalls, engine.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments.ToMap()})
		}
		if r.Done {
			done = true
			c.Done, c.DoneReason = true, r.DoneReason
			if c.DoneReason == "" {
				c.DoneReason = "stop"
			}
			c.Stats = &engine.Stats{
				PromptTokens: r.PromptEvalCount, PromptEvaluated: r.PromptEvalCount, PromptDuration: r.PromptEvalDuration,
				DecodeTokens: r.EvalCount, DecodeDuration: r.EvalDuration, TimeToFirst: first,
				ContextUsed: r.PromptEvalCount + r.EvalCount, ContextLength: e.Info().ContextLength,
			}
		} else if c.Text == "" && len(c.ToolCalls) == 0 {
			return nil // thinking or an empty keep-alive line
		}
		if !yield(c, nil) {
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop), err == nil && done:
	case ctx.Err() != nil:
		yield(engine.Chunk{}, ctx.Err())
	case err != nil:
		yield(engine.Chunk{}, e.unreachable(err))
	case !done:
		yield(engine.Chunk{}, fmt.Errorf("remote: %s: the answer ended without a final message", e.base.Host))
	}
}
