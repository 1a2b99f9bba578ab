package vault

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func setSnapDelay(v *Vault, d time.Duration) {
	v.mu.Lock()
	v.snapDelay = d
	v.mu.Unlock()
}

func snapshotHas(t *testing.T, v *Vault, canary string) bool {
	t.Helper()
	found := canaryFound(t, filepath.Join(v.Dir(), "cache"), canary, v.devID)
	return len(found) > 0
}

func searchFinds(t *testing.T, v *Vault, query, path string) bool {
	t.Helper()
	hits, err := v.Search(context.Background(), query, SearchOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if strings.HasSuffix(h.Source, path) {
			return true
		}
	}
	return false
}

// syncedBeforeSnapshot adds a note holding canary (and another) on a new
// vault, joins a second device whose snapshot waits an hour, syncs it and
// checks the sync did not write the snapshot. It returns both vaults and
// the notes' folder.
func syncedBeforeSnapshot(t *testing.T, name, text, canary string) (a, b *Vault, notes string) {
	t.Helper()
	a, _ = newTestVault(t)
	notes = t.TempDir()
	write(t, filepath.Join(notes, name), text)
	write(t, filepath.Join(notes, "other.md"), "# Other\n\nnothing to see\n")
	if _, err := a.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	b = joinDeviceNoSync(t, a)
	setSnapDelay(b, time.Hour)
	syncInto(t, b, a)
	if snapshotHas(t, b, canary) {
		t.Fatal("the snapshot was rewritten by the sync itself")
	}
	return a, b, notes
}

// A sync stores entries and objects without rewriting the whole index
// snapshot each time; the snapshot follows within the delay (or at Close),
// a device stopped before that loses nothing, and a document removed by
// another device leaves the snapshot at once.
func TestSyncedChangesWriteTheSnapshotSoonAndARemovalAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, notes := syncedBeforeSnapshot(t, "heron.md", "# Birds\n\nthe grey heron-canary waits by the pond\n", "heron-canary")
	if !searchFinds(t, b, "heron", "heron.md") {
		t.Fatal("the synced note is not searchable before the snapshot is written")
	}

	// Stopped before the snapshot is written (b is never closed here): a
	// new process replays the log and the objects.
	c := reopen(t, b.Dir())
	if !searchFinds(t, c, "heron", "heron.md") {
		t.Fatal("a device stopped before its snapshot was written lost the synced note")
	}
	c.mu.Lock()
	c.closed = true // as if it had exited without saving
	c.mu.Unlock()

	// The pending save runs when its delay is up (brought forward here).
	b.mu.Lock()
	if b.saveTimer == nil {
		b.mu.Unlock()
		t.Fatal("no save is pending after the sync")
	}
	b.saveTimer.Reset(10 * time.Millisecond)
	b.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for !snapshotHas(t, b, "heron-canary") {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot was not written after its delay")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A removal from another device: the document's text leaves the
	// snapshot with the import, not a delay later.
	if err := os.Remove(filepath.Join(notes, "heron.md")); err != nil {
		t.Fatal(err)
	}
	if rep, err := a.Add(ctx, []string{notes}, AddOptions{}); err != nil || rep.Removed != 1 {
		t.Fatalf("removing the note on a: %+v, %v", rep, err)
	}
	importLog(t, b, a)
	ids := append(b.ring().identities(), b.devID)
	if f := canaryFound(t, b.Dir(), "heron-canary", ids...); len(f) != 0 {
		t.Errorf("a removed note still decrypts from %v", f)
	}
}

// Close writes a snapshot that is behind and cancels the pending save.
func TestCloseWritesAPendingSnapshot(t *testing.T) {
	t.Parallel()
	_, b, _ := syncedBeforeSnapshot(t, "wren.md", "# Birds\n\na small wren-canary sings\n", "wren-canary")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !snapshotHas(t, b, "wren-canary") {
		t.Fatal("Close did not write the snapshot")
	}
	b.mu.Lock()
	pending := b.saveTimer != nil
	b.mu.Unlock()
	if pending {
		t.Error("a save is still pending after Close")
	}
}
