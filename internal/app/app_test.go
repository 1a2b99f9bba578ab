package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/app"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/models"
	"github.com/nook-ai/nook/vault"
)

func TestUnlockDoesNotWaitForTheModelsToLoad(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t) // chat and embeddings: one model
	initVault(t, cfg)
	l := newLoads(cfg)
	l.gate = make(chan struct{}) // every load waits until the end
	a := app.New(cfg, app.WithLoader(l.load))
	defer a.Close()

	if err := a.UseModel(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	<-l.entered // the chat model is loading
	unlocked := make(chan error, 1)
	go func() { unlocked <- a.Unlock(t.Context(), []byte(testPass)) }()
	select {
	case err := <-unlocked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Unlock waited for the model load")
	}
	if st := a.Status(); !st.Loading || st.Vault != app.VaultUnlocked {
		t.Fatalf("status while the model loads: %+v", st)
	}
	// The vault works meanwhile: facts need no embedder.
	v, release, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Remember("the spare key is under the mat"); err != nil {
		t.Fatal(err)
	}
	release()

	close(l.gate)
	h, err := a.ChatModel(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if n := l.n.Load(); n != 1 {
		t.Fatalf("%d loads for chat and embeddings of one model, want 1", n)
	}
}

func TestTheEmbedderLoadsWhileScryptRuns(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.EmbedModel = stories(t)
	initVault(t, cfg)
	l := newLoads(cfg)
	l.gate = make(chan struct{})
	a := app.New(cfg, app.WithLoader(l.load))
	defer a.Close()
	started := time.Now()
	if err := a.Unlock(t.Context(), []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	// Unlock returned while the embedder's load is held at the gate: it
	// did not wait for it. The load was started with the scrypt work; on
	// a loaded machine its goroutine may be scheduled only after Unlock
	// returns, so it is awaited, not expected already there.
	select {
	case s := <-l.entered:
		if s.Path != cfg.EmbedModel {
			t.Fatalf("loading %s, want the embedding model", s.Path)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the embedding model never started to load after Unlock")
	}
	t.Logf("unlocked in %v with the embedder still loading", time.Since(started))
	// A search waits for the embedder, then uses it.
	dir := t.TempDir()
	writeNote(t, dir, "home.md", "# Home\n\nThe spare key is under the blue mat.\n")
	v, release, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	added := make(chan error, 1)
	go func() {
		_, err := v.Add(t.Context(), []string{dir}, vault.AddOptions{})
		added <- err
	}()
	select {
	case err := <-added:
		t.Fatalf("Add ran before the embedder loaded: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(l.gate)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	hits, err := v.Search(t.Context(), "spare key", vault.SearchOptions{K: 1, Mode: vault.Vector})
	if err != nil || len(hits) != 1 {
		t.Fatalf("vector search: %v, %d hits", err, len(hits))
	}
}

func TestNothingIsPulledThatNobodyNamed(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	cfg := newConfig(t, reg)
	initVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()

	err := a.UseModel(t.Context(), "")
	if !errors.Is(err, app.ErrNoModel) || !strings.Contains(hint.Of(err), "nook pull") || !strings.Contains(hint.Of(err), "nook models") {
		t.Fatalf("no model configured or installed: %v (hint %q)", err, hint.Of(err))
	}
	if _, err := a.ChatModel(t.Context()); !errors.Is(err, app.ErrNoModel) {
		t.Fatalf("ChatModel with no model: %v", err)
	}
	if _, err := a.Turn(t.Context(), app.TurnInput{Text: "hi"}); !errors.Is(err, app.ErrNoModel) {
		t.Fatalf("Turn with no model: %v", err)
	}
	// The vault opens and says, in one line, that search is lexical.
	if err := a.Unlock(t.Context(), []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	why := a.SearchMode()
	if why == nil || !strings.Contains(hint.Of(why), "nook pull") || strings.Contains(why.Error(), "\n") {
		t.Fatalf("search mode with no embedding model: %v (hint %q)", why, hint.Of(why))
	}
	if st := a.Status(); st.Search != "lexical" {
		t.Fatalf("status: search %q", st.Search)
	}
	// A configured or named model that is not installed is not pulled.
	cfg2 := *cfg
	cfg2.Model = "llama3.2"
	b := app.New(&cfg2)
	defer b.Close()
	for _, name := range []string{"", "qwen2.5:0.5b"} {
		err := b.UseModel(t.Context(), name)
		if !errors.Is(err, models.ErrNotFound) || !strings.Contains(hint.Of(err), "nook pull") {
			t.Fatalf("UseModel(%q) of a model not installed: %v (hint %q)", name, err, hint.Of(err))
		}
	}
	for _, c := range b.Checks() {
		if c.Name == "chat model" && (c.Problem || !strings.Contains(c.Value, "downloads it (2.0 GB)")) {
			t.Errorf("doctor does not say that a run would download the configured model: %+v", c)
		}
	}
	if n := reg.Hits.Load(); n != 0 {
		t.Fatalf("the registry saw %d requests", n)
	}
}

func TestAPullIsReportedWithNameSizeAndProgress(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	model, err := os.ReadFile(stories(t))
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(t, "tinystories", "latest", model)
	reg.Slow(8, 80*time.Millisecond)
	cfg := newConfig(t, reg)
	a := app.New(cfg)
	defer a.Close()

	var events []app.PullEvent
	var sawStatus bool
	err = a.UseModel(t.Context(), "tinystories", app.PullIfMissing(func(ev app.PullEvent) {
		events = append(events, ev)
		if st := a.Status(); st.Pull != nil && st.Pull.Model == "tinystories" {
			sawStatus = true
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no progress events")
	}
	var downloading, rated int
	for _, ev := range events {
		if ev.Model != "tinystories" {
			t.Fatalf("event for %q", ev.Model)
		}
		if ev.Status == "downloading" {
			downloading++
			if ev.Total < int64(len(model)) || ev.Done > ev.Total {
				t.Fatalf("event %+v: want total ≥ %d", ev, len(model))
			}
			if ev.Rate > 0 && ev.ETA >= 0 {
				rated++
			}
		}
	}
	last := events[len(events)-1]
	if last.Status != "done" || last.Done != last.Total || !strings.Contains(last.String(), "pulled tinystories") {
		t.Fatalf("last event %+v (%q)", last, last.String())
	}
	if downloading == 0 || rated == 0 {
		t.Fatalf("%d downloading events, %d with a rate: %+v", downloading, rated, events)
	}
	if !sawStatus {
		t.Error("Status did not show the pull in progress")
	}
	if st := a.Status(); st.Pull != nil {
		t.Errorf("Status still shows a pull: %+v", st.Pull)
	}
	h, err := a.ChatModel(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if info := h.Info(); info.Architecture != "llama" {
		t.Fatalf("pulled model: %+v", info)
	}
	// Named again, it is installed: no second pull.
	before := reg.Hits.Load()
	if err := a.UseModel(t.Context(), "tinystories", app.PullIfMissing(nil)); err != nil {
		t.Fatal(err)
	}
	if reg.Hits.Load() != before {
		t.Fatal("an installed model was pulled again")
	}
}

func TestTheVaultBeforeUnlockIsAnErrorWithAHint(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	a := app.New(cfg)
	defer a.Close()
	for name, f := range map[string]func() error{
		"vault":   func() error { _, _, err := a.Vault(); return err },
		"ledger":  func() error { _, _, err := a.Ledger(t.Context(), false); return err },
		"plugins": func() error { _, _, err := a.Plugins(t.Context()); return err },
	} {
		if err := f(); !errors.Is(err, vault.ErrNotInitialized) || !strings.Contains(hint.Of(err), "nook init") {
			t.Errorf("%s without a vault: %v (hint %q)", name, err, hint.Of(err))
		}
	}
	if a.VaultExists() {
		t.Fatal("VaultExists without a vault")
	}
	initVault(t, cfg)
	if !a.VaultExists() {
		t.Fatal("VaultExists after init is false")
	}
	if _, _, err := a.Vault(); !errors.Is(err, vault.ErrLocked) || hint.Of(err) == "" {
		t.Errorf("a locked vault: %v (hint %q)", err, hint.Of(err))
	}
	if _, _, err := a.Ledger(t.Context(), false); !errors.Is(err, vault.ErrLocked) || hint.Of(err) == "" {
		t.Errorf("the ledger over a locked vault: %v (hint %q)", err, hint.Of(err))
	}
	if err := a.Unlock(t.Context(), []byte("wrong"), app.WithoutEmbedder()); !errors.Is(err, vault.ErrWrongPassphrase) || hint.Of(err) == "" {
		t.Errorf("a wrong passphrase: %v (hint %q)", err, hint.Of(err))
	}
	if st := a.Status(); st.Vault != app.VaultLocked {
		t.Errorf("status after a wrong passphrase: vault %q", st.Vault)
	}
}

func TestAConfiguredEmbeddingModelThatIsMissingFailsUnlockUnlessOptional(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	cfg := newConfig(t, reg)
	cfg.EmbedModel = "nomic-embed-text"
	initVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()
	err := a.Unlock(t.Context(), []byte(testPass))
	if !errors.Is(err, models.ErrNotFound) || !strings.Contains(hint.Of(err), "nook pull nomic-embed-text") {
		t.Fatalf("unlock with a missing embedding model: %v (hint %q)", err, hint.Of(err))
	}
	if err := a.Unlock(t.Context(), []byte(testPass), app.EmbedderOptional()); err != nil {
		t.Fatal(err)
	}
	if why := a.SearchMode(); !errors.Is(why, models.ErrNotFound) {
		t.Fatalf("search mode: %v", why)
	}
	if reg.Hits.Load() != 0 {
		t.Fatal("the registry was asked")
	}
}

func TestUnlockingAgainClosesTheOldVaultAfterItsUsers(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	initVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()
	if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
		t.Fatal(err)
	}
	old, releaseOld, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(t.Context(), []byte(testPass), app.WithoutEmbedder()); err != nil {
		t.Fatal(err)
	}
	// In flight on the old handle: it still works.
	if _, err := old.Remember("written through the old handle"); err != nil {
		t.Fatalf("the old vault closed under its user: %v", err)
	}
	cur, releaseCur, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	defer releaseCur()
	if cur == old {
		t.Fatal("Unlock kept the old handle")
	}
	releaseOld()
	if _, err := old.Status(); !errors.Is(err, vault.ErrLocked) {
		t.Fatalf("the old vault after its last user: %v, want ErrLocked", err)
	}
	// Nothing written through the old handle is lost: the new one reads it
	// once it catches up with the log (at its next write).
	if _, err := cur.Remember("written through the new handle"); err != nil {
		t.Fatal(err)
	}
	fs, err := cur.Facts()
	if err != nil || len(fs) != 2 {
		t.Fatalf("the new vault sees %d facts (%v), want both", len(fs), err)
	}
}

func TestAskAnswersFromTheVaultWithTheChatModel(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t)
	initVault(t, cfg)
	a := app.New(cfg)
	defer a.Close()
	if err := a.UseModel(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(t.Context(), []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	v, release, err := a.Vault()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	note := writeNote(t, dir, "home.md", "# Home\n\nThe spare key is under the blue mat by the door.\n")
	if _, err := v.Add(t.Context(), []string{dir}, vault.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	release()
	temp := float32(0)
	var streamed strings.Builder
	ans, err := a.Ask(t.Context(), app.TurnInput{Text: "where is the spare key?", Chat: engineOptions(&temp)}, func(s string) { streamed.WriteString(s) })
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer.Answer == "" || ans.Answer.Answer != streamed.String() {
		t.Fatalf("answer %q, streamed %q", ans.Answer.Answer, streamed.String())
	}
	if len(ans.Sources) == 0 || ans.Sources[0].Path != note {
		t.Fatalf("sources %+v, want %s", ans.Sources, note)
	}
	// The turn gave its engine reference back: only the app's own is left.
	eventually(t, "the turn's references are released", func() bool {
		ls := a.Pool().Loaded()
		return len(ls) == 1 && ls[0].Refs == 2 // the chat model and the vault's embedder
	})
}

func TestATurnNeverIteratedGivesItsReferencesBackWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t)
	a := app.New(cfg)
	defer a.Close()
	ctx, cancel := context.WithCancel(t.Context())
	turn, err := a.Turn(ctx, app.TurnInput{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if ls := a.Pool().Loaded(); len(ls) != 1 || ls[0].Refs != 2 {
		t.Fatalf("during the turn: %+v", ls)
	}
	cancel()
	eventually(t, "the abandoned turn releases its engine", func() bool {
		ls := a.Pool().Loaded()
		return len(ls) == 1 && ls[0].Refs == 1
	})
	for _, err := range turn.Chunks {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("iterating a cancelled turn: %v", err)
		}
	}
}

func TestChecksReportTheSetUpWithoutLoadingAnything(t *testing.T) {
	t.Parallel()
	cfg := newConfig(t, newRegistry(t))
	cfg.Model = stories(t)
	l := newLoads(cfg)
	a := app.New(cfg, app.WithLoader(l.load))
	defer a.Close()
	got := map[string]app.Check{}
	for _, c := range a.Checks() {
		got[c.Name] = c
	}
	if c := got["chat model"]; c.Problem || !strings.Contains(c.Value, "llama, 292.8K params") {
		t.Errorf("chat model: %+v", c)
	}
	if c := got["embed model"]; c.Problem || !strings.Contains(c.Value, "the chat model") {
		t.Errorf("embed model: %+v", c)
	}
	if c := got["vault"]; !strings.Contains(c.Value, "nook init") {
		t.Errorf("vault: %+v", c)
	}
	if c := got["sync"]; c.Value == "" {
		t.Errorf("sync: %+v", c)
	}
	if n := l.n.Load(); n != 0 {
		t.Fatalf("Checks loaded %d models", n)
	}
	if _, err := os.Stat(filepath.Join(cfg.Home, "vault")); err == nil {
		t.Fatal("Checks created the vault folder")
	}
}

func TestANamedModelTheRegistryLacksIsNotFoundWithAHint(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	a := app.New(newConfig(t, reg))
	defer a.Close()
	err := a.UseModel(t.Context(), "no-such-model:7b", app.PullIfMissing(nil))
	if !errors.Is(err, models.ErrNotFound) || !strings.Contains(err.Error(), "not found") || !strings.Contains(hint.Of(err), "nook models") {
		t.Fatalf("a name nobody has: %v (hint %q)", err, hint.Of(err))
	}
	if reg.Hits.Load() == 0 {
		t.Fatal("the registry was not asked for a named model")
	}
}
