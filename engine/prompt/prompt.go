package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/template"

	"github.com/nook-ai/nook/engine"
)

// Template renders conversations for one model.
type Template struct {
	// Name says where the template came from: the matched ollama template's
	// name, "chatml" (fallback), or "plain" (the model has none).
	Name string
	// Source is the Go template text ("" for plain).
	Source string
	// Stop holds the template's stop sequences (e.g. "<|im_end|>").
	Stop []string
	t    *template.Template
}

const chatML = "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"

// ForModel picks the template for a model whose GGUF carries chatTemplate
// (tokenizer.chat_template; "" for none).
func ForModel(chatTemplate string) (*Template, error) {
	if strings.TrimSpace(chatTemplate) == "" {
		return &Template{Name: "plain"}, nil
	}
	if named, err := template.Named(chatTemplate); err == nil {
		src, err := io.ReadAll(named.Reader())
		if err != nil {
			return nil, fmt.Errorf("prompt: read template %s: %w", named.Name, err)
		}
		t, err := template.Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("prompt: parse template %s: %w", named.Name, err)
		}
		out := &Template{Name: named.Name, Source: string(src), t: t}
		if named.Parameters != nil {
			out.Stop = named.Parameters.Stop
		}
		return out, nil
	}
	return Parse("chatml", chatML, []string{"<|im_end|>"})
}

// Parse makes a Template from Go template text in ollama's dialect.
func Parse(name, src string, stop []string) (*Template, error) {
	t, err := template.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("prompt: parse template %s: %w", name, err)
	}
	return &Template{Name: name, Source: src, Stop: stop, t: t}, nil
}

// Plain reports whether the model has no chat template.
func (t *Template) Plain() bool { return t.t == nil }

// Render returns the prompt text for msgs, ending where the assistant's
// answer begins.
func (t *Template) Render(msgs []engine.Message, tools []engine.Tool) (string, error) {
	if t.t == nil {
		return renderPlain(msgs), nil
	}
	vals := template.Values{Messages: toAPI(msgs)}
	if len(tools) > 0 {
		at, err := toolsToAPI(tools)
		if err != nil {
			return "", err
		}
		vals.Tools = at
	}
	var b strings.Builder
	if err := t.t.Execute(&b, vals); err != nil {
		return "", fmt.Errorf("prompt: render with %s template: %w", t.Name, err)
	}
	return b.String(), nil
}

// renderPlain is for base models: the texts one after another, so a single
// user message is the prompt exactly.
func renderPlain(msgs []engine.Message) string {
	var parts []string
	for _, m := range msgs {
		if m.Content != "" {
			parts = append(parts, m.Content)
		}
	}
	return strings.Join(parts, "\n\n")
}

func toAPI(msgs []engine.Message) []api.Message {
	out := make([]api.Message, 0, len(msgs))
	for _, m := range msgs {
		am := api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName}
		for i, tc := range m.ToolCalls {
			args := api.NewToolCallFunctionArguments()
			for k, v := range tc.Arguments {
				args.Set(k, v)
			}
			am.ToolCalls = append(am.ToolCalls, api.ToolCall{Function: api.ToolCallFunction{Index: i, Name: tc.Name, Arguments: args}})
		}
		out = append(out, am)
	}
	return out
}

func toolsToAPI(tools []engine.Tool) (api.Tools, error) {
	type fn struct {
		Name        string         `json:"name"`
		Description string         `json:"description,omitempty"`
		Parameters  map[string]any `json:"parameters"`
	}
	type tool struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	in := make([]tool, len(tools))
	for i, t := range tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		in[i] = tool{Type: "function", Function: fn{t.Name, t.Description, params}}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("prompt: tools: %w", err)
	}
	var out api.Tools
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("prompt: tools: %w", err)
	}
	return out, nil
}

// Fit returns the longest suffix of the conversation whose size (by count)
// is at most budget, keeping every system message and the last message.
// Older turns go first. It fails with engine.ErrContextFull when even the
// system messages and the last message do not fit.
func Fit(msgs []engine.Message, budget int, count func([]engine.Message) (int, error)) (kept []engine.Message, dropped int, err error) {
	if len(msgs) == 0 {
		return nil, 0, errors.New("prompt: no messages")
	}
	var sys, rest []engine.Message
	for _, m := range msgs[:len(msgs)-1] {
		if m.Role == engine.RoleSystem {
			sys = append(sys, m)
		} else {
			rest = append(rest, m)
		}
	}
	last := msgs[len(msgs)-1]
	build := func(from int) []engine.Message {
		out := append([]engine.Message{}, sys...)
		out = append(out, rest[from:]...)
		return append(out, last)
	}
	n, err := count(msgs)
	if err != nil {
		return nil, 0, err
	}
	if n <= budget {
		return msgs, 0, nil
	}
	// Binary search the first kept index: size shrinks as from grows.
	lo, hi := 0, len(rest)
	for lo < hi {
		mid := (lo + hi) / 2
		n, err := count(build(mid))
		if err != nil {
			return nil, 0, err
		}
		if n <= budget {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	// A conversation should not start with an assistant or tool reply.
	for lo < len(rest) && rest[lo].Role != engine.RoleUser {
		lo++
	}
	kept = build(lo)
	n, err = count(kept)
	if err != nil {
		return nil, 0, err
	}
	if n > budget {
		return nil, 0, fmt.Errorf("prompt: %d tokens for the system prompt and the last message, %d fit: %w", n, budget, engine.ErrContextFull)
	}
	return kept, lo, nil
}
