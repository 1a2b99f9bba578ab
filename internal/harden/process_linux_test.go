//go:build linux

package harden_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nook-ai/nook/internal/harden"
)

// The test binary plays two roles in subprocesses (HARDEN_ROLE):
//   - target: nook, holding a secret in its initial environment, with
//     harden.Process applied when HARDEN_PROTECT=1; it says "ready" and
//     waits for its stdin to close;
//   - reader: a hostile program of the same user, which tries to read
//     /proc/<target>/environ and /proc/<target>/mem and prints what it got.
func TestMain(m *testing.M) {
	switch os.Getenv("HARDEN_ROLE") {
	case "target":
		if os.Getenv("HARDEN_PROTECT") == "1" {
			if err := harden.Process(); err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "reader":
		pid := os.Getenv("HARDEN_PID")
		for _, f := range []string{"environ", "mem"} {
			b, err := os.ReadFile("/proc/" + pid + "/" + f)
			if err != nil {
				fmt.Printf("%s: denied: %v\n", f, err)
				continue
			}
			fmt.Printf("%s: read %d bytes: %s\n", f, len(b), strings.ReplaceAll(string(b), "\x00", " "))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// binary copies the test binary where an unprivileged user may run it.
func binary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "harden-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "harden.test")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// asUser runs cmd as an unprivileged user when the tests run as root
// (root may read any process: the protection is against the same user).
func asUser(cmd *exec.Cmd) {
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
}

// attack starts a target (protected or not) with secret in its initial
// environment and returns what a reader of the same user got from it.
func attack(t *testing.T, bin, secret string, protect bool) string {
	t.Helper()
	target := exec.Command(bin)
	target.Env = append(os.Environ(), "HARDEN_ROLE=target", "NOOK_PASSPHRASE="+secret, "HARDEN_PROTECT="+map[bool]string{true: "1", false: "0"}[protect])
	asUser(target)
	stdin, _ := target.StdinPipe()
	stdout, _ := target.StdoutPipe()
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); target.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("target: %q", line)
	}
	reader := exec.Command(bin)
	reader.Env = append(os.Environ(), "HARDEN_ROLE=reader", "HARDEN_PID="+strconv.Itoa(target.Process.Pid))
	asUser(reader)
	out, err := reader.CombinedOutput()
	if err != nil {
		t.Fatalf("reader: %v\n%s", err, out)
	}
	return string(out)
}

// The attack run read NOOK_PASSPHRASE from /proc/<nook>/environ and the
// vault's identity from /proc/<nook>/mem. Without Process another program
// of the same user does (the control, which shows the test can fail);
// with it, both are refused.
func TestANonDumpableNookHidesItsMemoryAndEnvironmentFromItsUser(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	secret := "correct-horse-" + strconv.Itoa(os.Getpid())

	open := attack(t, bin, secret, false)
	if !strings.Contains(open, secret) || !strings.Contains(open, "mem: read") && !strings.Contains(open, "mem: denied: read") {
		t.Fatalf("without Process the reader did not get the environment (the test cannot tell):\n%s", open)
	}
	t.Logf("without Process: %.300s", open)
	closed := attack(t, bin, secret, true)
	t.Logf("with Process: %s", closed)
	if strings.Contains(closed, secret) {
		t.Fatalf("with Process the reader got the passphrase:\n%s", closed)
	}
	for _, f := range []string{"environ", "mem"} {
		if !strings.Contains(closed, f+": denied: open") {
			t.Errorf("with Process, %s was not refused at open:\n%s", f, closed)
		}
	}
}

func TestProcessMarksThisProcessNotDumpable(t *testing.T) {
	// Run in a child: the mark would stay on the test process.
	if os.Getenv("HARDEN_SELF") == "1" {
		if !harden.Dumpable() {
			t.Fatal("dumpable before Process")
		}
		if err := harden.Process(); err != nil {
			t.Fatal(err)
		}
		if harden.Dumpable() {
			t.Fatal("still dumpable after Process")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessMarksThisProcessNotDumpable$")
	cmd.Env = append(os.Environ(), "HARDEN_SELF=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
