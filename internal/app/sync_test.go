package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nook-ai/nook/internal/app"
	vsync "github.com/nook-ai/nook/vault/sync"
)

func TestTheSyncServiceOfANeverPairedVaultStartsNothing(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	initVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()
	if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
		t.Fatal(err)
	}
	if err := a.StartSync(t.Context()); err != nil {
		t.Fatalf("StartSync on a never-paired vault: %v", err)
	}
	s, rel, err := a.Sync(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	if s.Enabled() || s.Host() != nil {
		t.Errorf("a never-paired vault's sync is enabled %v, has a host %v", s.Enabled(), s.Host() != nil)
	}
	if got := a.Status().Sync; got != "off" {
		t.Errorf("status says sync is %q, want off", got)
	}
	_, err = a.SyncNow(t.Context())
	if !errors.Is(err, vsync.ErrNotPaired) {
		t.Errorf("SyncNow on a never-paired vault: %v, want ErrNotPaired", err)
	}
	if s.Host() != nil {
		t.Error("SyncNow started a host for a never-paired vault")
	}
	var checks []string
	for _, c := range a.Checks() {
		checks = append(checks, c.Name+" "+c.Value)
	}
	if joined := strings.Join(checks, "\n"); !strings.Contains(joined, "never paired, it opens no socket") {
		t.Errorf("doctor's sync line: %s", joined)
	}
}
