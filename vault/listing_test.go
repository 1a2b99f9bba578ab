package vault

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestListSourcesNamesEveryDocumentAndFiltersByTag(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.md"), []byte("# A\n\nalpha one\nalpha two\n"), 0o600)
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "b.md"), []byte("# B\n\nbeta\n"), 0o600)
	ctx := context.Background()
	if _, err := v.Add(ctx, []string{dir}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(ctx, []string{work}, AddOptions{Tags: []string{"work"}}); err != nil {
		t.Fatal(err)
	}
	all, err := v.ListSources("")
	if err != nil {
		t.Fatal(err)
	}
	want := []SourceInfo{
		{Source: filepath.Join(dir, "a.md"), Chunks: 1, Lines: 4},
		{Source: filepath.Join(work, "b.md"), Tags: []string{"work"}, Chunks: 1, Lines: 3},
	}
	if filepath.Join(dir, "a.md") > filepath.Join(work, "b.md") {
		want[0], want[1] = want[1], want[0]
	}
	if d := cmp.Diff(all, want); d != "" {
		t.Fatalf("ListSources(\"\") (-got +want):\n%s", d)
	}
	tagged, _ := v.ListSources("work")
	if len(tagged) != 1 || tagged[0].Source != filepath.Join(work, "b.md") {
		t.Fatalf("ListSources(work) = %+v, want b.md only", tagged)
	}
	if none, _ := v.ListSources("nope"); len(none) != 0 {
		t.Fatalf("ListSources(nope) = %+v, want none", none)
	}
}

func TestRefreshSeesAnotherHandlesSecretsAndSecretNamesListsThem(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	other := reopen(t, dir)
	for _, n := range []string{"app/b", "app/a", "identity"} {
		if err := other.PutSecret(n, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Refresh(); err != nil {
		t.Fatal(err)
	}
	names, err := v.SecretNames("app/")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(names, []string{"app/a", "app/b"}); d != "" {
		t.Fatalf("SecretNames(app/) (-got +want):\n%s", d)
	}
	v.Close()
	if err := v.Refresh(); err == nil {
		t.Fatal("Refresh on a closed vault: no error")
	}
}
