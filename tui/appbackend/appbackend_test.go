package appbackend_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/app/apptest"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/internal/testmodels"
	"github.com/nook-ai/nook/tui"
	"github.com/nook-ai/nook/tui/appbackend"
	"github.com/nook-ai/nook/vault"
)

func TestATurnThroughTheAdapterUsesTheVaultAndIsSaved(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, apptest.NewRegistry(t))
	cfg.Model = testmodels.Path(t, testmodels.Stories260K)
	apptest.InitVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()
	b := appbackend.New(a, nil)

	st, err := b.Vault(t.Context())
	if err != nil || !st.Exists || !st.NeedPassphrase {
		t.Fatalf("vault state %+v, %v", st, err)
	}
	if _, err := b.Search(t.Context(), "key"); !errors.Is(err, vault.ErrLocked) || !strings.Contains(hint.Of(err), "/unlock") {
		t.Fatalf("search before unlock: %v (hint %q)", err, hint.Of(err))
	}
	if err := b.Unlock(t.Context(), []byte("wrong")); !errors.Is(err, vault.ErrWrongPassphrase) || !strings.Contains(hint.Of(err), "/unlock") {
		t.Fatalf("wrong passphrase: %v (hint %q)", err, hint.Of(err))
	}
	// As the app does: the model loads while the vault unlocks.
	loaded := make(chan error, 1)
	go func() {
		info, err := b.LoadModel(t.Context(), "")
		if err == nil && info.Name != "stories260K" {
			err = errors.New("loaded " + info.Name)
		}
		loaded <- err
	}()
	if err := b.Unlock(t.Context(), []byte(apptest.Passphrase)); err != nil {
		t.Fatal(err)
	}
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "home.md"), []byte("# Home\n\nThe spare key is under the blue mat.\n"), 0o644)
	if sum, err := b.Add(t.Context(), []string{notes}); err != nil || !strings.Contains(sum, "added 1") {
		t.Fatalf("add: %q, %v", sum, err)
	}

	turn, err := b.Turn(t.Context(), tui.TurnInput{Text: "where is the spare key?", Session: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(turn.Sources) == 0 || filepath.Base(turn.Sources[0].Path) != "home.md" {
		t.Fatalf("sources %+v", turn.Sources)
	}
	var answer strings.Builder
	for c, err := range turn.Chunks {
		if err != nil {
			t.Fatal(err)
		}
		answer.WriteString(c.Text)
	}
	if answer.Len() == 0 {
		t.Fatal("no answer")
	}
	s := &tui.Session{Title: "spare key", Messages: []engine.Message{
		{Role: engine.RoleUser, Content: "where is the spare key?"}, {Role: engine.RoleAssistant, Content: answer.String()}}}
	if err := b.SaveSession(t.Context(), s); err != nil || s.ID == "" {
		t.Fatalf("save: %v (id %q)", err, s.ID)
	}
	ss, err := b.Sessions(t.Context())
	if err != nil || len(ss) != 1 || ss[0].Messages != 2 {
		t.Fatalf("sessions %+v, %v", ss, err)
	}
	if sv := b.Services(t.Context()); sv.Ledger != "off" || sv.Sync != "off" {
		t.Fatalf("services %+v: want the ledger off (no identity) and sync off", sv)
	}
	if ps, err := b.Plugins(t.Context()); err != nil || len(ps) != 0 {
		t.Fatalf("plugins %v, %v", ps, err)
	}
}

func TestAModelPullShowsInTheStatusBar(t *testing.T) {
	t.Parallel()
	reg := apptest.NewRegistry(t)
	model, err := os.ReadFile(testmodels.Path(t, testmodels.Stories260K))
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(t, "tinystories", "latest", model)
	reg.Slow(8, 80*time.Millisecond)
	a := app.New(apptest.Config(t, reg))
	defer a.Close()
	b := appbackend.New(a, []byte(apptest.Passphrase))
	var p tui.ProgressReporter = b
	var seen atomic.Value
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if s := p.Progress(); s != "" {
					seen.Store(s)
				}
			}
		}
	}()
	info, err := b.LoadModel(t.Context(), "tinystories")
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if info.Architecture != "llama" {
		t.Fatalf("loaded %+v", info)
	}
	s, _ := seen.Load().(string)
	if !strings.Contains(s, "tinystories") {
		t.Fatalf("the status bar never showed the pull (last %q)", s)
	}
	if p.Progress() != "" {
		t.Fatalf("progress after the load: %q", p.Progress())
	}
}

func TestNoModelSaysToPickOne(t *testing.T) {
	t.Parallel()
	reg := apptest.NewRegistry(t)
	a := app.New(apptest.Config(t, reg))
	defer a.Close()
	b := appbackend.New(a, nil)
	_, err := b.LoadModel(t.Context(), "")
	if !errors.Is(err, app.ErrNoModel) || !strings.Contains(hint.Of(err), "/model") || !strings.Contains(hint.Of(err), "nook pull") {
		t.Fatalf("no model: %v (hint %q)", err, hint.Of(err))
	}
	if reg.Hits.Load() != 0 {
		t.Fatal("the registry was asked")
	}
}
