package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// factTexts lists the texts of the facts that read, sorted.
func factTexts(t *testing.T, v *Vault) []string {
	t.Helper()
	fs, err := v.Facts()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Text)
	}
	sort.Strings(out)
	return out
}

// factLog writes the history: entry 1 records the key epoch, then
// 2 remembers f1, 3 remembers f2, 4 forgets f1, 5 remembers f3, 6
// remembers f4.
func factLog(t *testing.T) (string, *Vault) {
	t.Helper()
	v, dir := newTestVault(t)
	for _, s := range []string{"f1 the spare key", "f2 the boiler code"} {
		if _, err := v.Remember(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := v.Forget("f1"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"f3 the bike lock", "f4 the wifi name"} {
		if _, err := v.Remember(s); err != nil {
			t.Fatal(err)
		}
	}
	v.Close()
	return dir, v
}

func flipByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// treeDigest hashes every file's path and bytes under dir.
func treeDigest(t *testing.T, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00"))
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestOneBadEntryCostsOnlyItsOwnOps(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, p string)
	}{
		{"a damaged entry", flipByte},
		{"a deleted entry", func(t *testing.T, p string) { os.Remove(p) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, v := factLog(t)
			c.damage(t, filepath.Join(dir, "log", v.Device(), entryName(3)))
			os.Remove(filepath.Join(dir, "cache", "index.age")) // the rebuild that used to roll state back
			w := reopen(t, dir)
			want := []string{"f3 the bike lock", "f4 the wifi name"} // f1 stays forgotten; f2 was entry 3's
			if got := factTexts(t, w); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("facts after the rebuild %q, want %q", got, want)
			}
			if p := w.Problems(); len(p) == 0 || !strings.Contains(p[0].Error(), entryName(3)) {
				t.Errorf("problems %v, want one naming entry 3", p)
			}
			if hs := w.Holes(); len(hs) != 1 || hs[0] != (Hole{v.Device(), 3, 3}) {
				t.Errorf("holes %v", hs)
			}
			if _, err := w.Remember("f5 after the damage"); err != nil {
				t.Fatalf("a write after the damage: %v", err)
			}
			w.Close()
			x := reopen(t, dir)
			if got := factTexts(t, x); len(got) != 3 {
				t.Errorf("after reopening: %q", got)
			}
			if st, _ := x.Status(); st.Holes != 1 {
				t.Errorf("status holes %d", st.Holes)
			}
		})
	}
}

func TestADamagedEndOfTheLogIsRepairedWithANewSegment(t *testing.T) {
	t.Parallel()
	dir, v := factLog(t)
	last := filepath.Join(dir, "log", v.Device(), entryName(6))
	flipByte(t, last)
	os.Remove(filepath.Join(dir, "cache", "index.age"))
	w := reopen(t, dir)
	if _, err := w.Remember("f5"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), entryName(6)) {
		t.Fatalf("a write after a damaged last entry: %v, want a refusal naming it", err)
	}
	rep, err := w.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Segment != 7 || len(rep.Moved) != 1 || !strings.HasSuffix(rep.Moved[0], entryName(6)) || rep.Quarantine == "" {
		t.Errorf("repair %+v", rep)
	}
	if !rep.After.OK() || len(rep.After.Holes) != 1 {
		t.Errorf("after the repair: %+v", rep.After)
	}
	if _, err := os.Stat(filepath.Join(rep.Quarantine, "log", v.Device(), entryName(6))); err != nil {
		t.Errorf("the damaged entry is not in quarantine: %v", err)
	}
	if _, err := w.Remember("f5 after the repair"); err != nil {
		t.Fatalf("a write after the repair: %v", err)
	}
	w.Close()
	x := reopen(t, dir)
	if p := x.Problems(); len(p) != 0 {
		t.Errorf("problems after the repair: %v", p)
	}
	want := []string{"f2 the boiler code", "f3 the bike lock", "f5 after the repair"}
	if got := factTexts(t, x); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("facts %q, want %q", got, want)
	}
	if c, _ := x.Check(); !c.OK() {
		t.Errorf("check after the repair: %+v", c.Damaged)
	}
}

func TestCheckIsReadOnlyAndFindsEveryKindOfDamage(t *testing.T) {
	t.Parallel()
	dir, v := factLog(t)
	w := reopen(t, dir)
	if err := w.PutSecret("s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	objs := objectFiles(t, dir)
	w.Close()
	flipByte(t, filepath.Join(dir, "log", v.Device(), entryName(3)))
	flipByte(t, objs[0])
	flipByte(t, keyFilePaths(dir, v.Device())[1])
	flipByte(t, filepath.Join(dir, "cache", "index.age"))
	before := treeDigest(t, dir)
	r, err := Open(dir, testPass, ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Check()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	kinds := map[string]int{}
	for _, d := range rep.Damaged {
		kinds[d.Kind]++
		if d.Problem == "" || d.Effect == "" || d.Path == "" {
			t.Errorf("a damage without its path, problem or effect: %+v", d)
		}
	}
	for _, k := range []string{"entry", "object", "key file", "snapshot"} {
		if kinds[k] != 1 {
			t.Errorf("%d damaged %s, want 1 (report %+v)", kinds[k], k, rep.Damaged)
		}
	}
	if rep.OK() || rep.Entries != 6 || rep.KeyFiles != 1 || rep.Wraps != 1 {
		t.Errorf("report %+v", rep)
	}
	if treeDigest(t, dir) != before {
		t.Error("a read-only open and check changed the vault folder")
	}
	// Opening restores the key file copy; repair mends the rest, and the
	// check after it is clean.
	x := reopen(t, dir)
	fix, err := x.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if !fix.After.OK() || len(fix.Moved) != 2 { // the entry, the object
		t.Errorf("repair: %+v", fix)
	}
}

func TestAPeerRestoresADamagedEntry(t *testing.T) {
	t.Parallel()
	a, dirA := newTestVault(t)
	b := joinDevice(t, a)
	for _, s := range []string{"r1", "r2", "r3"} {
		if _, err := a.Remember(s); err != nil {
			t.Fatal(err)
		}
	}
	syncInto(t, b, a)
	want := stateBytes(t, b)
	n := a.Heads()[a.Device()].Seq
	a.Close()
	flipByte(t, filepath.Join(dirA, "log", a.Device(), entryName(n-1))) // r2's, in the middle
	os.Remove(filepath.Join(dirA, "cache", "index.age"))
	a2 := reopen(t, dirA)
	if hs := a2.Holes(); len(hs) != 1 {
		t.Fatalf("holes %v", hs)
	}
	if got := factTexts(t, a2); len(got) != 2 {
		t.Errorf("facts with the hole: %q", got)
	}
	es, err := b.Entries(a.Device(), n-1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a2.Import(es)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Restored != 1 || rep.RolledBack {
		t.Errorf("import %+v", rep)
	}
	if !bytes.Equal(stateBytes(t, a2), want) || len(a2.Holes()) != 0 {
		t.Error("the restored vault differs from its peer's")
	}
	if got := factTexts(t, a2); len(got) != 3 {
		t.Errorf("facts after the restore: %q", got)
	}
	// A fill that does not chain onto its neighbours is refused as a fork.
	es2, _ := b.Entries(a.Device(), n, 1<<20)
	es2[0].Seq = n - 1
	if _, err := a2.Import(es2); err == nil {
		t.Error("an entry at another place was taken")
	}
}

func TestPeersTakeANewSegment(t *testing.T) {
	t.Parallel()
	a, dirA := newTestVault(t)
	b := joinDevice(t, a) // b holds a's log up to the key epoch
	c := joinDevice(t, a) // c will hold the damaged entry too
	if _, err := a.Remember("lost here"); err != nil {
		t.Fatal(err)
	}
	syncInto(t, c, a)
	n := a.Heads()[a.Device()].Seq
	a.Close()
	flipByte(t, filepath.Join(dirA, "log", a.Device(), entryName(n)))
	a2 := reopen(t, dirA)
	rep, err := a2.Repair()
	if err != nil || rep.Segment != n+1 {
		t.Fatalf("repair %+v, %v", rep, err)
	}
	if _, err := a2.Remember("after the segment"); err != nil {
		t.Fatal(err)
	}
	// b never saw entry n: the segment declares the gap, signed.
	syncInto(t, b, a2)
	if got := factTexts(t, b); strings.Join(got, "|") != "after the segment" {
		t.Errorf("b's facts %q", got)
	}
	// c holds entry n: the segment chains past it.
	syncInto(t, c, a2)
	if got := factTexts(t, c); len(got) != 2 {
		t.Errorf("c's facts %q", got)
	}
	// c restores entry n to a; then a and c agree.
	es, _ := c.Entries(a.Device(), n, 1<<20)
	if rep, err := a2.Import(es[:1]); err != nil || rep.Restored != 1 {
		t.Fatalf("restore %+v, %v", rep, err)
	}
	if !bytes.Equal(stateBytes(t, a2), stateBytes(t, c)) {
		t.Error("a and c differ after the restore")
	}
	// An undeclared gap is still refused.
	es, _ = a2.Entries(a.Device(), n+2, 1<<20)
	fresh := joinDeviceNoSync(t, a2)
	if _, err := fresh.Import(es); !errors.Is(err, ErrGap) {
		t.Errorf("an entry past an undeclared gap: %v", err)
	}
}

func TestHolesKeepTheMergeOrderIndependent(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 11))
	for round := range 40 {
		logs := simulate(r, 3, 12)
		want := replay(t, logs, func([]int) int { return 0 })
		// Withhold a few entries, apply the rest (holes), then the
		// withheld ones late.
		st := newState()
		var late []int
		type pos struct{ d, i int }
		var held []pos
		for d, l := range logs {
			for i := range l {
				if r.IntN(4) == 0 {
					held = append(held, pos{d, i})
					late = append(late, d)
					continue
				}
				st.apply(l[i])
			}
		}
		r.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
		for _, p := range held {
			st.apply(logs[p.d][p.i])
		}
		got, err := st.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: the state with late entries differs from the in-order one", round)
		}
		if len(st.holes) != 0 {
			t.Fatalf("round %d: holes left %v", round, st.holes)
		}
	}
}
