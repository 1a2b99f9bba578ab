package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/plugins"
)

// The scopes an app can be granted (ledgerclient.AppType names them on
// chain).
const (
	ScopeChat        = "chat"         // chat and generate with any installed model
	ScopeEmbed       = "embed"        // embeddings
	ScopeVaultRead   = "vault:read"   // search the whole vault, its memory and sources
	ScopeMemoryWrite = "memory:write" // add memory facts (MCP remember)
	// ScopeTagPrefix + TAG grants reading only the documents added with TAG.
	ScopeTagPrefix = "vault:read:tag/"
)

// ValidScope checks an app scope name.
func ValidScope(scope string) error {
	switch scope {
	case ScopeChat, ScopeEmbed, ScopeVaultRead, ScopeMemoryWrite:
		return nil
	}
	if tag, ok := strings.CutPrefix(scope, ScopeTagPrefix); ok {
		if err := plugins.ValidTag(tag); err != nil {
			return fmt.Errorf("serve: scope %q: %w", scope, err)
		}
		return nil
	}
	return fmt.Errorf("serve: unknown scope %q (scopes: chat, embed, vault:read, vault:read:tag/TAG, memory:write)", scope)
}

// Caller is who sent a request: an app (by its key), or a keyless client
// on the loopback interface.
type Caller struct {
	App *App // nil: no key
	// Loopback: the request came from 127.0.0.1 or ::1 to a server bound
	// to loopback.
	Loopback bool
}

func (c *Caller) String() string {
	if c.App != nil {
		return fmt.Sprintf("app %q", c.App.Name)
	}
	return "a client without a key"
}

type callerKey struct{}

func withCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) *Caller {
	if c, ok := ctx.Value(callerKey{}).(*Caller); ok {
		return c
	}
	return &Caller{}
}

// identify reads the caller of r: the app whose key is the bearer token
// (KeyPrefix…), or no app. A token with KeyPrefix that names no app is an
// error (a removed or rotated key must not quietly turn keyless).
func (s *Server) identify(r *http.Request) (*Caller, error) {
	c := &Caller{Loopback: s.loopback && isLoopback(r.RemoteAddr)}
	tok := bearer(r)
	if !strings.HasPrefix(tok, KeyPrefix) {
		if s.keysRequired() {
			return nil, errUnauthorized(fmt.Sprintf("nook serve on %s needs an app key on every request", s.addr),
				"send Authorization: Bearer KEY with a key from `nook apps add NAME`")
		}
		return c, nil
	}
	if s.apps == nil {
		return nil, errUnauthorized("this server has no app registry (the vault is not unlocked)", "start nook serve with the vault's passphrase (NOOK_PASSPHRASE)")
	}
	a, err := s.apps.Lookup(tok)
	if errors.Is(err, ErrUnknownKey) {
		return nil, errUnauthorized("the key names no app (removed, rotated or mistyped)", "`nook apps ls` lists the apps; `nook apps rotate NAME` prints a new key")
	}
	if err != nil {
		return nil, errUnavailable(err)
	}
	c.App = &a
	return c, nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if t, ok := strings.CutPrefix(h, "bearer "); ok {
		return strings.TrimSpace(t)
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allow checks that c may use scope: an app needs a grant on the ledger; a
// keyless loopback client gets chat and embed when the user opened them
// (Options.Open) and nothing else.
func (s *Server) allow(ctx context.Context, c *Caller, scope string) error {
	if c.App == nil {
		if c.Loopback && slices.Contains(s.open, scope) {
			return nil
		}
		h := "send Authorization: Bearer KEY with a key from `nook apps add NAME`, and `nook apps grant NAME " + scope + "`"
		if scope == ScopeChat || scope == ScopeEmbed {
			h += `; or let keyless clients on this machine ` + scope + ` (serve.open = ["chat", "embed"] in the config)`
		}
		return errUnauthorized(fmt.Sprintf("%s needs an app key with the %q grant", what(scope), scope), h)
	}
	if s.grants == nil {
		return errForbidden(fmt.Sprintf("app %q cannot %s: no ledger to check its grants", c.App.Name, verb(scope)), "check `nook ledger status`", scope)
	}
	d, err := s.grants.CheckApp(ctx, c.App.Address, scope)
	if err != nil && !d.Allowed {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ledgerclient.ErrUnreachable) {
			return errUnavailable(fmt.Errorf("checking app %q's grant of %q: %w (%s)", c.App.Name, scope, err, d.Reason))
		}
		return errForbidden(fmt.Sprintf("app %q cannot %s: %v", c.App.Name, verb(scope), err), "check `nook ledger status`", scope)
	}
	if !d.Allowed {
		return errForbidden(fmt.Sprintf("app %q cannot %s: %s", c.App.Name, verb(scope), d.Reason),
			fmt.Sprintf("`nook apps grant %s %s --for 30d`", c.App.Name, scope), scope)
	}
	return nil
}

// readAccess is what of the vault a caller may read: everything (all), or
// the documents of some tags.
type readAccess struct {
	all  bool
	tags []string
}

// allowRead checks that c may read the vault, or the documents of tag when
// tag is given. Without a tag, an app holding only tag grants reads those
// tags.
func (s *Server) allowRead(ctx context.Context, c *Caller, tag string) (readAccess, error) {
	if c.App == nil {
		return readAccess{}, errUnauthorized("the vault is never served without an app key and a grant",
			"`nook apps add NAME`, then `nook apps grant NAME vault:read` (or vault:read:tag/TAG), and send Authorization: Bearer KEY")
	}
	full := s.allow(ctx, c, ScopeVaultRead)
	if full == nil {
		return readAccess{all: true}, nil
	}
	if !isForbidden(full) {
		return readAccess{}, full
	}
	if tag != "" {
		if err := s.allow(ctx, c, ScopeTagPrefix+tag); err != nil {
			return readAccess{}, err
		}
		return readAccess{tags: []string{tag}}, nil
	}
	scopes, err := s.grants.AppScopes(ctx, c.App.Address)
	if err != nil {
		return readAccess{}, full
	}
	var ra readAccess
	for _, sc := range scopes {
		if t, ok := strings.CutPrefix(sc, ScopeTagPrefix); ok && s.allow(ctx, c, sc) == nil {
			ra.tags = append(ra.tags, t)
		}
	}
	if len(ra.tags) == 0 {
		return readAccess{}, full
	}
	slices.Sort(ra.tags)
	return ra, nil
}

func what(scope string) string {
	switch scope {
	case ScopeChat:
		return "chat"
	case ScopeEmbed:
		return "embedding"
	}
	return "reading the vault"
}

func verb(scope string) string {
	switch scope {
	case ScopeChat:
		return "chat"
	case ScopeEmbed:
		return "embed"
	case ScopeMemoryWrite:
		return "write memory"
	}
	return "read the vault (" + scope + ")"
}

// LedgerGrants answers Grants from a ledger client for the user's
// identity.
type LedgerGrants struct {
	Client   *ledgerclient.Client
	Identity common.Address
}

var _ Grants = LedgerGrants{}

// CheckApp asks the ledger (through its per-block cache).
func (g LedgerGrants) CheckApp(ctx context.Context, app common.Address, scope string) (ledgerclient.Decision, error) {
	return g.Client.CheckApp(ctx, g.Identity, app, scope)
}

// AppScopes replays the identity's events for app's active grants.
func (g LedgerGrants) AppScopes(ctx context.Context, app common.Address) ([]string, error) {
	st, err := g.Client.State(ctx, g.Identity)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, gr := range st.AppGrants() {
		if gr.Plugin == app && gr.Active(st.Time) && gr.Active(time.Now()) {
			out = append(out, gr.Scope)
		}
	}
	return out, nil
}
