package vault

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// slowEmbedder makes ingestion slow enough to be killed in the middle.
type slowEmbedder struct{ vaulttest.HashEmbedder }

func (s slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	time.Sleep(5 * time.Millisecond)
	return s.HashEmbedder.Embed(ctx, texts)
}

// TestMain lets the test binary act as the ingest process (the same
// vault.Add that `nook add` calls) for the SIGKILL test.
func TestMain(m *testing.M) {
	if op := os.Getenv("NOOK_TEST_KILL_OP"); op != "" {
		at, _ := strconv.ParseInt(os.Getenv("NOOK_TEST_KILL_AT"), 10, 64)
		os.Exit(killChild(op, os.Getenv("NOOK_TEST_KILL_DIR"), os.Getenv("NOOK_TEST_KILL_NOTES"), at))
	}
	if dir := os.Getenv("NOOK_TEST_MIGRATE_VAULT"); dir != "" {
		// Open migrates; die by SIGKILL at the named step.
		at := os.Getenv("NOOK_TEST_CRASH_AT")
		crashHook = func(step string) {
			if step == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
		v, err := Open(dir, testPass, WithScryptWorkFactor(10))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		v.Close()
		os.Exit(0)
	}
	if dir := os.Getenv("NOOK_TEST_ADD_VAULT"); dir != "" {
		v, err := Open(dir, testPass, WithEmbedder(slowEmbedder{}), WithEmbedModel("hash-test"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_, err = v.Add(context.Background(), []string{os.Getenv("NOOK_TEST_ADD_PATH")}, AddOptions{BatchFiles: 4, Progress: func(p Progress) {
			fmt.Printf("%d\n", p.FilesDone)
		}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSIGKILLDuringAdd(t *testing.T) {
	t.Parallel()
	v, dir := newTestVault(t)
	v.Close()
	notes := filepath.Join(t.TempDir(), "notes")
	for i := range 300 {
		write(t, filepath.Join(notes, fmt.Sprintf("n%03d.md", i)), fmt.Sprintf("# Note %d\n\nthe unique token tok%03d lives here.\n\nsecond paragraph %d\n", i, i, i))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NOOK_TEST_ADD_VAULT="+dir, "NOOK_TEST_ADD_PATH="+notes)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	seen := ""
	for !strings.Contains(seen, "\n40\n") { // wait for 40 files: ~10 batches committed
		n, err := out.Read(buf)
		if err != nil {
			t.Fatalf("helper ended early: %v (%q)", err, seen)
		}
		seen += string(buf[:n])
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	w := reopen(t, dir)
	if len(w.Problems()) != 0 {
		t.Errorf("problems after the kill: %v", w.Problems())
	}
	st, _ := w.Status()
	if st.Documents < 32 || st.Documents >= 300 {
		t.Fatalf("%d documents committed before the kill, want between 32 and 299", st.Documents)
	}
	committed := st.Documents
	hs, _ := w.Search(context.Background(), "tok000", SearchOptions{K: 1, Mode: Lexical})
	if len(hs) != 1 {
		t.Errorf("a committed note is not searchable after the kill")
	}
	rep, err := w.Add(context.Background(), []string{notes}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != committed || rep.Added != 300-committed {
		t.Errorf("re-run: %+v with %d committed before", rep, committed)
	}
	if st, _ := w.Status(); st.Documents != 300 {
		t.Errorf("%d documents after the re-run, want 300", st.Documents)
	}
}
