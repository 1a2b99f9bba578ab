package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/app"
)

// Two apps on one NOOK_HOME stand for two nook processes (the chain's data
// dir lock is per open, so one process shows it as well as two).
func TestASecondAppUsesTheChainTheFirstHolds(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	initVault(t, cfg)
	first, second := app.New(cfg), app.New(cfg)
	defer first.Close()
	defer second.Close()
	for _, a := range []*app.App{first, second} {
		if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
			t.Fatal(err)
		}
	}
	l1, rel1, err := first.Ledger(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rel1()
	id, err := l1.CreateIdentity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	l2, rel2, err := second.Ledger(t.Context(), false)
	if err != nil {
		t.Fatalf("the second app while the first holds the chain: %v", err)
	}
	defer rel2()
	if !strings.Contains(l2.Where, "through the nook that holds it") {
		t.Errorf("second ledger at %q", l2.Where)
	}
	got, err := l2.Identity()
	if err != nil || got != id {
		t.Fatalf("identity seen by the second app: %v, %v; want %v", got, err, id)
	}
}

func TestAFollowingAppSeesWhatAnotherProcessWroteWithinASecond(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	initVault(t, cfg)
	open, cli := app.New(cfg), app.New(cfg)
	defer open.Close()
	for _, a := range []*app.App{open, cli} {
		if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
			t.Fatal(err)
		}
	}
	open.FollowVault(100 * time.Millisecond)
	v, rel, _ := cli.Vault()
	f, err := v.Remember("the boiler code is 4411")
	rel()
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		v, rel, _ := open.Vault()
		facts, _ := v.Facts()
		rel()
		if len(facts) == 1 && facts[0].ID == f.ID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a second the open app has facts %+v", facts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
