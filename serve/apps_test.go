package serve

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault"
)

func testVault(t *testing.T) (*vault.Vault, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := vault.Init(dir, []byte("pw"), vault.WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, dir
}

func TestAnAppsKeyIsShownOnceAndStoredOnlyAsItsHash(t *testing.T) {
	t.Parallel()
	v, _ := testVault(t)
	r := NewRegistry(v)
	a, key, err := r.Add("editor")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, KeyPrefix) || len(key) != len(KeyPrefix)+43 {
		t.Errorf("key %q, want %s and 43 base64url characters", key, KeyPrefix)
	}
	raw, _ := v.Secret("app/editor")
	if strings.Contains(string(raw), key) || !strings.Contains(string(raw), HashKey(key)) {
		t.Errorf("the record %s holds the key, or not its hash", raw)
	}
	if (a.Address == [20]byte{}) || a.Created.IsZero() {
		t.Errorf("record %+v, want an address and a time", a)
	}
	got, err := r.Lookup(key)
	if err != nil || got.Name != "editor" || got.Address != a.Address {
		t.Fatalf("Lookup: %+v, %v", got, err)
	}
	if _, err := r.Lookup(key + "x"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("a wrong key: %v, want ErrUnknownKey", err)
	}
	if _, _, err := r.Add("editor"); !errors.Is(err, ErrAppExists) {
		t.Errorf("a second editor: %v, want ErrAppExists", err)
	}
	b, _, _ := r.Add("agent")
	if b.Address == a.Address {
		t.Error("two apps got the same ledger address")
	}
	list, _ := r.List()
	if len(list) != 2 || list[0].Name != "agent" || list[1].Name != "editor" {
		t.Errorf("List = %+v, want agent and editor", list)
	}
}

func TestRotatingAKeyRetiresTheOldOne(t *testing.T) {
	t.Parallel()
	v, _ := testVault(t)
	r := NewRegistry(v)
	a, old, _ := r.Add("editor")
	b, fresh, err := r.Rotate("editor")
	if err != nil {
		t.Fatal(err)
	}
	if b.Address != a.Address {
		t.Error("rotating changed the app's address (its grants would be lost)")
	}
	if _, err := r.Lookup(old); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("the old key: %v, want refused", err)
	}
	if got, err := r.Lookup(fresh); err != nil || got.Name != "editor" {
		t.Errorf("the new key: %+v, %v", got, err)
	}
	if err := r.Remove("editor"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(fresh); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("a removed app's key: %v, want refused", err)
	}
	if err := r.Remove("editor"); !errors.Is(err, ErrNoApp) {
		t.Errorf("removing twice: %v, want ErrNoApp", err)
	}
}

func TestARunningServerSeesAppsAddedAndRemovedByAnotherProcess(t *testing.T) {
	t.Parallel()
	v, dir := testVault(t)
	running := NewRegistry(v)
	now := time.Now()
	running.now = func() time.Time { return now }
	if _, err := running.Lookup("nook_nothing"); !errors.Is(err, ErrUnknownKey) {
		t.Fatal(err)
	}
	other, err := vault.Open(dir, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cli := NewRegistry(other) // `nook apps add` in another process
	_, key, err := cli.Add("late")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(1100 * time.Millisecond) // an unknown key reloads at most once a second
	if a, err := running.Lookup(key); err != nil || a.Name != "late" {
		t.Fatalf("a key added by another process: %+v, %v", a, err)
	}
	if err := cli.Remove("late"); err != nil {
		t.Fatal(err)
	}
	if _, err := running.Lookup(key); err != nil {
		t.Fatalf("within RefreshEvery the cached record still answers: %v", err)
	}
	now = now.Add(running.RefreshEvery + time.Millisecond)
	if _, err := running.Lookup(key); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("after RefreshEvery a removed app's key: %v, want refused", err)
	}
}

func TestAppNamesAndScopesAreChecked(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"", "Editor", "a b", "-x", strings.Repeat("a", 49), "app/x"} {
		if ValidAppName(n) == nil {
			t.Errorf("app name %q accepted", n)
		}
	}
	for _, n := range []string{"e", "vs-code", "agent.2", "a_b"} {
		if err := ValidAppName(n); err != nil {
			t.Errorf("app name %q: %v", n, err)
		}
	}
	for _, s := range []string{"chat", "embed", "vault:read", "memory:write", "vault:read:tag/health"} {
		if err := ValidScope(s); err != nil {
			t.Errorf("scope %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "vault:write", "vault:read:tag/", "vault:read:tag/a b", "tool"} {
		if ValidScope(s) == nil {
			t.Errorf("scope %q accepted", s)
		}
	}
}
