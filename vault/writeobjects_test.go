package vault

import (
	"context"
	"errors"
	"testing"
	"unsafe"
)

// A first sync brings thousands of documents in batches: the index makes
// room for all of them at the first batch (at the mean size so far), so
// its vector matrix is allocated once or twice instead of doubling batch
// after batch, and every document is still indexed.
func TestAFirstSyncGrowsTheIndexMatrixOnceOrTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := newTestVault(t)
	if _, err := a.Add(ctx, []string{copyCorpus(t)}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	b := joinDeviceNoSync(t, a)
	importLog(t, b, a)
	var objs []RawObject
	for _, m := range b.MissingObjects() {
		data, err := a.ReadObject(m.Name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, RawObject{Name: m.Name, Data: data})
	}
	if len(objs) < 6 {
		t.Fatalf("the corpus gives %d objects; the test needs several batches", len(objs))
	}
	a.mu.Lock()
	want := a.idx.alive
	a.mu.Unlock()
	var last unsafe.Pointer
	room, grown := 0, 0
	for i := 0; i < len(objs); i += 2 {
		if _, bad, err := b.WriteObjects(objs[i:min(i+2, len(objs))]); err != nil || len(bad) > 0 {
			t.Fatalf("batch %d: %v %v", i/2, bad, err)
		}
		b.mu.Lock()
		p, units, dim := unsafe.Pointer(unsafe.SliceData(b.idx.vecs)), len(b.idx.chunks), b.idx.dim
		if i == 0 {
			room = cap(b.idx.vecs) / max(dim, 1)
		}
		b.mu.Unlock()
		if dim == 0 {
			t.Fatal("no vectors were indexed: the test vault has no embedder")
		}
		if i == 0 {
			// At the mean size of the first batch: within a factor of 2
			// of what the whole sync brings.
			if room < want/2 {
				t.Errorf("after the first batch the index has room for %d units; the sync brings %d", room, want)
			}
		} else if p != last {
			grown++
			t.Logf("batch %d grew the vector matrix (%d units held)", i/2, units)
		}
		last = p
	}
	if grown > 1 {
		t.Errorf("the vector matrix was reallocated %d times after the first batch (room for %d units was made, %d arrived)", grown, room, want)
	}
	if err := b.Arrived(); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	got := b.idx.alive
	b.mu.Unlock()
	if got != want {
		t.Errorf("B indexed %d units, A holds %d", got, want)
	}
}
