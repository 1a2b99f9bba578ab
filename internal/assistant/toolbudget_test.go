package assistant

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/engine/llama"
	"github.com/nook-ai/nook/internal/testmodels"
)

// wordyBox is a toolbox whose n tools each have a description of words
// words, and whose one call returns result.
type wordyBox struct {
	n, words int
	result   string
}

func (w *wordyBox) Tools(context.Context) ([]engine.Tool, error) {
	var out []engine.Tool
	for i := range w.n {
		out = append(out, engine.Tool{Name: fmt.Sprintf("box__tool%d", i), Description: strings.Repeat("describe ", w.words),
			Parameters: map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}})
	}
	return out, nil
}

func (w *wordyBox) Call(context.Context, string, map[string]any) (string, error) {
	return w.result, nil
}

// promptTokens is what the scripted engine counts for req's prompt.
func promptTokens(t *testing.T, e *enginetest.Engine, req engine.ChatRequest) int {
	t.Helper()
	n := 0
	for _, m := range req.Messages {
		ids, err := e.Tokenize(m.Content)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ids) + 1
	}
	return n
}

func TestToolDescriptionsAreCountedInThePromptBudget(t *testing.T) {
	t.Parallel()
	ask := func(box Toolbox) (*enginetest.Engine, *Answer) {
		e := enginetest.New(enginetest.Text(`{"answer":"Far away."}`))
		e.Model.ContextLength = 2048
		var opts []Option
		if box != nil {
			opts = append(opts, WithTools(box, ToolOptions{}))
		}
		a := New(e, &fakeStore{hits: hits(60, 40)}, opts...)
		ans, err := a.Ask(t.Context(), Input{Text: "How far is the moon?"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e, ans
	}
	plainEng, plain := ask(nil)
	toolEng, tooled := ask(&wordyBox{n: 5, words: 60})
	req := toolEng.Requests()[0]
	if req.Format == nil || !strings.Contains(req.Messages[0].Content, "box__tool4") {
		t.Fatalf("the tools were not offered: %+v", req)
	}
	if got, limit := promptTokens(t, toolEng, req), 2048-req.Options.NumPredict; got > limit {
		t.Fatalf("the prompt with tools takes %d tokens, %d fit beside the answer", got, limit)
	}
	if len(tooled.Sources) >= len(plain.Sources) || len(tooled.Sources) == 0 {
		t.Fatalf("%d sources with five tools, %d without: the tools' share did not come out of retrieval's", len(tooled.Sources), len(plain.Sources))
	}
	if tooled.Notice != "" || tooled.Answer != "Far away." {
		t.Fatalf("answer %q, notice %q", tooled.Answer, tooled.Notice)
	}
	_ = plainEng
}

func TestToolsThatDoNotFitTheContextSitTheTurnOutWithANotice(t *testing.T) {
	t.Parallel()
	e := scripted(512, "The", " moon", " is", " far.")
	a := New(e, &fakeStore{hits: hits(10, 20)}, WithTools(&wordyBox{n: 4, words: 200}, ToolOptions{}))
	ans, err := a.Ask(t.Context(), Input{Text: "How far is the moon?"}, nil)
	if err != nil {
		t.Fatalf("a five-word question failed: %v", err)
	}
	if ans.Answer != "The moon is far." {
		t.Fatalf("answer %q", ans.Answer)
	}
	if !strings.Contains(ans.Notice, "tools are off for this question") || strings.Contains(ans.Notice, "\n") {
		t.Fatalf("notice %q", ans.Notice)
	}
	req := lastRequest(t, e)
	if req.Format != nil || strings.Contains(req.Messages[0].Content, "box__tool0") {
		t.Fatalf("the tools were offered anyway: %+v", req)
	}
	if len(ans.Sources) == 0 {
		t.Fatal("without the tools, retrieval should get the room back")
	}
}

func TestATurnWhoseToolsFitHasNoNotice(t *testing.T) {
	t.Parallel()
	e := enginetest.New(enginetest.Text(`{"answer":"Yes."}`))
	e.Model.ContextLength = 512
	tr, err := New(e, nil, WithTools(&wordyBox{n: 1, words: 10}, ToolOptions{})).Turn(t.Context(), Input{Text: "Is it on?"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Notice != "" {
		t.Fatalf("notice %q", tr.Notice)
	}
	for _, err := range tr.Chunks {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestInToolModeTheAnswerStreamsAsItIsDecoded(t *testing.T) {
	t.Parallel()
	e := enginetest.New(enginetest.Reply{Tokens: []string{`{`, `"answer`, `": "`, `3 km`, ` is about`, ` 1.86\`, `nmi \"roughly\" caf\u00`, `e9 \ud83d`, `\ude00`, `"}`}})
	a := New(e, nil, WithTools(&wordyBox{n: 1, words: 5}, ToolOptions{}))
	var pieces []string
	ans, err := a.Ask(t.Context(), Input{Text: "How many miles is 3 km?"}, func(s string) { pieces = append(pieces, s) })
	if err != nil {
		t.Fatal(err)
	}
	want := "3 km is about 1.86\nmi \"roughly\" café 😀"
	if ans.Answer != want {
		t.Fatalf("answer %q, want %q", ans.Answer, want)
	}
	if len(pieces) < 5 {
		t.Fatalf("the answer came in %d pieces %q, want it token by token", len(pieces), pieces)
	}
	if pieces[0] != "3 km" {
		t.Fatalf("first piece %q: the answer did not start streaming with its first token", pieces[0])
	}
}

func TestAnAnswerCutOffInToolModeShowsItsTextAndTheCutNotJSON(t *testing.T) {
	t.Parallel()
	toks := []string{`{"answer":"`}
	for i := range 40 {
		toks = append(toks, fmt.Sprintf("word%d ", i))
	}
	toks = append(toks, `"}`)
	e := enginetest.New(enginetest.Reply{Tokens: toks})
	a := New(e, nil, WithTools(&wordyBox{n: 1, words: 5}, ToolOptions{}), WithAnswerTokens(10))
	ans, err := a.Ask(t.Context(), Input{Text: "Count for me"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(ans.Answer, `{}"`) || !strings.HasPrefix(ans.Answer, "word0 word1") {
		t.Fatalf("answer %q", ans.Answer)
	}
	if ans.Cut == "" {
		t.Fatal("a cut answer carries no cut note")
	}
}

func TestACallCutOffSaysSoWithoutJSON(t *testing.T) {
	t.Parallel()
	e := enginetest.New(enginetest.Reply{Tokens: []string{`{"call":"box__tool0",`, `"with":{"q":"`, `aaa`, `bbb`, `ccc`, `"}}`}})
	a := New(e, nil, WithTools(&wordyBox{n: 1, words: 5}, ToolOptions{}), WithAnswerTokens(3))
	ans, err := a.Ask(t.Context(), Input{Text: "Look it up"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "(the reply broke off while calling box__tool0)" || ans.Cut == "" {
		t.Fatalf("answer %q, cut %q", ans.Answer, ans.Cut)
	}
}

func TestALongToolResultIsCutToFitTheContext(t *testing.T) {
	t.Parallel()
	e := enginetest.New(enginetest.Text(`{"call":"box__tool0","with":{"q":"x"}}`), enginetest.Text(`{"answer":"Done."}`))
	e.Model.ContextLength = 1024
	box := &wordyBox{n: 1, words: 20, result: strings.Repeat("line of output ", 2000)}
	a := New(e, &fakeStore{hits: hits(30, 30)}, WithTools(box, ToolOptions{}))
	ans, err := a.Ask(t.Context(), Input{Text: "Run the tool please"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != "Done." {
		t.Fatalf("answer %q", ans.Answer)
	}
	second := e.Requests()[1]
	if got, limit := promptTokens(t, e, second), 1024-second.Options.NumPredict; got > limit {
		t.Fatalf("the round after the call takes %d tokens, %d fit", got, limit)
	}
	if res := second.Messages[len(second.Messages)-1].Content; !strings.HasSuffix(res, "(cut to fit the context)") {
		t.Fatalf("result not cut: %.80q…", res)
	}
	if !strings.Contains(second.Messages[len(second.Messages)-3].Content, "Run the tool please") {
		t.Fatal("the question did not survive the tool round")
	}
}

func TestReplyStreamDecodesWhateverTheChunking(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, reply, want string }{
		{"answer", `{"answer":"a \"b\" \\ c\n\u00e9 \ud83d\ude00 end"}`, "a \"b\" \\ c\né 😀 end"},
		{"spaced", "{ \"answer\" : \"hi\" }", "hi"},
		{"call", `{"call":"x","with":{"answer":"no"}}`, ""},
		{"plain", "Just text {not json}", "Just text {not json}"},
		{"lone surrogate", `{"answer":"\ud83d!"}`, "\uFFFD!"},
	} {
		for size := 1; size <= len(tc.reply); size++ {
			var s replyStream
			var got strings.Builder
			for i := 0; i < len(tc.reply); i += size {
				got.WriteString(s.feed(tc.reply[i:min(i+size, len(tc.reply))]))
			}
			got.WriteString(s.flush())
			if got.String() != tc.want {
				t.Fatalf("%s in chunks of %d: %q, want %q", tc.name, size, got.String(), tc.want)
			}
		}
	}
}

// The real stories260K model at a 2,048-token context with the units
// plugin granted and retrieval filling its share: a five-word question is
// answered (no "N tokens … M fit"), the answer streams in pieces and
// never shows the tool-mode JSON. At 256 tokens the tools do not fit and
// sit the turn out with a notice.
func TestRealModelAnswersWithAPluginGrantedAtA2kContext(t *testing.T) {
	env, _ := newToolEnv(t, true)
	zero := float32(0)
	seed := uint32(1)
	for _, ctxLen := range []int{2048, 256} {
		e, err := llama.Open(testmodels.Path(t, testmodels.Stories260K), llama.Options{ContextLength: ctxLen})
		if err != nil {
			t.Fatal(err)
		}
		a := New(e, &fakeStore{hits: hits(80, 40)}, WithTools(env.host, ToolOptions{MaxRounds: 1}),
			WithChatOptions(engine.Options{Temperature: &zero, Seed: &seed}))
		var pieces []string
		ans, err := a.Ask(t.Context(), Input{Text: "What did Lily find today?"}, func(s string) { pieces = append(pieces, s) })
		e.Close()
		if err != nil {
			t.Fatalf("context %d: %v", ctxLen, err)
		}
		if strings.TrimSpace(ans.Answer) == "" || strings.Contains(ans.Answer, `{"`) || strings.Contains(ans.Answer, `"answer"`) {
			t.Fatalf("context %d: answer %q", ctxLen, ans.Answer)
		}
		if len(pieces) < 3 {
			t.Fatalf("context %d: the answer came in %d pieces", ctxLen, len(pieces))
		}
		if toolsOff := strings.Contains(ans.Notice, "tools are off"); toolsOff != (ctxLen == 256) {
			t.Fatalf("context %d: notice %q", ctxLen, ans.Notice)
		}
		if ctxLen == 2048 && len(ans.Sources) == 0 {
			t.Fatal("no sources at 2k")
		}
		t.Logf("context %d: %d sources, %d pieces, cut %q, answer %.60q", ctxLen, len(ans.Sources), len(pieces), ans.Cut, ans.Answer)
	}
}
