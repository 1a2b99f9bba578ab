package vault

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/nook-ai/nook/vault/internal/format"
)

// joinDevice makes a second device of a's vault in a new folder: its keys,
// the wraps a writes for it, then a first sync from a.
func joinDevice(t *testing.T, a *Vault) *Vault {
	t.Helper()
	b := joinDeviceNoSync(t, a)
	if err := b.PutSecret("x", nil); !errors.Is(err, ErrLocked) {
		t.Errorf("a new device wrote before its first sync: %v", err)
	}
	syncInto(t, b, a)
	return b
}

// joinDeviceNoSync is joinDevice without the first sync.
func joinDeviceNoSync(t *testing.T, a *Vault) *Vault {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	dev, rec, err := NewDevice(dir, testPass, a.ID(), WithScryptWorkFactor(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WrapFor(dev, rec); err != nil {
		t.Fatal(err)
	}
	ws, err := a.Wraps()
	if err != nil {
		t.Fatal(err)
	}
	if err := AddWraps(dir, ws); err != nil {
		t.Fatal(err)
	}
	return reopen(t, dir)
}

// syncInto copies what src holds and dst lacks: wraps, entries, objects.
func syncInto(t *testing.T, dst, src *Vault) {
	t.Helper()
	importLog(t, dst, src)
	for _, m := range dst.MissingObjects() {
		data, err := src.ReadObject(m.Name)
		if errors.Is(err, ErrNotFound) {
			continue // src does not hold it either
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.WriteObject(m.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.Arrived(); err != nil {
		t.Fatal(err)
	}
}

// importLog copies the wraps and log entries src holds and dst lacks (the
// first half of syncInto: dst then misses the objects they point at).
func importLog(t *testing.T, dst, src *Vault) {
	t.Helper()
	ws, err := src.Wraps()
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.ImportWraps(ws); err != nil {
		t.Fatal(err)
	}
	have := dst.Heads()
	var es []RawEntry
	for dev := range src.Heads() {
		got, err := src.Entries(dev, have[dev].Seq+1, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, got...)
	}
	if _, err := dst.Import(es); err != nil {
		t.Fatal(err)
	}
}

func stateBytes(t *testing.T, v *Vault) []byte {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	b, err := v.st.encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTwoDevicesConverge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := newTestVault(t)
	if _, err := a.Add(ctx, []string{copyCorpus(t)}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Remember("the spare key is under the blue pot"); err != nil {
		t.Fatal(err)
	}
	b := joinDevice(t, a)
	if len(b.MissingObjects()) != 0 {
		t.Fatalf("missing after sync: %v", b.MissingObjects())
	}
	hits, err := b.Search(ctx, "inner tube patch glue", SearchOptions{K: 1})
	if err != nil || len(hits) == 0 || filepath.Base(hits[0].Source) != "bike-tire.md" {
		t.Fatalf("B searches A's notes: %+v, %v", hits, err)
	}
	if _, err := b.Remember("B's own fact"); err != nil {
		t.Fatal(err)
	}
	syncInto(t, a, b)
	syncInto(t, b, a)
	if !bytes.Equal(stateBytes(t, a), stateBytes(t, b)) {
		t.Fatal("the two devices differ after syncing both ways")
	}
	for _, v := range []*Vault{a, b} {
		if fs, _ := v.Facts(); len(fs) != 2 {
			t.Errorf("%s has %d facts", v.Device(), len(fs))
		}
	}
	// A second round sends nothing.
	have := a.Heads()
	for dev, h := range b.Heads() {
		if have[dev] != h {
			t.Errorf("heads differ for %s", dev)
		}
	}
}

func TestConcurrentEditsBecomeAConflictUntilResolved(t *testing.T) {
	t.Parallel()
	a, _ := newTestVault(t)
	s := &Session{Title: "plans"}
	if err := a.SaveSession(s); err != nil {
		t.Fatal(err)
	}
	b := joinDevice(t, a)
	// Both devices change the session while apart.
	sa := *s
	sa.Messages = []Message{{Role: "user", Content: "on A"}}
	sb := *s
	sb.Messages = []Message{{Role: "user", Content: "on B"}}
	if err := a.SaveSession(&sa); err != nil {
		t.Fatal(err)
	}
	if err := b.SaveSession(&sb); err != nil {
		t.Fatal(err)
	}
	syncInto(t, a, b)
	syncInto(t, b, a)
	if !bytes.Equal(stateBytes(t, a), stateBytes(t, b)) {
		t.Fatal("states differ")
	}
	for _, v := range []*Vault{a, b} {
		cs := v.Conflicts()
		if len(cs) != 1 || cs[0].NS != nsSession || cs[0].Key != s.ID || len(cs[0].Versions) != 2 || !cs[0].Versions[0].Winner {
			t.Fatalf("conflicts on %s: %+v", v.Device(), cs)
		}
	}
	// Keep the loser.
	cs := a.Conflicts()
	loser := cs[0].Versions[1]
	erased, err := a.ResolveConflict(nsSession, s.ID, loser.ID)
	if err != nil {
		t.Fatal(err)
	}
	if erased.Objects != 1 {
		t.Errorf("resolving erased %+v, want the dropped version", erased)
	}
	syncInto(t, b, a)
	for _, v := range []*Vault{a, b} {
		if cs := v.Conflicts(); len(cs) != 0 {
			t.Errorf("%s still lists %+v", v.Device(), cs)
		}
		got, err := v.LoadSession(s.ID)
		want := "on A"
		if loser.Device == b.Device() {
			want = "on B"
		}
		if err != nil || len(got.Messages) != 1 || got.Messages[0].Content != want {
			t.Errorf("%s: session %+v, %v, want the kept version %q", v.Device(), got, err, want)
		}
	}
}

func TestImportRefusesBadEntries(t *testing.T) {
	t.Parallel()
	a, _ := newTestVault(t)
	for _, s := range []string{"one", "two"} {
		if err := a.PutSecret(s, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	b := joinDevice(t, a)
	if err := a.PutSecret("three", []byte("3")); err != nil {
		t.Fatal(err)
	}
	next, _ := a.Entries(a.Device(), a.Heads()[a.Device()].Seq, 1<<20)
	e := next[0]
	// A forged entry at the same sequence number, signed with A's key.
	forged := func() []byte {
		a.mu.Lock()
		defer a.mu.Unlock()
		h := a.heads[a.device]
		prev, _ := a.localEntryHash(a.device, h.Seq-1)
		body := &format.Body{Format: 2, Vault: a.id, Device: a.device, Seq: h.Seq, Prev: prev, Epoch: 1,
			HLC: format.HLC{Wall: h.HLC.Wall, N: h.HLC.N + 7}, Ops: []format.Op{{Op: "del", NS: nsSecret, Key: "one"}}}
		plain, err := format.EncodeEntry(body, a.devKey)
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := format.Seal(plain, a.ring().current().id.Recipient())
		return ct
	}()
	other, _ := newTestVault(t) // another vault altogether
	otherEntry, _ := other.Entries(other.Device(), 1, 1<<20)
	flipped := bytes.Clone(e.Data)
	flipped[len(flipped)-3] ^= 1
	before := stateBytes(t, b)
	cases := []struct {
		name string
		in   []RawEntry
		want error
	}{
		{"a damaged entry", []RawEntry{{a.Device(), e.Seq, flipped}}, ErrCorrupt},
		{"an entry after a gap", []RawEntry{{a.Device(), e.Seq + 1, e.Data}}, ErrGap},
		{"an entry in another device's place", []RawEntry{{b.Device(), b.Heads()[b.Device()].Seq + 1, e.Data}}, ErrCorrupt},
		{"an entry of another vault", []RawEntry{{other.Device(), 1, otherEntry[0].Data}}, ErrCorrupt},
		{"an entry under a false sequence number", []RawEntry{{a.Device(), e.Seq, next[0].Data}, {a.Device(), e.Seq + 1, next[0].Data}}, ErrCorrupt},
	}
	for _, c := range cases {
		rep, err := b.Import(c.in)
		var re *RefusedError
		if !errors.Is(err, c.want) || !errors.As(err, &re) || !strings.Contains(err.Error(), re.Device) {
			t.Errorf("%s: %v, want a refusal wrapping %v that names the device", c.name, err, c.want)
		}
		if c.name != "an entry under a false sequence number" && rep.Applied != 0 {
			t.Errorf("%s: applied %d", c.name, rep.Applied)
		}
		if c.name == "an entry under a false sequence number" {
			if rep.Applied != 1 {
				t.Errorf("%s: applied %d, want the good one", c.name, rep.Applied)
			}
			before = stateBytes(t, b)
		} else if !bytes.Equal(stateBytes(t, b), before) {
			t.Errorf("%s changed the state", c.name)
		}
	}
	// Now B holds A's entry 4: a different entry there is a fork.
	rep, err := b.Import([]RawEntry{{a.Device(), e.Seq, forged}})
	if !errors.Is(err, ErrFork) || rep.Applied != 0 || !strings.Contains(err.Error(), "compromised") {
		t.Errorf("fork: %+v, %v", rep, err)
	}
	// The same entry again is a duplicate, not an error.
	if rep, err := b.Import([]RawEntry{e}); err != nil || rep.Duplicates != 1 {
		t.Errorf("replayed entry: %+v, %v", rep, err)
	}
	if got, _ := b.Secret("three"); string(got) != "" && !bytes.Equal(got, []byte("3")) {
		t.Errorf("secret three = %q", got)
	}
	// Both in one batch (entries are opened on several goroutines before
	// they are applied in order): the first is applied and stored, the
	// second is a fork, whichever of the two comes first.
	for _, order := range [][]RawEntry{{e, {a.Device(), e.Seq, forged}}, {{a.Device(), e.Seq, forged}, e}} {
		c := joinDeviceNoSync(t, a)
		var upTo []RawEntry
		for dev, h := range a.Heads() {
			last := h.Seq
			if dev == a.Device() {
				last = e.Seq - 1
			}
			got, err := a.Entries(dev, 1, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if g.Seq <= last {
					upTo = append(upTo, g)
				}
			}
		}
		if _, err := c.Import(upTo); err != nil {
			t.Fatal(err)
		}
		rep, err := c.Import(order)
		if !errors.Is(err, ErrFork) || rep.Applied != 1 {
			t.Errorf("two entries at one sequence number in one batch: %+v, %v", rep, err)
		}
		stored, err := c.Entries(a.Device(), e.Seq, 1<<20)
		if err != nil || len(stored) != 1 || !bytes.Equal(stored[0].Data, order[0].Data) {
			t.Fatalf("the entry stored is not the one applied first: %v", err)
		}
		c.mu.Lock()
		_, hasOne := c.st.get(nsSecret, "one")
		c.mu.Unlock()
		if forgedFirst := bytes.Equal(order[0].Data, forged); forgedFirst == hasOne {
			t.Errorf("forged entry (which deletes secret one) applied first: %v; secret one in the state: %v", forgedFirst, hasOne)
		}
	}
}

func TestWriteObjectRefusesWhatDoesNotMatchItsName(t *testing.T) {
	t.Parallel()
	a, _ := newTestVault(t)
	b := joinDevice(t, a)
	if err := a.PutSecret("s", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	have := b.Heads()
	es, _ := a.Entries(a.Device(), have[a.Device()].Seq+1, 1<<20)
	if _, err := b.Import(es); err != nil {
		t.Fatal(err)
	}
	miss := b.MissingObjects()
	if len(miss) != 1 || miss[0].NS != nsSecret {
		t.Fatalf("missing %+v", miss)
	}
	good, _ := a.ReadObject(miss[0].Name)
	// Another object of the vault under this name, and a damaged copy.
	var otherName string
	for ref := range a.st.refs {
		if ref != miss[0].Name {
			otherName = ref
		}
	}
	wrong, _ := a.ReadObject(otherName)
	damaged := bytes.Clone(good)
	damaged[len(damaged)-1] ^= 1
	for name, data := range map[string][]byte{"another object": wrong, "a damaged object": damaged} {
		if err := b.WriteObject(miss[0].Name, data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
		if b.HasObject(miss[0].Name) {
			t.Fatalf("%s was stored", name)
		}
	}
	if err := b.WriteObject(strings.Repeat("ab", 32), good); !errors.Is(err, ErrNotFound) {
		t.Errorf("an object nothing points at: %v", err)
	}
	if err := b.WriteObject(miss[0].Name, good); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Secret("s"); err != nil || string(got) != "payload" {
		t.Errorf("Secret = %q, %v", got, err)
	}
}

func TestARemovedDeviceCannotReadWhatIsWrittenAfterRotation(t *testing.T) {
	t.Parallel()
	a, _ := newTestVault(t)
	if err := a.PutSecret("before", []byte("old")); err != nil {
		t.Fatal(err)
	}
	b := joinDevice(t, a)
	c := joinDevice(t, a) // the device that will be removed
	epoch, err := a.RotateKey(map[string]string{b.Device(): b.DeviceRecipient()})
	if err != nil || epoch != 2 || a.Epoch() != 2 {
		t.Fatalf("RotateKey = %d, %v (epoch %d)", epoch, err, a.Epoch())
	}
	if err := a.PutSecret("after", []byte("new")); err != nil {
		t.Fatal(err)
	}
	syncInto(t, b, a)
	if got, err := b.Secret("after"); err != nil || string(got) != "new" || b.Epoch() != 2 {
		t.Errorf("a remaining device: Secret(after) = %q, %v, epoch %d", got, err, b.Epoch())
	}
	// The removed device gets the bytes (as if it had copied the folder)
	// but cannot open them.
	a.mu.Lock()
	ver, _ := a.st.get(nsSecret, "after")
	a.mu.Unlock()
	data, _ := a.ReadObject(ver.Ref)
	if _, err := c.openObject(ver.Ref, kindSecret, data); err == nil {
		t.Fatal("the removed device decrypted an object written after the rotation")
	}
	es, _ := a.Entries(a.Device(), 1, 1<<30)
	if _, err := c.Import(es); !errors.Is(err, ErrCorrupt) {
		t.Errorf("the removed device imported entries sealed to the new key: %v", err)
	}
	if got, err := c.Secret("before"); err != nil || string(got) != "old" {
		t.Errorf("what it held before stays readable to it: %q, %v", got, err)
	}
}

// canaryFound reports the files under dir that any of ids decrypts to
// something containing canary (objects, log entries, the snapshot).
func canaryFound(t *testing.T, dir, canary string, ids ...age.Identity) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(canary)) {
			found = append(found, p+" (plaintext!)")
		}
		if plain, err := format.Open(data, 1<<30, ids...); err == nil && bytes.Contains(plain, []byte(canary)) {
			found = append(found, p)
		}
		// A pack: each object in it.
		if ents, err := format.ParsePackIndex(data, int64(len(data))); err == nil {
			for _, e := range ents {
				if plain, err := format.Open(data[e.Off:e.Off+e.Size], 1<<30, ids...); err == nil && bytes.Contains(plain, []byte(canary)) {
					found = append(found, p+"#"+e.Name)
				}
			}
		}
		return nil
	})
	return found
}

func TestForgetAndRemoveEraseFromDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, dir := newTestVault(t)
	notes := t.TempDir()
	write(t, filepath.Join(notes, "secret.md"), "# Plans\n\nthe surprise party code word is zanzibar-canary\n")
	write(t, filepath.Join(notes, "other.md"), "# Other\n\nnothing to see\n")
	if _, err := v.Add(ctx, []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Remember("my locker combination is flamingo-canary"); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil { // the snapshot holds the note's text now
		t.Fatal(err)
	}
	v = reopen(t, dir)
	ids := append(v.ring().identities(), v.devID)
	if len(canaryFound(t, dir, "flamingo-canary", ids...)) == 0 || len(canaryFound(t, dir, "zanzibar-canary", ids...)) == 0 {
		t.Fatal("the canaries are not in the vault to begin with")
	}
	_, erased, err := v.Forget("flamingo")
	if err != nil || erased.Objects != 1 {
		t.Fatalf("Forget erased %+v, %v", erased, err)
	}
	os.Remove(filepath.Join(notes, "secret.md"))
	rep, err := v.Add(ctx, []string{notes}, AddOptions{})
	if err != nil || rep.Removed != 1 || rep.Erased.Objects != 1 {
		t.Fatalf("Add after removing the note: %+v, %v", rep, err)
	}
	for _, c := range []string{"flamingo-canary", "zanzibar-canary"} {
		if f := canaryFound(t, dir, c, ids...); len(f) != 0 {
			t.Errorf("%s still decrypts from %v", c, f)
		}
	}
}

func TestKeyFileCopies(t *testing.T) {
	t.Parallel()
	damage := func(p string) {
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		os.WriteFile(p, b, 0o600)
	}
	t.Run("a damaged first copy is restored from the second", func(t *testing.T) {
		t.Parallel()
		v, dir := newTestVault(t)
		v.Close()
		paths := keyFilePaths(dir, v.Device())
		damage(paths[0])
		w := reopen(t, dir)
		if len(w.Problems()) == 0 || !strings.Contains(w.Problems()[0].Error(), "restored") {
			t.Errorf("problems %v", w.Problems())
		}
		a, _ := os.ReadFile(paths[0])
		b, _ := os.ReadFile(paths[1])
		if !bytes.Equal(a, b) {
			t.Error("the first copy was not restored")
		}
	})
	t.Run("two damaged copies are damage, not a wrong passphrase", func(t *testing.T) {
		t.Parallel()
		v, dir := newTestVault(t)
		v.Close()
		for _, p := range keyFilePaths(dir, v.Device()) {
			damage(p)
		}
		_, err := Open(dir, testPass)
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "key file") {
			t.Errorf("Open = %v", err)
		}
		if _, err := Open(dir, []byte("wrong")); !errors.Is(err, ErrCorrupt) {
			t.Errorf("with a wrong passphrase too: %v", err)
		}
	})
}

func TestInitNeverOverwritesAVault(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	if err := v.PutSecret("keep", []byte("me")); err != nil {
		t.Fatal(err)
	}
	v.Close()
	os.Remove(filepath.Join(dir, "VAULT"))
	if _, err := Init(dir, testPass, WithScryptWorkFactor(10)); !errors.Is(err, ErrAlreadyInitialized) {
		t.Errorf("Init over a vault without its header: %v", err)
	}
	_, err := Open(dir, testPass)
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotInitialized) {
		t.Errorf("Open without the header: %v", err)
	}
}

// Objects a device has not received yet (a sync cut short, secrets that
// sync.secrets leaves on the other device) are not damage: check counts
// them apart, and damage stays damage.
func TestCheckCountsObjectsNotReceivedYetApartFromDamage(t *testing.T) {
	t.Parallel()
	a, _ := newTestVault(t)
	if _, err := a.Remember("the spare key is under the blue pot"); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSecret("pin", []byte("1234")); err != nil {
		t.Fatal(err)
	}
	b := joinDeviceNoSync(t, a)
	importLog(t, b, a)
	want := len(b.MissingObjects())
	if want == 0 {
		t.Fatal("b misses nothing: the test needs objects not received yet")
	}
	rep, err := b.Check()
	if err != nil || !rep.OK() || rep.NotHereYet != want {
		t.Fatalf("check on a device that has not received %d objects: ok %v, not here yet %d, damaged %+v, %v", want, rep.OK(), rep.NotHereYet, rep.Damaged, err)
	}
	// An object file that was here and is gone is damage.
	ref := b.MissingObjects()[0].Name
	data, err := a.ReadObject(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteObject(ref, data); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b.objectPath(ref)); err != nil {
		t.Fatal(err)
	}
	rep, err = b.Check()
	if err != nil || rep.OK() || rep.NotHereYet != want-1 {
		t.Fatalf("check after a received object's file was deleted: ok %v, not here yet %d, damaged %+v, %v", rep.OK(), rep.NotHereYet, rep.Damaged, err)
	}
}
