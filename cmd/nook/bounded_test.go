package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/internal/testmodels"
)

// Bad input with the real binary: a FIFO or a device never hangs nook,
// and SIGTERM stops it within a second whatever it is doing.

// nookCmd runs the built nook with env added to this process's.
type nookCmd struct {
	bin string
	env map[string]string
}

func newNookCmd(t *testing.T, env map[string]string) *nookCmd {
	t.Helper()
	return &nookCmd{bin: buildNook(t), env: env}
}

func (n *nookCmd) cmd(args ...string) *exec.Cmd {
	c := exec.Command(n.bin, args...)
	c.Env = os.Environ()
	for k, v := range n.env {
		c.Env = append(c.Env, k+"="+v)
	}
	return c
}

// run runs nook to its end within limit.
func (n *nookCmd) run(t *testing.T, limit time.Duration, args ...string) (code int, out string) {
	t.Helper()
	c := n.cmd(args...)
	var b lockedBuffer
	c.Stdout, c.Stderr = &b, &b
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		c.Process.Kill()
		<-done
		t.Fatalf("nook %s still ran after %s:\n%s", strings.Join(args, " "), limit, b.String())
	}
	return c.ProcessState.ExitCode(), b.String()
}

// lockedBuffer is serve_test.go's.

func TestAFIFOOrADeviceNeverHangsNook(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	if code, out := n.run(t, time.Minute, "init"); code != 0 {
		t.Fatalf("init: %s", out)
	}
	fifo := filepath.Join(t.TempDir(), "notes.md")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "model.gguf")
	if err := syscall.Mkfifo(model, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"add", fifo}, "FIFO"},
		{[]string{"add", "/dev/zero"}, "character device"},
		{[]string{"run", "-m", model, "-p", "hi"}, "FIFO"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			start := time.Now()
			code, out := n.run(t, 10*time.Second, c.args...)
			if code != 1 || !strings.Contains(out, c.want) || !strings.Contains(out, "nook: hint: ") {
				t.Errorf("exit %d:\n%s", code, out)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refused after %s", d)
			}
		})
	}
}

// stopsWithin starts nook, waits until ready says so (or at most wait),
// sends SIGTERM and checks that nook has ended within limit.
func stopsWithin(t *testing.T, n *nookCmd, limit time.Duration, wait time.Duration, ready func(out string) bool, args ...string) string {
	t.Helper()
	c := n.cmd(args...)
	var b lockedBuffer
	c.Stdout, c.Stderr = &b, &b
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	deadline := time.Now().Add(wait)
	for !ready(b.String()) && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("nook %s ended before SIGTERM (%v):\n%s", strings.Join(args, " "), err, b.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	sent := time.Now()
	c.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if d := time.Since(sent); d > limit {
			t.Errorf("nook %s stopped %s after SIGTERM, want at most %s", strings.Join(args, " "), d, limit)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		<-done
		t.Fatalf("nook %s ignored SIGTERM:\n%s", strings.Join(args, " "), b.String())
	}
	return b.String()
}

func TestSIGTERMStopsNookWithinASecond(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	if code, out := n.run(t, time.Minute, "init"); code != 0 {
		t.Fatalf("init: %s", out)
	}
	t.Run("during the add of a big folder", func(t *testing.T) {
		notes := filepath.Join(t.TempDir(), "notes")
		os.MkdirAll(notes, 0o755)
		for i := range 3000 {
			os.WriteFile(filepath.Join(notes, fmt.Sprintf("n%04d.md", i)), fmt.Appendf(nil, "# Note %d\n\nthe token tok%04d lives here, with a little more text to embed.\n", i, i), 0o644)
		}
		logDir := filepath.Join(env["NOOK_HOME"], "vault", "log")
		entries := func() int {
			n := 0
			filepath.WalkDir(logDir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && len(d.Name()) == 16 {
					n++
				}
				return nil
			})
			return n
		}
		stopsWithin(t, n, time.Second, 2*time.Minute, func(string) bool { return entries() >= 3 }, "add", notes)
		code, out := n.run(t, time.Minute, "vault", "status")
		if code != 0 || strings.Contains(out, "problems") {
			t.Errorf("the vault after SIGTERM: exit %d\n%s", code, out)
		}
	})
	model := testmodels.Path(t, testmodels.TinyRandom)
	for _, delay := range []time.Duration{0, 30 * time.Millisecond, 120 * time.Millisecond} {
		t.Run(fmt.Sprintf("while the model loads, %s after the start", delay), func(t *testing.T) {
			start := time.Now()
			stopsWithin(t, n, time.Second, delay, func(string) bool { return time.Since(start) >= delay }, "run", "-m", model, "-p", "hello", "-n", "100000")
		})
	}
	t.Run("during generation", func(t *testing.T) {
		stopsWithin(t, n, time.Second, time.Minute, func(out string) bool { return len(strings.TrimSpace(out)) > 20 },
			"run", "-m", model, "-p", "hello", "-n", "100000", "--temp", "1")
	})
}

// NOOK_THREADS far beyond the machine is clamped to its cores, and doctor
// says so.
func TestAThreadCountBeyondTheMachineIsClampedAndDoctorSaysSo(t *testing.T) {
	code, out, errs := runNook(t, map[string]string{"NOOK_THREADS": "100000"}, "", "doctor")
	if code > 1 {
		t.Fatalf("doctor: exit %d: %s %s", code, out, errs)
	}
	want := fmt.Sprintf("threads=100000 clamped to the %d cores", runtime.NumCPU())
	if !strings.Contains(out, want) {
		t.Errorf("doctor does not say the count was clamped (%q):\n%s", want, out)
	}
}

// A symlinked folder is added (once, however many links reach it), and a
// binary named .md, a link loop and a broken link are skipped and counted
// by reason: nothing is skipped silently.
func TestAddFollowsSymlinksAndSaysWhatItSkipped(t *testing.T) {
	env := vaultCLIEnv(t)
	n := newNookCmd(t, env)
	n.mustRun(t, 0, "init")
	root := t.TempDir()
	real := filepath.Join(root, "elsewhere")
	notes := filepath.Join(root, "notes")
	os.MkdirAll(real, 0o755)
	os.MkdirAll(notes, 0o755)
	os.WriteFile(filepath.Join(real, "garden.md"), []byte("# Garden\n\nthe tomatoes need staking in June\n"), 0o644)
	os.WriteFile(filepath.Join(notes, "photo.md"), append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 4096)...), 0o644)
	for link, target := range map[string]string{"linked": real, "again": real, "loop": notes, "dangling": filepath.Join(root, "gone")} {
		if err := os.Symlink(target, filepath.Join(notes, link)); err != nil {
			t.Fatal(err)
		}
	}
	out := n.mustRun(t, 0, "add", notes)
	if !strings.Contains(out, "added 1,") {
		t.Errorf("the note behind the symlinked folder was not added once:\n%s", out)
	}
	for _, want := range []string{"1 binary", "1 broken symlink", "2 symlink to a folder already walked"} {
		if !strings.Contains(out, want) {
			t.Errorf("add does not say %q:\n%s", want, out)
		}
	}
}
