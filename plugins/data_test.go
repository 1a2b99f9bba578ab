package plugins_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nook-ai/nook/plugins"
	"github.com/nook-ai/nook/vault"
)

// icsManifest is the ics example over the sample calendar, as shipped:
// tool, vault:write:calendar, vault:read:notes.
func icsManifest(t *testing.T) *plugins.Manifest {
	cal, err := filepath.Abs(filepath.Join("examples", "ics", "calendars"))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := plugins.ParseManifest(mustRead(t, filepath.Join("examples", "ics", plugins.ManifestFile)))
	if err != nil {
		t.Fatal(err)
	}
	m := *shipped
	m.Run.Command = bin(t, "ics")
	m.Run.Args = []string{"--dir", cal}
	m.Sandbox.Read = []string{cal} // outside its folder: it must say so
	return signed(t, m)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spyVault wraps a real vault and records what the host asked of it.
type spyVault struct {
	v        *vault.Vault
	mu       sync.Mutex
	searched []string // tags
	added    []string // sources
}

func (s *spyVault) Search(ctx context.Context, q string, o vault.SearchOptions) ([]vault.Hit, error) {
	s.mu.Lock()
	s.searched = append(s.searched, o.Tag)
	s.mu.Unlock()
	return s.v.Search(ctx, q, o)
}

func (s *spyVault) AddDocument(ctx context.Context, source string, text []byte, tags []string) (bool, error) {
	s.mu.Lock()
	s.added = append(s.added, source)
	s.mu.Unlock()
	return s.v.AddDocument(ctx, source, text, tags)
}

var _ plugins.Vault = (*vault.Vault)(nil)

func newVault(t *testing.T) *spyVault {
	t.Helper()
	dir := t.TempDir()
	v, err := vault.Init(filepath.Join(dir, "v"), []byte("pw"), vault.WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	notes := filepath.Join(dir, "notes")
	private := filepath.Join(dir, "private")
	os.MkdirAll(notes, 0o700)
	os.MkdirAll(private, 0o700)
	os.WriteFile(filepath.Join(notes, "plans.md"), []byte("# Plans\n\n2025-05-01 dinner with Ana at the harbour\n"), 0o600)
	os.WriteFile(filepath.Join(private, "diary.md"), []byte("# Diary\n\n2025-05-02 secret appointment with the lawyer\n"), 0o600)
	if _, err := v.Add(t.Context(), []string{notes}, vault.AddOptions{Tags: []string{"notes"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(t.Context(), []string{private}, vault.AddOptions{Tags: []string{"private"}}); err != nil {
		t.Fatal(err)
	}
	return &spyVault{v: v}
}

func TestDataPlugIngestsItsResourcesUnderItsTag(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := icsManifest(t)
	sv := newVault(t)
	h, rec := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithVault(sv))

	_, err := h.Ingest(t.Context(), "ics")
	if !errors.Is(err, plugins.ErrRefused) || !strings.Contains(plugins.Explain(err), "nook plug grant ics vault:write:calendar") {
		t.Fatalf("without a grant: %v", plugins.Explain(err))
	}
	if len(sv.added) != 0 || rec.count("start") != 0 {
		t.Fatalf("refused, yet %d documents were added and %d starts", len(sv.added), rec.count("start"))
	}

	ch.grant(t, m, "vault:write:calendar", 30*24*time.Hour)
	rep, err := h.Ingest(t.Context(), "ics")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resources != 2 || rep.Added != 2 || len(rep.Skipped) != 0 {
		t.Fatalf("report %+v", rep)
	}
	hits, err := sv.v.Search(t.Context(), "dentist insurance card", vault.SearchOptions{Tag: "calendar", K: 3})
	if err != nil || len(hits) == 0 {
		t.Fatalf("search: %v %v", hits, err)
	}
	if !strings.HasPrefix(hits[0].Source, "plug://ics/") || !strings.Contains(hits[0].Text, "Bring the insurance card") {
		t.Fatalf("top hit %+v", hits[0])
	}
	// Ingesting again stores nothing new.
	if rep, err := h.Ingest(t.Context(), "ics"); err != nil || rep.Unchanged != 2 || rep.Added != 0 {
		t.Fatalf("second ingest: %+v %v", rep, err)
	}
}

func TestDataPlugReadsOnlyTheTagsItWasGranted(t *testing.T) {
	t.Parallel()
	ch := newChain(t)
	m := icsManifest(t)
	sv := newVault(t)
	h, _ := newHost(t, ch, []*plugins.Manifest{m}, plugins.WithVault(sv))
	ch.grant(t, m, "vault:read:notes", 30*24*time.Hour)

	got, err := h.Export(t.Context(), "ics", "notes", "dinner appointment", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "SUMMARY:dinner with Ana at the harbour") {
		t.Fatalf("the granted tag did not arrive:\n%s", got)
	}
	if strings.Contains(got, "lawyer") {
		t.Fatalf("a document tagged private reached the plugin:\n%s", got)
	}

	for _, tag := range []string{"private", "calendar"} {
		sv.searched = nil
		got, err := h.Export(t.Context(), "ics", tag, "appointment", 10)
		if !errors.Is(err, plugins.ErrRefused) || got != "" {
			t.Fatalf("export of %q: %q %v, want a refusal and nothing", tag, got, err)
		}
		if len(sv.searched) != 0 {
			t.Fatalf("the vault was searched for %v before the refusal", sv.searched)
		}
	}
	// Revoked: the granted tag is closed too.
	ch.revoke(t, m, "vault:read:notes")
	if _, err := h.Export(t.Context(), "ics", "notes", "dinner", 10); !errors.Is(err, plugins.ErrRefused) {
		t.Fatalf("after revoke: %v", err)
	}
}
