package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/crashpoint"
	"github.com/nook-ai/nook/vault/vaulttest"
)

// Kill -9 at random points. Each operation (add, remember, session save,
// repair) runs in a child process (this test binary, see TestMain) that
// SIGKILLs itself at its k-th crash point (internal/crashpoint: every
// write, fsync, rename and link of the vault). A first run counts the
// points; then points are drawn at random from a fixed seed, so a failure
// reproduces. After each kill the vault must open, hold everything
// committed before, have no damaged file, and the operation run again
// must finish the work.
//
// NOOK_KILLPOINTS sets how many kills in all (default 100, spread over the
// four operations; 12 with -short or -race unless set); NOOK_KILLPOINTS_SEED
// the seed.

var killOps = []string{"add", "remember", "session", "repair", "import", "import-pack", "forget-packed"}

// killChild runs op on the vault in dir, dying at crash point at (0: count
// them, print the count and finish). It returns the exit code.
func killChild(op, dir, notes string, at int64) int {
	// Odd points make every batch of objects durable the way large ones
	// are (one syncfs on Linux), even ones the way small ones are (an
	// fsync per file): both ways pass the same crash points.
	if at%2 == 1 {
		syncfsMin = 1
	}
	var n atomic.Int64
	crashpoint.Set(func(string) {
		if k := n.Add(1); k == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	})
	v, err := Open(dir, testPass, WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := runKillOp(v, op, notes); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := v.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	fmt.Printf("points %d\n", n.Load())
	return 0
}

var killFacts = []string{"kp the spare key is in the shed", "kp the boiler code is 1234", "kp the bike lock is 4321"}

// runKillOp is each operation, written to finish the work when run again.
func runKillOp(v *Vault, op, notes string) error {
	switch op {
	case "add":
		_, err := v.Add(context.Background(), []string{notes}, AddOptions{BatchFiles: 3})
		return err
	case "remember":
		have, err := v.Facts()
		if err != nil {
			return err
		}
		for _, text := range killFacts {
			if !hasFact(have, text) {
				if _, err := v.Remember(text); err != nil {
					return err
				}
			}
		}
		return nil
	case "session":
		s, err := v.LoadSession("killpoint")
		if errors.Is(err, ErrNotFound) {
			s, err = &Session{ID: "killpoint", Title: "kill points"}, nil
		}
		if err != nil {
			return err
		}
		for len(s.Messages) < 6 {
			s.Messages = append(s.Messages, Message{Role: "user", Content: fmt.Sprintf("message %d", len(s.Messages))})
			if err := v.SaveSession(s); err != nil {
				return err
			}
		}
		return nil
	case "repair":
		_, err := v.Repair()
		return err
	case "import":
		return importFrom(v, notes)
	case "import-pack":
		// The test's imports are small: store this one as a pack, as a
		// first sync stores its batches.
		v.packMin = 1
		return importFrom(v, notes)
	case "forget-packed":
		// The fact's object arrived in a pack: forgetting it rewrites
		// the pack without it.
		have, err := v.Facts()
		if err != nil || !hasFact(have, "kp an old fact") {
			return err
		}
		_, _, err = v.Forget("kp an old fact")
		return err
	}
	return fmt.Errorf("unknown op %q", op)
}

// importFrom brings what the vault at src holds into v the way sync
// does: wraps, entries (one Import), the missing objects (one
// WriteObjects), then Arrived.
func importFrom(v *Vault, src string) error {
	s, err := Open(src, testPass, ReadOnly())
	if err != nil {
		return err
	}
	defer s.Close()
	ws, err := s.Wraps()
	if err != nil {
		return err
	}
	if err := v.ImportWraps(ws); err != nil {
		return err
	}
	have := v.Heads()
	var es []RawEntry
	for dev := range s.Heads() {
		got, err := s.Entries(dev, have[dev].Seq+1, 1<<30)
		if err != nil {
			return err
		}
		es = append(es, got...)
	}
	if _, err := v.Import(es); err != nil {
		return err
	}
	var objs []RawObject
	for _, m := range v.MissingObjects() {
		data, err := s.ReadObject(m.Name)
		if err != nil {
			return err
		}
		objs = append(objs, RawObject{Name: m.Name, Data: data})
	}
	if _, bad, err := v.WriteObjects(objs); err != nil || len(bad) > 0 {
		return fmt.Errorf("write objects: %v %v", bad, err)
	}
	return v.Arrived()
}

// onlyMissing: all c found are objects the vault knows it is missing (an
// import killed between its entries and its objects: sync fetches them).
func onlyMissing(c *CheckReport, v *Vault) bool {
	missing := map[string]bool{}
	for _, m := range v.MissingObjects() {
		missing[m.Name] = true
	}
	for _, d := range c.Damaged {
		name := filepath.Base(filepath.Dir(d.Path)) + filepath.Base(d.Path)
		if d.Kind != "object" || d.Problem != "missing" || !missing[name] {
			return false
		}
	}
	return true
}

func hasFact(fs []Fact, text string) bool {
	for _, f := range fs {
		if f.Text == text {
			return true
		}
	}
	return false
}

// killFixture is a vault folder to copy for each run, and the notes the
// add operation ingests.
type killFixture struct {
	dir, notes string
	// entries: the log entry files that verify before the run (a repair
	// must never remove one).
	entries []string
}

func makeKillFixture(t *testing.T, op string) killFixture {
	t.Helper()
	v, dir := newTestVault(t)
	notes := filepath.Join(t.TempDir(), "notes")
	for i := range 8 {
		write(t, filepath.Join(notes, fmt.Sprintf("n%d.md", i)), fmt.Sprintf("# Note %d\n\nthe token kp%03d lives here\n", i, i))
	}
	ctx := context.Background()
	if _, err := v.Add(ctx, []string{notes}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // what the add run changes: two changed, two new
		write(t, filepath.Join(notes, fmt.Sprintf("n%d.md", i*3)), fmt.Sprintf("# Note %d\n\nthe token kp%03d lives here now\n", i*3, i*3))
	}
	if _, err := v.Remember("kp an old fact"); err != nil {
		t.Fatal(err)
	}
	if err := v.SaveSession(&Session{ID: "killpoint", Title: "kill points", Messages: []Message{{Role: "user", Content: "message 0"}}}); err != nil {
		t.Fatal(err)
	}
	if op == "repair" {
		for _, s := range []string{"kp r1", "kp r2", "kp r3"} {
			if _, err := v.Remember(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if op == "import" || op == "import-pack" {
		// A new device of the same vault, before its first sync: the
		// run imports everything from the vault above (passed as notes).
		b := joinDeviceNoSync(t, v)
		b.Close()
		v.Close()
		fx := killFixture{dir: b.Dir(), notes: dir}
		fx.entries = verifiedEntries(t, fx.dir)
		return fx
	}
	if op == "forget-packed" {
		// A second device whose first sync stored everything in a pack.
		b := joinDeviceNoSync(t, v)
		b.packMin = 1
		if err := importFrom(b, dir); err != nil {
			t.Fatal(err)
		}
		if _, packs := storedFiles(t, b); len(packs) != 1 {
			t.Fatalf("the fixture holds %d packs", len(packs))
		}
		b.Close()
		v.Close()
		fx := killFixture{dir: b.Dir(), notes: notes}
		fx.entries = verifiedEntries(t, fx.dir)
		return fx
	}
	v.Close()
	if op == "repair" {
		// Damage for the repair to mend: a middle entry, the last entry,
		// an object, a key file copy, the snapshot.
		last := v.Heads()[v.Device()].Seq
		flipByte(t, filepath.Join(dir, "log", v.Device(), entryName(last-2)))
		flipByte(t, filepath.Join(dir, "log", v.Device(), entryName(last)))
		for _, n := range []string{"n1.md", "n2.md", "n4.md"} {
			flipByte(t, objectOf(t, v, nsDoc, filepath.Join(notes, n)))
		}
		os.Remove(filepath.Join(dir, "log", v.Device(), entryName(last-4))) // the old fact's: recorded as lost
		flipByte(t, keyFilePaths(dir, v.Device())[1])
		flipByte(t, filepath.Join(dir, "cache", "index.age"))
	}
	fx := killFixture{dir: dir, notes: notes}
	fx.entries = verifiedEntries(t, dir)
	return fx
}

// verifiedEntries lists the log entry files of dir that verify.
func verifiedEntries(t *testing.T, dir string) []string {
	t.Helper()
	v, err := Open(dir, testPass, ReadOnly())
	if err != nil {
		t.Fatalf("open read-only: %v", err)
	}
	defer v.Close()
	v.mu.Lock()
	sc := v.scan()
	v.mu.Unlock()
	var out []string
	for dev, bs := range sc.bodies {
		for seq := range bs {
			out = append(out, filepath.Join("log", dev, entryName(seq)))
		}
	}
	sort.Strings(out)
	return out
}

func copyVault(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "vault")
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return to
}

func runKilled(t *testing.T, op, dir, notes string, at int64) (killed bool, stdout string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NOOK_TEST_KILL_OP="+op, "NOOK_TEST_KILL_DIR="+dir, "NOOK_TEST_KILL_NOTES="+notes, "NOOK_TEST_KILL_AT="+strconv.FormatInt(at, 10))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, out.String()
		}
		t.Fatalf("%s at %d: %v\n%s", op, at, err, errb.String())
	}
	if err != nil {
		t.Fatalf("%s at %d: %v", op, at, err)
	}
	return false, out.String()
}

func TestKillNineAtRandomPointsLosesNothing(t *testing.T) {
	t.Parallel()
	total := 100
	if testing.Short() || raceEnabled {
		total = len(killOps) * 3
	}
	if s := os.Getenv("NOOK_KILLPOINTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < len(killOps) {
			t.Fatalf("NOOK_KILLPOINTS=%q", s)
		}
		total = n
	}
	seed := uint64(16)
	if s := os.Getenv("NOOK_KILLPOINTS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("NOOK_KILLPOINTS_SEED=%q", s)
		}
		seed = n
	}
	t.Logf("%d kills, seed %d (NOOK_KILLPOINTS, NOOK_KILLPOINTS_SEED)", total, seed)
	for i, op := range killOps {
		n := total / len(killOps)
		if i < total%len(killOps) {
			n++
		}
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			fx := makeKillFixture(t, op)
			_, out := runKilled(t, op, copyVault(t, fx.dir), fx.notes, 0)
			var points int64
			if _, err := fmt.Sscanf(out, "points %d", &points); err != nil || points < 5 {
				t.Fatalf("counting run printed %q", out)
			}
			// Distinct points, drawn from the seed (all of them, then again,
			// when more kills are asked for than there are points).
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			var draw []int64
			for len(draw) < n {
				for _, p := range r.Perm(int(points)) {
					draw = append(draw, int64(p)+1)
				}
			}
			start := time.Now()
			for _, at := range draw[:n] {
				dir := copyVault(t, fx.dir)
				if killed, _ := runKilled(t, op, dir, fx.notes, at); !killed {
					t.Fatalf("point %d of %d: the run was not killed", at, points)
				}
				checkAfterKill(t, op, fx, dir, at)
			}
			t.Logf("%s: %d kills at distinct points of %d in %s", op, n, points, time.Since(start).Round(time.Millisecond))
		})
	}
}

// checkAfterKill checks the invariants after a kill at point at, then runs
// the operation again to its end and checks the result.
func checkAfterKill(t *testing.T, op string, fx killFixture, dir string, at int64) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s killed at point %d: "+format, append([]any{op, at}, args...)...)
	}
	// Never a verified entry removed (quarantine holds only damaged ones).
	have := map[string]bool{}
	for _, e := range verifiedEntries(t, dir) {
		have[e] = true
	}
	for _, e := range fx.entries {
		if !have[e] {
			fail("entry %s, which verified, is gone", e)
		}
	}
	v, err := Open(dir, testPass, WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test"))
	if err != nil {
		fail("open: %v", err)
	}
	before := op != "repair" && op != "import" && op != "import-pack" // what was there before the run is intact
	if op != "repair" {
		if p := v.Problems(); len(p) != 0 {
			fail("problems %v", p)
		}
		if c, err := v.Check(); err != nil || !c.OK() && !((op == "import" || op == "import-pack") && onlyMissing(&c, v)) {
			fail("check: %+v, %v", c.Damaged, err)
		}
	}
	facts, err := v.ListFacts()
	if err != nil {
		fail("facts: %v", err)
	}
	for _, f := range facts {
		if f.Damaged != "" && before { // an import killed before its objects: "not on this device yet"
			fail("a damaged fact %+v", f)
		}
	}
	if !hasFact(facts, "kp an old fact") && before && op != "forget-packed" {
		fail("the old fact is gone: %+v", facts)
	}
	s, err := v.LoadSession("killpoint")
	if before && (err != nil || len(s.Messages) == 0) {
		fail("the session: %+v, %v", s, err)
	}
	if err := runKillOp(v, op, fx.notes); err != nil {
		fail("run again: %v", err)
	}
	v.Close()
	w, err := Open(dir, testPass, WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test"))
	if err != nil {
		fail("open after the rerun: %v", err)
	}
	defer w.Close()
	if p := w.Problems(); len(p) != 0 {
		fail("problems after the rerun: %v", p)
	}
	if c, err := w.Check(); err != nil || !c.OK() {
		fail("check after the rerun: %+v, %v", c.Damaged, err)
	}
	switch op {
	case "add":
		st, _ := w.Status()
		if st.Documents != 9 {
			fail("%d documents after the rerun", st.Documents)
		}
		for _, tok := range []string{"kp000", "kp003", "kp007", "kp009"} {
			if hs, _ := w.Search(context.Background(), tok, SearchOptions{K: 1, Mode: Lexical}); len(hs) != 1 {
				fail("%s is not found after the rerun", tok)
			}
		}
	case "remember":
		fs, _ := w.Facts()
		for _, f := range killFacts {
			if !hasFact(fs, f) {
				fail("fact %q missing after the rerun", f)
			}
		}
	case "forget-packed":
		if fs, _ := w.Facts(); hasFact(fs, "kp an old fact") {
			fail("the forgotten fact is back after the rerun")
		}
		if m := w.MissingObjects(); len(m) != 0 {
			fail("%d objects missing after the rerun", len(m))
		}
	case "session":
		if s, err := w.LoadSession("killpoint"); err != nil || len(s.Messages) != 6 {
			fail("session after the rerun: %+v, %v", s, err)
		}
	case "import", "import-pack":
		src, err := Open(fx.notes, testPass, ReadOnly())
		if err != nil {
			fail("open the source: %v", err)
		}
		defer src.Close()
		want, _ := src.StateDigest()
		if got, _ := w.StateDigest(); got != want {
			fail("the state after the rerun differs from the source's")
		}
		if m := w.MissingObjects(); len(m) != 0 {
			fail("%d objects missing after the rerun", len(m))
		}
	case "repair":
		fs, _ := w.Facts()
		for _, f := range []string{"kp r2"} { // the old fact's entry was deleted, r1's and r3's (the last) damaged
			if !hasFact(fs, f) {
				fail("fact %q missing after the repair: %+v", f, fs)
			}
		}
		if _, err := w.Remember("kp after the repair"); err != nil {
			fail("a write after the repair: %v", err)
		}
	}
}
