package vault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nook-ai/nook/vault/internal/format"
)

// packedPair is a device A with notes and memories, and a device B that
// received all of it in one batch, stored as a pack.
func packedPair(t *testing.T) (a, b *Vault, objs []RawObject, notes string) {
	t.Helper()
	ctx := context.Background()
	a, _ = newTestVault(t)
	notes = copyCorpus(t)
	write(t, filepath.Join(notes, "secret.md"), "# Plans\n\nthe surprise party code word is zanzibar-canary\n")
	if _, err := a.Add(ctx, []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Remember("my locker combination is flamingo-canary"); err != nil {
		t.Fatal(err)
	}
	b = joinDeviceNoSync(t, a)
	b.packMin = 2
	importLog(t, b, a)
	for _, m := range b.MissingObjects() {
		data, err := a.ReadObject(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, RawObject{Name: m.Name, Data: data})
	}
	if stored, bad, err := b.WriteObjects(objs); err != nil || len(bad) > 0 || stored != len(objs) {
		t.Fatalf("WriteObjects stored %d of %d: %v %v", stored, len(objs), bad, err)
	}
	if err := b.Arrived(); err != nil {
		t.Fatal(err)
	}
	return a, b, objs, notes
}

// storedFiles lists B's loose object files and its packs.
func storedFiles(t *testing.T, v *Vault) (loose, packs []string) {
	t.Helper()
	objs, bad := v.listObjects()
	if len(bad) > 0 {
		t.Fatalf("damaged packs: %v", bad)
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if o.pack == "" {
			loose = append(loose, o.name)
		} else if !seen[o.pack] {
			seen[o.pack] = true
			packs = append(packs, o.pack)
		}
	}
	return loose, packs
}

func TestAReceivedBatchIsStoredAsOnePackAndReadsBackAsFilesDo(t *testing.T) {
	t.Parallel()
	a, b, objs, _ := packedPair(t)
	loose, packs := storedFiles(t, b)
	if len(loose) != 0 || len(packs) != 1 {
		t.Fatalf("B holds %d object files and %d packs; want the batch of %d in one pack", len(loose), len(packs), len(objs))
	}
	for _, o := range objs {
		got, err := b.ReadObject(o.Name)
		if err != nil || !bytes.Equal(got, o.Data) {
			t.Fatalf("object %s read back from the pack: %v", o.Name, err)
		}
	}
	da, _ := a.StateDigest()
	db, _ := b.StateDigest()
	if da != db {
		t.Fatal("B's state digest differs from A's")
	}
	st, err := b.Status()
	if err != nil || st.Objects != len(objs) || st.Missing != 0 {
		t.Fatalf("status: %d objects, %d missing, %v", st.Objects, st.Missing, err)
	}
	if rep, err := b.Check(); err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("check: %+v %v", rep.Damaged, err)
	}
	hits, err := b.Search(context.Background(), "surprise party code word", SearchOptions{K: 3})
	if err != nil || len(hits) == 0 || !strings.Contains(hits[0].Source, "secret.md") {
		t.Fatalf("search on B: %+v %v", hits, err)
	}
	// A handle opened afterwards (another process) finds the pack.
	again := reopen(t, b.Dir())
	if dg, _ := again.StateDigest(); dg != da {
		t.Fatal("a new handle on B reads another state")
	}
	// Sent again (a cut transfer resumed), nothing is stored twice.
	if stored, bad, err := b.WriteObjects(objs); err != nil || len(bad) > 0 || stored != 0 {
		t.Fatalf("the batch again stored %d: %v %v", stored, bad, err)
	}
	if loose, packs := storedFiles(t, b); len(loose) != 0 || len(packs) != 1 {
		t.Fatalf("after the batch came again: %d files, %d packs", len(loose), len(packs))
	}
}

func TestErasingAPackedObjectRewritesItsPackWithoutIt(t *testing.T) {
	t.Parallel()
	a, b, _, notes := packedPair(t)
	other := reopen(t, b.Dir()) // another process reading the same vault
	_, before := storedFiles(t, b)
	ids := append(b.ring().identities(), b.devID)
	if len(canaryFound(t, b.Dir(), "flamingo-canary", ids...)) == 0 || len(canaryFound(t, b.Dir(), "zanzibar-canary", ids...)) == 0 {
		t.Fatal("the canaries are not in B's pack to begin with")
	}
	// Forgotten on B itself.
	_, erased, err := b.Forget("flamingo")
	if err != nil || erased.Objects != 1 || erased.Bytes == 0 {
		t.Fatalf("Forget erased %+v, %v", erased, err)
	}
	if f := canaryFound(t, b.Dir(), "flamingo-canary", ids...); len(f) != 0 {
		t.Fatalf("the forgotten memory still decrypts from %v", f)
	}
	_, after := storedFiles(t, b)
	if len(after) != 1 || after[0] == before[0] {
		t.Fatalf("packs before %v, after %v: want the pack replaced by one without the object", before, after)
	}
	// Removed on A: B erases it when the entry arrives.
	if err := os.Remove(filepath.Join(notes, "secret.md")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(context.Background(), []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	importLog(t, b, a)
	if f := canaryFound(t, b.Dir(), "zanzibar-canary", ids...); len(f) != 0 {
		t.Fatalf("the note removed on A still decrypts on B from %v", f)
	}
	if rep, err := b.Check(); err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("check after the rewrites: %+v %v", rep.Damaged, err)
	}
	// The other handle follows the rewrites: what is left reads back.
	if err := other.Refresh(); err != nil { // as the app does every half second
		t.Fatal(err)
	}
	db, _ := b.StateDigest()
	if dg, _ := other.StateDigest(); dg != db {
		t.Fatal("another handle on B reads another state after the pack was rewritten")
	}
}

// damagePack flips a byte in the middle of the named object in B's pack.
func damagePack(t *testing.T, v *Vault, name string) string {
	t.Helper()
	_, packs := storedFiles(t, v)
	path := filepath.Join(v.packs.dir, packs[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := format.ParsePackIndex(data, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name == name {
			data[e.Off+e.Size/2] ^= 0x40
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
	}
	t.Fatalf("%s is not in %s", name, path)
	return ""
}

func TestADamagedObjectInAPackIsSetAsideAndFetchedAgain(t *testing.T) {
	t.Parallel()
	a, b, objs, _ := packedPair(t)
	victim := objs[len(objs)/2]
	damagePack(t, b, victim.Name)
	rep, err := b.Check()
	if err != nil || len(rep.Damaged) != 1 || rep.Damaged[0].Kind != "object" || !strings.HasSuffix(rep.Damaged[0].Path, "#"+victim.Name) {
		t.Fatalf("check: %+v %v", rep.Damaged, err)
	}
	if _, err := b.ReadObject(victim.Name); err != nil {
		t.Fatalf("ReadObject serves stored bytes as they are (the reader checks them): %v", err)
	}
	rr, err := b.Repair()
	if err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(rr.Quarantine, "objects", victim.Name[:2], victim.Name[2:])
	if saved, err := os.ReadFile(q); err != nil || bytes.Equal(saved, victim.Data) || len(saved) != len(victim.Data) {
		t.Fatalf("the damaged bytes were not saved to %s: %v", q, err)
	}
	if b.objectExists(victim.Name) {
		t.Fatal("the damaged object is still in a pack after repair")
	}
	missing := b.MissingObjects()
	if len(missing) != 1 || missing[0].Name != victim.Name {
		t.Fatalf("after repair B misses %+v; want the damaged object", missing)
	}
	// Sync brings it again.
	if _, bad, err := b.WriteObjects([]RawObject{victim}); err != nil || len(bad) > 0 {
		t.Fatal(bad, err)
	}
	if rep, err := b.Check(); err != nil || len(rep.Damaged) > 0 {
		t.Fatalf("check after the object came again: %+v %v", rep.Damaged, err)
	}
	da, _ := a.StateDigest()
	if db, _ := b.StateDigest(); da != db {
		t.Fatal("B does not match A after repair and fetch")
	}
}

func TestAPackWhoseIndexIsDamagedIsReportedAndQuarantined(t *testing.T) {
	t.Parallel()
	_, b, objs, _ := packedPair(t)
	_, packs := storedFiles(t, b)
	path := filepath.Join(b.packs.dir, packs[0])
	if err := os.Truncate(path, 40); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Check()
	if err != nil || len(rep.Damaged) == 0 || rep.Damaged[0].Kind != "pack" {
		t.Fatalf("check: %+v %v", rep.Damaged, err)
	}
	if _, err := b.Repair(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the damaged pack is still in place: %v", err)
	}
	if got := len(b.MissingObjects()); got != len(objs) {
		t.Fatalf("B misses %d objects; want the %d of the damaged pack", got, len(objs))
	}
}
