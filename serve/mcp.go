package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/assistant"
	"github.com/nook-ai/nook/vault"
)

// MCP: the vault's tools for coding agents and other assistants, over
// stdio (`nook mcp`) and streamable HTTP (/mcp on `nook serve`): search,
// ask, remember and list_sources. Each call is checked against the calling
// app's grants, like the HTTP APIs: reading needs vault:read (or
// vault:read:tag/<t> for one tag), ask also chat, remember memory:write.

// SearchIn is the search tool's input.
type SearchIn struct {
	Query string `json:"query" jsonschema:"what to look for, in words"`
	K     int    `json:"k,omitempty" jsonschema:"how many passages (default 5, at most 50)"`
	Tag   string `json:"tag,omitempty" jsonschema:"only documents added with this tag"`
}

// SearchOut is the search tool's output.
type SearchOut struct {
	Hits []vault.Hit `json:"hits"`
}

// AskIn is the ask tool's input.
type AskIn struct {
	Question string `json:"question" jsonschema:"the question, answered from the user's notes"`
	Model    string `json:"model,omitempty" jsonschema:"the model to answer with (default: the configured chat model)"`
	Tag      string `json:"tag,omitempty" jsonschema:"only documents added with this tag"`
	K        int    `json:"k,omitempty" jsonschema:"how many passages the answer gets (default 5, at most 20)"`
}

// AskOut is the ask tool's output: the answer and the passages it was
// given, with those it cites marked.
type AskOut struct {
	Answer  string             `json:"answer"`
	Sources []assistant.Source `json:"sources"`
}

// RememberIn is the remember tool's input.
type RememberIn struct {
	Text string `json:"text" jsonschema:"a fact for nook to remember and use in later answers"`
}

// ListSourcesIn is the list_sources tool's input.
type ListSourcesIn struct {
	Tag string `json:"tag,omitempty" jsonschema:"only documents added with this tag"`
}

// ListSourcesOut is the list_sources tool's output.
type ListSourcesOut struct {
	Sources []vault.SourceInfo `json:"sources"`
}

// MCPServer returns an MCP server with nook's tools. Calls that arrive
// over HTTP carry their app in their bearer token; others (stdio) act as
// caller (nil: no app).
func (s *Server) MCPServer(caller *Caller) *mcp.Server {
	if caller == nil {
		caller = &Caller{}
	}
	who := func(req *mcp.CallToolRequest) *Caller {
		if ti := req.Extra; ti != nil && ti.TokenInfo != nil {
			if c, ok := ti.TokenInfo.Extra["caller"].(*Caller); ok {
				return c
			}
		}
		return caller
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "nook", Title: "nook: the user's notes and memory", Version: s.o.Version}, &mcp.ServerOptions{
		Instructions: "Tools over the user's encrypted notes (nook's vault). Each call is checked against this app's grants; a refusal says which grant to ask the user for.",
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "search", Description: "Search the user's notes; returns passages with their file and lines."},
		func(ctx context.Context, req *mcp.CallToolRequest, in SearchIn) (*mcp.CallToolResult, SearchOut, error) {
			c := who(req)
			if strings.TrimSpace(in.Query) == "" {
				return nil, SearchOut{}, errors.New("query is empty")
			}
			if in.K < 0 || in.K > 50 {
				return nil, SearchOut{}, errors.New("k must be 0 to 50")
			}
			ra, err := s.allowRead(ctx, c, in.Tag)
			if err != nil {
				return nil, SearchOut{}, err
			}
			if s.vault == nil {
				return nil, SearchOut{}, errors.New("the vault is not open in this server")
			}
			hits, err := s.search(ctx, ra, in.Query, vault.SearchOptions{K: in.K, Tag: in.Tag})
			if hits == nil {
				hits = []vault.Hit{}
			}
			return nil, SearchOut{Hits: hits}, err
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "ask", Description: "Answer a question from the user's notes; returns the answer and the passages it cites."},
		func(ctx context.Context, req *mcp.CallToolRequest, in AskIn) (*mcp.CallToolResult, AskOut, error) {
			if strings.TrimSpace(in.Question) == "" {
				return nil, AskOut{}, errors.New("question is empty")
			}
			model := in.Model
			if model == "" {
				model = RAGModel
			}
			job := &chatJob{model: model, ext: Ext{RAG: true, Tag: in.Tag, Sources: in.K},
				messages: []engine.Message{{Role: engine.RoleUser, Content: in.Question}}}
			var out AskOut
			var b strings.Builder
			err := s.chat(withCaller(ctx, who(req)), job, func(o chatOut) error {
				b.WriteString(o.Text)
				if o.Done {
					out.Sources = o.Sources
				}
				return nil
			})
			out.Answer = b.String()
			if out.Sources == nil {
				out.Sources = []assistant.Source{}
			}
			return nil, out, err
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "remember", Description: "Store a fact in the user's memory; nook uses it in later answers."},
		func(ctx context.Context, req *mcp.CallToolRequest, in RememberIn) (*mcp.CallToolResult, vault.Fact, error) {
			if err := s.allow(ctx, who(req), ScopeMemoryWrite); err != nil {
				return nil, vault.Fact{}, err
			}
			if s.vault == nil {
				return nil, vault.Fact{}, errors.New("the vault is not open in this server")
			}
			f, err := s.vault.Remember(in.Text)
			return nil, f, err
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "list_sources", Description: "List the documents in the user's notes (file, tags, chunks, lines)."},
		func(ctx context.Context, req *mcp.CallToolRequest, in ListSourcesIn) (*mcp.CallToolResult, ListSourcesOut, error) {
			ra, err := s.allowRead(ctx, who(req), in.Tag)
			if err != nil {
				return nil, ListSourcesOut{}, err
			}
			if s.vault == nil {
				return nil, ListSourcesOut{}, errors.New("the vault is not open in this server")
			}
			s.refresh()
			out := ListSourcesOut{Sources: []vault.SourceInfo{}}
			tags := ra.tags
			if ra.all {
				tags = []string{in.Tag}
			}
			for _, t := range tags {
				ss, err := s.vault.ListSources(t)
				if err != nil {
					return nil, out, err
				}
				out.Sources = append(out.Sources, ss...)
			}
			return nil, out, nil
		})
	return srv
}

// CallerForKey is the caller an app key names (for `nook mcp`, which reads
// the key from its environment); "" is no app.
func (s *Server) CallerForKey(key string) (*Caller, error) {
	if key == "" {
		return &Caller{Loopback: true}, nil
	}
	if !strings.HasPrefix(key, KeyPrefix) || s.apps == nil {
		return nil, errUnauthorized("not a nook app key", "`nook apps add NAME` prints one")
	}
	a, err := s.apps.Lookup(key)
	if err != nil {
		return nil, err
	}
	return &Caller{App: &a, Loopback: true}, nil
}

// mcpHandler serves MCP over streamable HTTP to apps with a key: the
// bearer token names the app whose grants each call is checked against.
func (s *Server) mcpHandler() http.Handler {
	srv := s.MCPServer(nil)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		MaxRequestBodyBytes: s.o.MaxBody,
		SessionTimeout:      30 * time.Minute,
	})
	verify := func(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
		if !strings.HasPrefix(token, KeyPrefix) || s.apps == nil {
			return nil, auth.ErrInvalidToken
		}
		a, err := s.apps.Lookup(token)
		if errors.Is(err, ErrUnknownKey) {
			return nil, auth.ErrInvalidToken
		}
		if err != nil {
			return nil, err
		}
		c := &Caller{App: &a, Loopback: s.loopback && isLoopback(r.RemoteAddr)}
		return &auth.TokenInfo{UserID: a.Name, Extra: map[string]any{"caller": c}}, nil
	}
	return auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
}
