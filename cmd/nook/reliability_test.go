package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/ledgerclient/ledgertest"
)

// The data-loss and tamper cases, with the real binary.

// vaultFile is a path under NOOK_HOME/vault.
func vaultFile(env map[string]string, parts ...string) string {
	return filepath.Join(append([]string{env["NOOK_HOME"], "vault"}, parts...)...)
}

func logEntry(t *testing.T, env map[string]string, seq int) string {
	t.Helper()
	dev, err := os.ReadFile(vaultFile(env, "DEVICE"))
	if err != nil {
		t.Fatal(err)
	}
	return vaultFile(env, "log", strings.TrimSpace(string(dev)), fmt.Sprintf("%016d", seq))
}

func flip(t *testing.T, p string) {
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

func digestTree(t *testing.T, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00", rel)
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

// mustRun runs nook and fails unless it exits with want.
func (n *nookCmd) mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out := n.run(t, 3*time.Minute, args...)
	if code != want {
		t.Fatalf("nook %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

// facts lists `nook forget --list` lines without their ids, sorted.
func (n *nookCmd) facts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(n.mustRun(t, 0, "forget", "--list")), "\n") {
		if _, text, ok := strings.Cut(l, "  "); ok && !strings.HasPrefix(l, "nook:") {
			out = append(out, text)
		}
	}
	sort.Strings(out)
	return out
}

func TestInitNeverOverwritesAVaultMissingItsHeader(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	out := n.mustRun(t, 0, "init")
	if !strings.Contains(out, "nook vault export-key") {
		t.Errorf("init does not say how to keep a recovery copy of the key:\n%s", out)
	}
	n.mustRun(t, 0, "remember", "the spare key is under the blue pot")
	os.Remove(vaultFile(env, "VAULT"))
	before := digestTree(t, vaultFile(env))
	out = n.mustRun(t, 1, "init")
	if !strings.Contains(out, "nook: hint: ") || !strings.Contains(out, "nook vault repair") {
		t.Errorf("init over a vault without its header:\n%s", out)
	}
	if digestTree(t, vaultFile(env)) != before {
		t.Fatal("init changed the folder of a vault without its header")
	}
	out = n.mustRun(t, 1, "forget", "--list")
	if !strings.Contains(out, "nook vault repair") {
		t.Errorf("a command on a vault without its header:\n%s", out)
	}
	out = n.mustRun(t, 0, "vault", "repair")
	if !strings.Contains(out, "wrote VAULT again") {
		t.Errorf("repair:\n%s", out)
	}
	if got := n.facts(t); len(got) != 1 || got[0] != "the spare key is under the blue pot" {
		t.Errorf("facts after the repair: %q", got)
	}
}

func TestADamagedLogEntryNeitherRollsBackNorBlocksWrites(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init") // entry 1: the key epoch
	for _, f := range []string{"f1 the spare key", "f2 the boiler code"} {
		n.mustRun(t, 0, "remember", f) // entries 2, 3
	}
	n.mustRun(t, 0, "forget", "f1") // 4
	for _, f := range []string{"f3 the bike lock", "f4 the wifi name"} {
		n.mustRun(t, 0, "remember", f) // 5, 6
	}
	flip(t, logEntry(t, env, 3))
	os.Remove(vaultFile(env, "cache", "index.age")) // the rebuild that rolled state back
	out := n.mustRun(t, 1, "vault", "check")
	if !strings.Contains(out, "damaged: 1") || !strings.Contains(out, fmt.Sprintf("%016d", 3)) || !strings.Contains(out, "vault repair") {
		t.Errorf("check:\n%s", out)
	}
	want := "f3 the bike lock|f4 the wifi name" // f1 stays forgotten, f2 was entry 3's
	if got := strings.Join(n.facts(t), "|"); got != want {
		t.Errorf("facts after the rebuild: %q, want %q", got, want)
	}
	n.mustRun(t, 0, "remember", "f5 written after the damage")
	// The end of the log damaged: writes wait for a repair, which starts a
	// new segment.
	flip(t, logEntry(t, env, 7))
	os.Remove(vaultFile(env, "cache", "index.age"))
	out = n.mustRun(t, 1, "remember", "f6")
	if !strings.Contains(out, "nook vault repair") {
		t.Errorf("a write after a damaged last entry:\n%s", out)
	}
	out = n.mustRun(t, 0, "vault", "repair")
	for _, w := range []string{"moved 2 damaged files", "new segment at entry 8", "nothing is damaged now"} {
		if !strings.Contains(out, w) {
			t.Errorf("repair output lacks %q:\n%s", w, out)
		}
	}
	n.mustRun(t, 0, "remember", "f6 after the repair")
	if out := n.mustRun(t, 0, "vault", "check"); !strings.Contains(out, "nothing is damaged") {
		t.Errorf("check after the repair:\n%s", out)
	}
	want = "f3 the bike lock|f4 the wifi name|f6 after the repair"
	if got := strings.Join(n.facts(t), "|"); got != want {
		t.Errorf("facts after the repair: %q, want %q", got, want)
	}
}

func TestNonUTF8FileNamesStayTwoDocumentsThroughARebuild(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	notes := filepath.Join(t.TempDir(), "notes")
	os.MkdirAll(notes, 0o755)
	words := map[string]string{"note-\xff.md": "xylophone", "note-\xfe.md": "zeppelin"}
	for name, w := range words {
		os.WriteFile(filepath.Join(notes, name), []byte("# Note\n\nthe "+w+" is here\n"), 0o644)
	}
	n.mustRun(t, 0, "add", notes)
	os.Remove(vaultFile(env, "cache", "index.age"))
	for _, w := range words {
		out := n.mustRun(t, 0, "search", "--json", "-k", "1", w)
		if !bytes.Contains([]byte(out), []byte(w)) {
			t.Errorf("search %s after a rebuild:\n%s", w, out)
		}
	}
	if out := n.mustRun(t, 0, "vault", "status"); !strings.Contains(out, "documents  2") {
		t.Errorf("status after the rebuild:\n%s", out)
	}
	if out := n.mustRun(t, 0, "add", notes); !strings.Contains(out, "unchanged 2") {
		t.Errorf("a second add:\n%s", out)
	}
}

func TestADamagedDocumentIsIngestedAgainAndDamagedFactsAreListed(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	notes := cliNotes(t, "sourdough.md", "tomatoes.md")
	n.mustRun(t, 0, "add", notes)
	n.mustRun(t, 0, "remember", "the gate code is 4711")
	// Damage every object: the two documents and the fact.
	filepath.WalkDir(vaultFile(env, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			flip(t, p)
		}
		return nil
	})
	os.Remove(vaultFile(env, "cache", "index.age"))
	out := n.mustRun(t, 0, "forget", "--list")
	if !strings.Contains(out, "unreadable") || !strings.Contains(out, "nook forget") {
		t.Errorf("a damaged fact is not listed with a hint:\n%s", out)
	}
	if out := n.mustRun(t, 0, "vault", "status"); !strings.Contains(out, "memory     1 facts") {
		t.Errorf("status:\n%s", out)
	}
	out = n.mustRun(t, 0, "add", notes)
	if !strings.Contains(out, "updated 2") {
		t.Errorf("add after the damage does not ingest the documents again:\n%s", out)
	}
	if out := n.mustRun(t, 0, "search", "-k", "1", "sourdough starter"); !strings.Contains(out, "sourdough.md") {
		t.Errorf("search after the re-ingest:\n%s", out)
	}
}

func TestAChangedLedgerRPCIsRefusedUntilConfirmedOnATerminal(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	plugin := "0x00000000000000000000000000000000000A11cE"
	n.mustRun(t, 0, "init")
	n.mustRun(t, 0, "id", "create") // the embedded chain is pinned at first use
	n.mustRun(t, 0, "plug", "grant", plugin, "vault:read", "--for", "30d")
	n.mustRun(t, 0, "plug", "revoke", plugin, "vault:read")
	status := n.mustRun(t, 0, "ledger", "status")
	registry := ""
	for _, l := range strings.Split(status, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "registry" {
			registry = f[1]
		}
	}
	if registry == "" || !strings.Contains(status, "trusted") {
		t.Fatalf("ledger status:\n%s", status)
	}
	// A plugin (or a mistake) points ledger.rpc at a node that grants
	// everything.
	var requests atomic.Int64
	fake := ledgertest.FakeNode(t, []byte{0x60, 0x00}, &requests)
	cfg := fmt.Sprintf("[ledger]\nrpc = %q\nregistry = %q\n", fake.URL, registry)
	if err := os.WriteFile(filepath.Join(env["NOOK_HOME"], "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"plug", "ls"}, {"ledger", "status"}} {
		out := n.mustRun(t, 1, args...)
		if !strings.Contains(out, "not the chain this vault trusts") || !strings.Contains(out, "nook ledger trust") {
			t.Errorf("nook %s on the fake node:\n%s", strings.Join(args, " "), out)
		}
	}
	if requests.Load() == 0 {
		t.Fatal("the fake node was never asked")
	}
	// Confirming needs a terminal: a script or a plugin has none.
	c := n.cmd("ledger", "trust")
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "on a terminal only") {
		t.Errorf("ledger trust without a terminal: %v\n%s", err, out)
	}
	// Back to the embedded chain, all is as it was.
	os.Remove(filepath.Join(env["NOOK_HOME"], "config.toml"))
	if out := n.mustRun(t, 0, "plug", "ls"); strings.Contains(out, "vault:read") {
		t.Errorf("a revoked grant is listed:\n%s", out)
	}
}

func TestAnOlderCopyOfTheVaultIsDetectedByTheLedgerWitness(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	if err := os.WriteFile(filepath.Join(env["NOOK_HOME"], "config.toml"), []byte("[ledger]\nwitness = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.mustRun(t, 0, "init")
	n.mustRun(t, 0, "id", "create")
	n.mustRun(t, 0, "remember", "before the backup")
	backup := filepath.Join(t.TempDir(), "vault")
	if err := os.CopyFS(backup, os.DirFS(vaultFile(env))); err != nil {
		t.Fatal(err)
	}
	n.mustRun(t, 0, "remember", "after the backup")
	if out := n.mustRun(t, 0, "vault", "check"); !strings.Contains(out, "ledger witness: this device's log") {
		t.Fatalf("check with the witness:\n%s", out)
	}
	// The folder is replaced by the older copy (the chain is left alone).
	os.RemoveAll(vaultFile(env))
	if err := os.CopyFS(vaultFile(env), os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	out := n.mustRun(t, 1, "vault", "check")
	if !strings.Contains(out, "ROLLED BACK") || !strings.Contains(out, "rolled back") || !strings.Contains(out, "nook: hint: ") {
		t.Errorf("check of the older copy:\n%s", out)
	}
	if out := n.mustRun(t, 0, "ledger", "status"); !strings.Contains(out, "rolled back") {
		t.Errorf("opening the ledger over the older copy says nothing:\n%s", out)
	}
}

// One byte of damage in the key file is damage, not a wrong passphrase: one
// damaged copy is restored from the other; both damaged is told as such,
// with what to do.
func TestADamagedKeyFileIsNotAWrongPassphrase(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	n.mustRun(t, 0, "remember", "the spare key is under the blue pot")
	dev, err := os.ReadFile(vaultFile(env, "DEVICE"))
	if err != nil {
		t.Fatal(err)
	}
	copies := []string{vaultFile(env, "keys", strings.TrimSpace(string(dev))+".age"), vaultFile(env, "keys", strings.TrimSpace(string(dev))+".2.age")}
	flip(t, copies[0])
	out := n.mustRun(t, 0, "forget", "--list")
	if !strings.Contains(out, "the spare key is under the blue pot") || !strings.Contains(out, "restored") {
		t.Errorf("one damaged copy:\n%s", out)
	}
	a, _ := os.ReadFile(copies[0])
	b, _ := os.ReadFile(copies[1])
	if !bytes.Equal(a, b) {
		t.Error("the damaged copy was not restored from the sound one")
	}
	flip(t, copies[0])
	flip(t, copies[1])
	out = n.mustRun(t, 1, "forget", "--list")
	if strings.Contains(out, "wrong passphrase") || !strings.Contains(out, "damaged") || !strings.Contains(out, "nook: hint: ") {
		t.Errorf("both copies damaged:\n%s", out)
	}
}
