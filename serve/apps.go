package serve

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// App is a program outside nook that reaches `nook serve` with a key of its
// own. Its record lives in the vault as the secret "app/<name>"; the key
// itself is never stored, only its SHA-256. The app is a ledger delegate
// under Address: its scopes are grants of type nook/app/<scope>
// (ledgerclient.AppType).
type App struct {
	Name    string         `json:"name"`
	Address common.Address `json:"address"`
	KeyHash string         `json:"key_hash"` // hex SHA-256 of the key
	Created time.Time      `json:"created"`
}

// Secrets is what the registry needs of the vault (*vault.Vault).
type Secrets interface {
	PutSecret(name string, data []byte) error
	Secret(name string) ([]byte, error)
	DeleteSecret(name string) error
	SecretNames(prefix string) ([]string, error)
	Refresh() error
}

var _ Secrets = (*vault.Vault)(nil)

// KeyPrefix starts every app key. A bearer token without it is not a nook
// key (clients that insist on sending one send "ollama" or "none"): the
// request is then keyless.
const KeyPrefix = "nook_"

const appSecretPrefix = "app/"

// Errors the registry returns.
var (
	ErrUnknownKey = errors.New("unknown app key")
	ErrAppExists  = errors.New("app already exists")
	ErrNoApp      = errors.New("no such app")
)

var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,47}$`)

// ValidAppName checks an app name: 1 to 48 lowercase letters, digits, '.',
// '_' or '-', starting with a letter or digit.
func ValidAppName(name string) error {
	if !appNameRE.MatchString(name) {
		return hint.New(fmt.Errorf("serve: app name %q is not valid", name), "use 1 to 48 lowercase letters, digits, '.', '_' or '-'")
	}
	return nil
}

// Registry keeps the app records. Lookups are answered from memory, which
// is reloaded from the vault (after catching up with other processes: a
// `nook apps add` while the server runs) when a key is not found, and at
// most every RefreshEvery otherwise, so that `nook apps rm` takes effect.
type Registry struct {
	s Secrets
	// RefreshEvery bounds how stale the in-memory records may be (default
	// 2s); a key it does not know triggers a reload at once (at most once
	// a second).
	RefreshEvery time.Duration
	now          func() time.Time

	mu       sync.Mutex
	byHash   map[string]App
	loadedAt time.Time
}

// NewRegistry returns the registry of the apps recorded in s.
func NewRegistry(s Secrets) *Registry {
	return &Registry{s: s, RefreshEvery: 2 * time.Second, now: time.Now}
}

// NewKey returns a fresh app key: KeyPrefix and 32 random bytes, base64url.
func NewKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashKey is the hex SHA-256 of key, as App.KeyHash holds it. Keys carry
// 256 random bits, so a plain hash is as strong as a slow one.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Add records a new app with a fresh key and a fresh random ledger address,
// and returns the record and the key (shown once: it is not stored).
func (r *Registry) Add(name string) (App, string, error) {
	if err := ValidAppName(name); err != nil {
		return App{}, "", err
	}
	if _, err := r.Get(name); err == nil {
		return App{}, "", hint.New(fmt.Errorf("serve: app %q: %w", name, ErrAppExists), "pick another name, or `nook apps rotate "+name+"` for a new key")
	} else if !errors.Is(err, ErrNoApp) {
		return App{}, "", err
	}
	var addr common.Address
	rand.Read(addr[:])
	key := NewKey()
	a := App{Name: name, Address: addr, KeyHash: HashKey(key), Created: time.Now().UTC().Truncate(time.Second)}
	if err := r.put(a); err != nil {
		return App{}, "", err
	}
	return a, key, nil
}

// Rotate gives app name a new key; the old one stops working at once in
// this process and within RefreshEvery in a running server.
func (r *Registry) Rotate(name string) (App, string, error) {
	a, err := r.Get(name)
	if err != nil {
		return App{}, "", err
	}
	key := NewKey()
	a.KeyHash = HashKey(key)
	if err := r.put(a); err != nil {
		return App{}, "", err
	}
	return a, key, nil
}

func (r *Registry) put(a App) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := r.s.PutSecret(appSecretPrefix+a.Name, b); err != nil {
		return fmt.Errorf("serve: app %q: %w", a.Name, err)
	}
	r.invalidate()
	return nil
}

func (r *Registry) invalidate() {
	r.mu.Lock()
	r.byHash = nil
	r.mu.Unlock()
}

// Get returns the record of app name, or an error wrapping ErrNoApp.
func (r *Registry) Get(name string) (App, error) {
	if err := ValidAppName(name); err != nil {
		return App{}, err
	}
	b, err := r.s.Secret(appSecretPrefix + name)
	if errors.Is(err, vault.ErrNotFound) {
		return App{}, hint.New(fmt.Errorf("serve: app %q: %w", name, ErrNoApp), "`nook apps ls` lists the apps; `nook apps add NAME` makes one")
	}
	if err != nil {
		return App{}, fmt.Errorf("serve: app %q: %w", name, err)
	}
	var a App
	if err := json.Unmarshal(b, &a); err != nil || a.Name != name {
		return App{}, fmt.Errorf("serve: app %q: damaged record", name)
	}
	return a, nil
}

// List returns every app, by name.
func (r *Registry) List() ([]App, error) {
	names, err := r.s.SecretNames(appSecretPrefix)
	if err != nil {
		return nil, err
	}
	var out []App
	for _, n := range names {
		a, err := r.Get(strings.TrimPrefix(n, appSecretPrefix))
		if err != nil {
			continue // a damaged record names no usable key
		}
		out = append(out, a)
	}
	return out, nil
}

// Remove deletes app name's record: its key stops working. Its grants stay
// on the ledger until revoked (`nook apps rm` revokes them first).
func (r *Registry) Remove(name string) error {
	if _, err := r.Get(name); err != nil {
		return err
	}
	if err := r.s.DeleteSecret(appSecretPrefix + name); err != nil {
		return fmt.Errorf("serve: remove app %q: %w", name, err)
	}
	r.invalidate()
	return nil
}

// Lookup returns the app whose key is key, or an error wrapping
// ErrUnknownKey.
func (r *Registry) Lookup(key string) (App, error) {
	h := HashKey(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.byHash == nil || now.Sub(r.loadedAt) > r.RefreshEvery {
		if err := r.reloadLocked(now); err != nil {
			return App{}, err
		}
	}
	if a, ok := r.find(h); ok {
		return a, nil
	}
	if now.Sub(r.loadedAt) >= time.Second { // perhaps added since
		if err := r.reloadLocked(now); err != nil {
			return App{}, err
		}
		if a, ok := r.find(h); ok {
			return a, nil
		}
	}
	return App{}, hint.New(ErrUnknownKey, "`nook apps add NAME` makes a key; `nook apps rotate NAME` replaces a lost one")
}

func (r *Registry) find(h string) (App, bool) {
	for kh, a := range r.byHash {
		if subtle.ConstantTimeCompare([]byte(kh), []byte(h)) == 1 {
			return a, true
		}
	}
	return App{}, false
}

func (r *Registry) reloadLocked(now time.Time) error {
	if err := r.s.Refresh(); err != nil {
		return fmt.Errorf("serve: apps: %w", err)
	}
	apps, err := r.List()
	if err != nil {
		return fmt.Errorf("serve: apps: %w", err)
	}
	m := make(map[string]App, len(apps))
	for _, a := range apps {
		m[a.KeyHash] = a
	}
	r.byHash, r.loadedAt = m, now
	return nil
}
