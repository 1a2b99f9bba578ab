package vault

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault/vaulttest"
)

func TestAddRefusesSpecialFilesAtOnce(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	fifo := filepath.Join(t.TempDir(), "pipe.md")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, kind string }{
		{"/dev/zero", "character device"},
		{fifo, "FIFO"},
	} {
		t.Run(c.path, func(t *testing.T) {
			start := time.Now()
			_, err := v.Add(context.Background(), []string{c.path}, AddOptions{})
			if !errors.Is(err, errSpecial) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("Add(%s) = %v, want a refusal naming a %s", c.path, err, c.kind)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("the refusal took %s", d)
			}
		})
	}
}

func TestAddWalksWithinBounds(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t)
	root := t.TempDir()
	notes := filepath.Join(root, "notes")
	write(t, filepath.Join(notes, "a.md"), "# A\n\nthe aardvark\n")
	write(t, filepath.Join(root, "elsewhere", "b.md"), "# B\n\nthe bandicoot\n")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A symlinked folder is followed; a link back up is a loop, walked once.
	must(os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(notes, "linked")))
	must(os.Symlink(notes, filepath.Join(notes, "linked", "back")))
	must(os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(notes, "broken.md")))
	must(syscall.Mkfifo(filepath.Join(notes, "pipe.md"), 0o600))
	must(os.Symlink("/dev/zero", filepath.Join(notes, "zero.md")))
	l, err := net.Listen("unix", filepath.Join(notes, "sock.md"))
	must(err)
	defer l.Close()
	// A binary whatever its name says; a file over the size limit.
	must(os.WriteFile(filepath.Join(notes, "photo.md"), append([]byte("\x89PNG\r\n\x1a\n\x00\x00"), make([]byte, 64)...), 0o644))
	write(t, filepath.Join(notes, "big.txt"), strings.Repeat("large ", 1000))
	done := make(chan struct{})
	var rep AddReport
	go func() {
		defer close(done)
		rep, err = v.Add(context.Background(), []string{notes}, AddOptions{MaxFileSize: 1000})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Add hung")
	}
	must(err)
	want := map[string]int{SkipSpecial: 3, SkipBinary: 1, SkipTooLarge: 1, SkipSymlinkLoop: 1, SkipBrokenSymlink: 1}
	for k, n := range want {
		if rep.SkippedBy[k] != n {
			t.Errorf("skipped as %q: %d, want %d (all: %v)", k, rep.SkippedBy[k], n, rep.SkippedBy)
		}
	}
	if rep.Added != 2 || rep.Skipped != 7 {
		t.Errorf("added %d, skipped %d; want 2, 7", rep.Added, rep.Skipped)
	}
	hs, _ := v.Search(context.Background(), "bandicoot", SearchOptions{K: 1, Mode: Lexical})
	if len(hs) != 1 || hs[0].Source != filepath.Join(notes, "linked", "b.md") {
		t.Errorf("the file behind the symlinked folder: %+v", hs)
	}
}

// stuckEmbedder never answers before its context ends.
type stuckEmbedder struct{ vaulttest.HashEmbedder }

func (stuckEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if strings.Contains(strings.Join(texts, " "), "stuck") {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return vaulttest.HashEmbedder{}.Embed(ctx, texts)
}

func TestAFileOverTheTimeLimitIsSkipped(t *testing.T) {
	t.Parallel()
	v, _ := newTestVault(t, WithEmbedder(stuckEmbedder{}))
	notes := t.TempDir()
	write(t, filepath.Join(notes, "slow.md"), "# Slow\n\nthis one is stuck\n")
	write(t, filepath.Join(notes, "fine.md"), "# Fine\n\nthis one is fine\n")
	start := time.Now()
	rep, err := v.Add(context.Background(), []string{notes}, AddOptions{FileTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 1 || rep.SkippedBy[SkipTimeout] != 1 || len(rep.Errors) != 1 || !errors.Is(rep.Errors[0], errTimeout) {
		t.Errorf("report %+v", rep)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Add took %s", d)
	}
}
