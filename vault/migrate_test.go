package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/nook-ai/nook/vault/internal/format"
)

// The format-1 fixture (testdata/format1/README.md): written by nook before
// format 2 existed.
const fixtureDevice = "d34a0283d8b348f3"

func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "vault")
	if err := os.CopyFS(dst, os.DirFS("testdata/format1/vault")); err != nil {
		t.Fatal(err)
	}
	return dst
}

func headerOf(t *testing.T, dir string) header {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "VAULT"))
	if err != nil {
		t.Fatal(err)
	}
	var h header
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// treeSum hashes every file under dir (names and contents).
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "lock" {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := os.ReadFile(n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkMigrated asserts that dir holds the fixture's content in format 2.
func checkMigrated(t *testing.T, dir string, memories int) {
	t.Helper()
	v := reopen(t, dir, WithScryptWorkFactor(10))
	h := headerOf(t, dir)
	if h.Format != 2 || h.MigratedFrom != "" || !format.ValidAddress(h.Device) || v.Device() != h.Device {
		t.Fatalf("header after migration: %+v", h)
	}
	if p := v.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	st, _ := v.Status()
	if st.Documents != 4 || st.Memories != memories || st.Sessions != 1 || st.Secrets != 1 {
		t.Errorf("status %+v", st)
	}
	// Ten objects in format 1; the forgotten fact and the first version of
	// chess.md were left on disk by format 1 and are erased now.
	if st.Objects != 8+memories-2 {
		t.Errorf("%d objects, want %d", st.Objects, 8+memories-2)
	}
	hits, err := v.Search(context.Background(), "chess club Thursdays", SearchOptions{K: 1, Mode: Lexical})
	if err != nil || len(hits) != 1 || filepath.Base(hits[0].Source) != "chess.md" || !strings.Contains(hits[0].Text, "Thursdays") {
		t.Errorf("search %+v, %v", hits, err)
	}
	facts, _ := v.Facts()
	for _, f := range facts {
		if strings.Contains(f.Text, "flamingo") {
			t.Error("a forgotten fact came back")
		}
	}
	ss, _ := v.ListSessions()
	if len(ss) != 1 || ss[0].Title != "first chat" || ss[0].Messages != 2 {
		t.Errorf("sessions %+v", ss)
	}
	if sec, err := v.Secret("ledger/identity"); err != nil || string(sec) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("secret %q, %v", sec, err)
	}
	for _, gone := range []string{"log/" + fixtureDevice, "keys/" + fixtureDevice + ".age"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there", gone)
		}
	}
	if ids := v.ring().identities(); len(canaryFound(t, dir, "flamingo-42", append(ids, v.devID)...)) != 0 {
		t.Error("the forgotten fact still decrypts from the vault folder")
	}
	// And it writes on.
	if _, err := v.Remember("written after the migration"); err != nil {
		t.Error(err)
	}
}

func TestMigratesTheFormat1Fixture(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
	checkMigrated(t, dir, 2)
	// The device keeps its key: its address is the format-1 device key's.
	h := headerOf(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "log", h.Device)); err != nil {
		t.Error(err)
	}
	checkMigrated(t, dir, 3) // opening again does not migrate again
}

func TestMigrationWithAWrongPassphraseChangesNothing(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
	before := treeSum(t, dir)
	if _, err := Open(dir, []byte("not it"), WithScryptWorkFactor(10)); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Open = %v", err)
	}
	if treeSum(t, dir) != before {
		t.Error("a failed unlock changed the format-1 vault")
	}
}

// TestMigrationSurvivesKillAtEveryStep kills the migrating process at each
// step with SIGKILL: afterwards the folder is a whole format-1 vault or a
// format-2 one, and opening it gives every fact, note, session and secret.
func TestMigrationSurvivesKillAtEveryStep(t *testing.T) {
	t.Parallel()
	steps := []string{"begin", "cleared", "keys", "wrap", "entry", "log", "snapshot", "committed", "removed", "collected"}
	for _, step := range steps {
		t.Run("killed at "+step, func(t *testing.T) {
			t.Parallel()
			dir := copyFixture(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "NOOK_TEST_MIGRATE_VAULT="+dir, "NOOK_TEST_CRASH_AT="+step)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the migration was not killed at %s: %v %s", step, err, out)
			}
			switch h := headerOf(t, dir); h.Format {
			case 1:
				// Whole format 1: its key file and every entry.
				if _, err := os.Stat(filepath.Join(dir, "keys", fixtureDevice+".age")); err != nil {
					t.Fatal(err)
				}
				seqs, _ := entrySeqs(filepath.Join(dir, "log", fixtureDevice))
				if len(seqs) != 8 {
					t.Fatalf("format-1 log has %d entries", len(seqs))
				}
			case 2:
				if _, err := os.Stat(filepath.Join(dir, "log", h.Device)); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("format %d", h.Format)
			}
			checkMigrated(t, dir, 2)
		})
	}
}
