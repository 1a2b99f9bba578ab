package assistant

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/engine/enginetest"
	"github.com/nook-ai/nook/vault"
)

// scripted is a scripted engine with the given context length that
// answers tokens; its Tokenize counts whitespace-separated words.
func scripted(ctxLen int, tokens ...string) *enginetest.Engine {
	e := enginetest.New(enginetest.Reply{Tokens: tokens})
	e.Model.ContextLength = ctxLen
	return e
}

// lastRequest is the last chat request e received.
func lastRequest(t *testing.T, e *enginetest.Engine) engine.ChatRequest {
	t.Helper()
	reqs := e.Requests()
	if len(reqs) == 0 {
		t.Fatal("the engine was not asked")
	}
	return reqs[len(reqs)-1]
}

// fakeStore returns fixed hits, as many as the budget and K allow, and
// keeps facts in memory.
type fakeStore struct {
	hits  []vault.Hit
	facts []vault.Fact
	query string
	opts  vault.SearchOptions
}

func (f *fakeStore) Search(ctx context.Context, q string, o vault.SearchOptions) ([]vault.Hit, error) {
	f.query, f.opts = q, o
	var out []vault.Hit
	left := o.Budget
	for _, h := range f.hits {
		if o.K > 0 && len(out) == o.K {
			break
		}
		if o.Budget > 0 {
			if left -= o.Tokens(h.Text) + o.PerHit; left < 0 {
				break
			}
		}
		out = append(out, h)
	}
	return out, nil
}
func (f *fakeStore) Facts() ([]vault.Fact, error) { return f.facts, nil }
func (f *fakeStore) Remember(t string) (vault.Fact, error) {
	fa := vault.Fact{ID: "f1", Text: t}
	f.facts = append(f.facts, fa)
	return fa, nil
}

func hits(n, words int) []vault.Hit {
	var out []vault.Hit
	for i := range n {
		out = append(out, vault.Hit{Source: filepath.Join("/notes", string(rune('a'+i))+".md"), StartLine: i + 1, EndLine: i + 3, Text: strings.Repeat("word ", words)})
	}
	return out
}

func TestAsk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ctxLen      int
		hits        []vault.Hit
		facts       []vault.Fact
		history     []engine.Message
		input       string
		wantSources int
		wantCited   []int
		wantInUser  []string
		wantInSys   []string
		wantErr     error
	}{
		{
			name: "sources are numbered and citations map back to them", ctxLen: 4096,
			hits: hits(3, 10), input: "where is the key?", wantSources: 3, wantCited: []int{1, 3},
			wantInUser: []string{"[1] /notes/a.md:1-3", "[3] /notes/c.md:3-5", "Question: where is the key?"},
		},
		{
			name: "memory facts go into the system prompt", ctxLen: 4096,
			facts: []vault.Fact{{ID: "x", Text: "my cat is called Miso"}}, hits: hits(1, 5), input: "what is my cat called?",
			wantSources: 1, wantCited: []int{1}, wantInSys: []string{"my cat is called Miso"},
		},
		{
			name: "low-ranked sources are dropped to fit the retrieval budget", ctxLen: 600,
			hits: hits(5, 100), input: "question?", wantSources: 2, wantCited: []int{1},
		},
		{
			name: "old history goes before sources do", ctxLen: 600,
			hits: hits(2, 100), input: "q?", wantSources: 2, wantCited: []int{1},
			history: []engine.Message{{Role: "user", Content: strings.Repeat("old ", 300)}, {Role: "assistant", Content: "short reply"}},
		},
		{
			name: "a question longer than the context is an error", ctxLen: 100,
			input: strings.Repeat("long ", 200), wantErr: engine.ErrContextFull,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng := scripted(tc.ctxLen, "The key ", "is under the pot [1]", " and [3].")
			st := &fakeStore{hits: tc.hits, facts: tc.facts}
			a := New(eng, st)
			ans, err := a.Ask(context.Background(), Input{Text: tc.input, History: tc.history}, nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ans.Answer != "The key is under the pot [1] and [3]." {
				t.Errorf("answer %q", ans.Answer)
			}
			if len(ans.Sources) != tc.wantSources {
				t.Fatalf("%d sources, want %d", len(ans.Sources), tc.wantSources)
			}
			var cited []int
			for _, s := range ans.Sources {
				if s.Cited {
					cited = append(cited, s.N)
				}
			}
			if !equal(cited, tc.wantCited) {
				t.Errorf("cited %v, want %v", cited, tc.wantCited)
			}
			req := lastRequest(t, eng)
			sys, user := req.Messages[0], req.Messages[len(req.Messages)-1]
			if sys.Role != engine.RoleSystem || user.Role != engine.RoleUser {
				t.Fatalf("roles %s … %s", sys.Role, user.Role)
			}
			for _, w := range tc.wantInUser {
				if !strings.Contains(user.Content, w) {
					t.Errorf("user message lacks %q:\n%s", w, user.Content)
				}
			}
			for _, w := range tc.wantInSys {
				if !strings.Contains(sys.Content, w) {
					t.Errorf("system message lacks %q", w)
				}
			}
			total := 0
			for _, m := range req.Messages {
				n, _ := eng.Tokenize(m.Content)
				total += len(n) + perMessage
			}
			if total+req.Options.NumPredict > tc.ctxLen {
				t.Errorf("prompt %d + answer %d tokens exceed the context %d", total, req.Options.NumPredict, tc.ctxLen)
			}
			if tc.history != nil && len(req.Messages) != 3 {
				t.Errorf("%d messages, want system + the short reply + user", len(req.Messages))
			}
		})
	}
}

func TestRememberInTurn(t *testing.T) {
	t.Parallel()
	eng := scripted(2048, "Noted.")
	st := &fakeStore{}
	a := New(eng, st)
	tr, err := a.Turn(context.Background(), Input{Text: "Remember that the spare key is under the blue pot"})
	if err != nil {
		t.Fatal(err)
	}
	for range tr.Chunks {
	}
	if tr.Remembered == nil || tr.Remembered.Text != "the spare key is under the blue pot" {
		t.Fatalf("remembered %+v", tr.Remembered)
	}
	if !strings.Contains(lastRequest(t, eng).Messages[0].Content, "spare key is under the blue pot") {
		t.Error("the new fact is not in the system prompt")
	}
}

func TestRetrievalBudgetFollowsTheContext(t *testing.T) {
	t.Parallel()
	budget := func(ctxLen int, opts ...Option) vault.SearchOptions {
		t.Helper()
		st := &fakeStore{hits: hits(40, 50)}
		eng := scripted(ctxLen, "ok")
		if _, err := New(eng, st, opts...).Ask(context.Background(), Input{Text: "where is the key?"}, nil); err != nil {
			t.Fatal(err)
		}
		if st.opts.Tokens == nil || st.opts.Tokens("one two three") != 3 {
			t.Errorf("the budget is not counted with the model's tokenizer")
		}
		return st.opts
	}
	small, large, huge := budget(2048), budget(4096), budget(131072)
	if small.Budget < 800 || small.Budget > 1200 {
		t.Errorf("2k context: budget %d, want about half of it", small.Budget)
	}
	if large.Budget <= 2*small.Budget || large.Budget > maxSourceTokens {
		t.Errorf("4k context: budget %d (2k: %d), want it to grow with the context up to %d", large.Budget, small.Budget, maxSourceTokens)
	}
	if huge.Budget != maxSourceTokens {
		t.Errorf("128k context: budget %d, want the cap %d", huge.Budget, maxSourceTokens)
	}
	if small.K != 0 || small.PerHit != perSource {
		t.Errorf("options %+v: want no fixed k and the per-source header counted", small)
	}
	if capped := budget(2048, WithSources(3)); capped.K != 3 || capped.Budget != small.Budget {
		t.Errorf("WithSources(3): %+v", capped)
	}
}

// With a real vault: retrieval feeds the prompt end to end.
func TestAskWithVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v, err := vault.Init(filepath.Join(dir, "v"), []byte("pw"), vault.WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	notes := filepath.Join(dir, "notes")
	writeFile(t, filepath.Join(notes, "keys.md"), "# Keys\n\nThe spare house key is under the blue flowerpot.\n")
	writeFile(t, filepath.Join(notes, "car.md"), "# Car\n\nThe car needs an oil change in May.\n")
	if _, err := v.Add(context.Background(), []string{notes}, vault.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	eng := scripted(2048, "Under the blue flowerpot [1].")
	ans, err := New(eng, v).Ask(context.Background(), Input{Text: "where is the spare house key?"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Sources) == 0 || filepath.Base(ans.Sources[0].Path) != "keys.md" || !ans.Sources[0].Cited || ans.Sources[0].StartLine != 1 {
		t.Errorf("sources %+v", ans.Sources)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSourcesSayWhereAndWhen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hit  vault.Hit
		want string
	}{
		{vault.Hit{Source: "/n/a.md", StartLine: 1, EndLine: 3, Text: "plain note\n"}, "[1] /n/a.md:1-3\nplain note"},
		{vault.Hit{Source: "/n/chat.md", StartLine: 7, EndLine: 8, Heading: "Chats > Spring", Date: "2024-03-02", Text: "Tom: see you at six"},
			"[1] /n/chat.md:7-8 (Chats > Spring, 2024-03-02)\nTom: see you at six"},
		{vault.Hit{Source: "/n/log.md", StartLine: 2, EndLine: 2, Heading: "Standup 2024-04-09", Date: "2024-04-09", Text: "Leo: blocked"},
			"[1] /n/log.md:2-2 (Standup 2024-04-09)\nLeo: blocked"},
		{vault.Hit{Source: "/n/lease.pdf", Page: 2, StartLine: 3, EndLine: 6, Text: "a security\ndeposit"},
			"[1] /n/lease.pdf, page 2, lines 3-6\na security\ndeposit"},
	} {
		if got := formatSource(1, tc.hit); got != tc.want {
			t.Errorf("formatSource = %q, want %q", got, tc.want)
		}
	}
}
