package prompt

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nook-ai/nook/engine"
)

const chatMLJinja = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

func TestTemplateChoice(t *testing.T) {
	t.Parallel()
	msgs := []engine.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}
	for _, tc := range []struct {
		name, gguf, wantName, want string
	}{
		{"a model without a template gets the text as is", "", "plain", "Be brief.\n\nHi"},
		{"a ChatML model gets ollama's chatml template", chatMLJinja, "chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"an unknown template falls back to ChatML", strings.Repeat("{{ weird }}", 40), "chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ForModel(tc.gguf)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Name != tc.wantName {
				t.Fatalf("template %q, want %q", tmpl.Name, tc.wantName)
			}
			got, err := tmpl.Render(msgs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Fatalf("(-got +want)\n%s", diff)
			}
		})
	}
}

func TestToolsReachTheTemplate(t *testing.T) {
	t.Parallel()
	src := "{{ if .Tools }}TOOLS:{{ range .Tools }}{{ .Function.Name }};{{ end }}{{ end }}{{ range .Messages }}{{ .Content }}{{ range .ToolCalls }}CALL {{ .Function.Name }}{{ end }}{{ end }}"
	tmpl, err := Parse("t", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]engine.Message{
		{Role: "user", Content: "convert"},
		{Role: "assistant", ToolCalls: []engine.ToolCall{{Name: "units", Arguments: map[string]any{"v": 1}}}},
	}, []engine.Tool{{Name: "units", Description: "converts", Parameters: map[string]any{"type": "object", "properties": map[string]any{"v": map[string]any{"type": "number"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got != "TOOLS:units;convertCALL units" {
		t.Fatalf("got %q", got)
	}
}

func TestFitDropsOldestTurnsAndKeepsTheSystemPrompt(t *testing.T) {
	t.Parallel()
	count := func(m []engine.Message) (int, error) {
		n := 0
		for _, x := range m {
			n += len(x.Content)
		}
		return n, nil
	}
	msgs := []engine.Message{
		{Role: "system", Content: "SYS"},
		{Role: "user", Content: "u1-aaaaaaaaaa"},
		{Role: "assistant", Content: "a1-aaaaaaaaaa"},
		{Role: "user", Content: "u2-bbbbbbbbbb"},
		{Role: "assistant", Content: "a2-bbbbbbbbbb"},
		{Role: "user", Content: "u3"},
	}
	for _, tc := range []struct {
		name    string
		budget  int
		dropped int
		first   string
		err     error
	}{
		{"everything fits", 1000, 0, "u1-aaaaaaaaaa", nil},
		{"the first turn goes", 40, 2, "u2-bbbbbbbbbb", nil},
		{"all old turns go", 10, 4, "u3", nil},
		{"even the last message is too long", 3, 0, "", engine.ErrContextFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kept, dropped, err := Fit(msgs, tc.budget, count)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if dropped != tc.dropped || kept[0].Content != "SYS" || kept[1].Content != tc.first || kept[len(kept)-1].Content != "u3" {
				t.Fatalf("dropped %d, kept %+v", dropped, kept)
			}
		})
	}
}
