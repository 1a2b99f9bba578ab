package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end sync test with the real binary: two NOOK_HOMEs on
// one machine, `nook sync pair` on the first and `nook sync join` on the
// second, notes added on each, `nook sync now` with the first running
// `nook sync --daemon` (the second reads the first's embedded chain over
// libp2p), and `nook search` on each finds the other's notes.
func TestTwoHomesPairJoinSyncAndSearchEachOthersNotes(t *testing.T) {
	bin := buildNook(t)
	port := freePort(t)
	home := func(name, listen string) map[string]string {
		env := vaultCLIEnv(t)
		cfg := fmt.Sprintf("[sync]\nlisten = [%q]\nmdns = false\n", listen)
		if err := os.WriteFile(filepath.Join(env["NOOK_HOME"], "config.toml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return env
	}
	envA := home("a", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	envB := home("b", "/ip4/127.0.0.1/tcp/0")
	nook := func(env map[string]string, args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = os.Environ()
		for k, v := range env {
			c.Env = append(c.Env, k+"="+v)
		}
		return c
	}
	must := func(env map[string]string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		c := nook(env, args...)
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			t.Fatalf("nook %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	// started runs a long command and returns it once a stdout line
	// matches re (and the submatches).
	started := func(env map[string]string, re *regexp.Regexp, args ...string) (*exec.Cmd, []string, *bytes.Buffer) {
		t.Helper()
		c := nook(env, args...)
		var errb bytes.Buffer
		c.Stderr = &errb
		pr, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		found := make(chan []string, 1)
		go func() {
			sc := bufio.NewScanner(pr)
			sent := false
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
					found <- m
					sent = true
				}
			}
			if !sent {
				close(found)
			}
			io.Copy(io.Discard, pr)
		}()
		select {
		case m, ok := <-found:
			if !ok {
				t.Fatalf("nook %s ended without printing %v\nstderr: %s", strings.Join(args, " "), re, errb.String())
			}
			return c, m, &errb
		case <-time.After(3 * time.Minute):
			t.Fatalf("nook %s printed no %v in 3 minutes\nstderr: %s", strings.Join(args, " "), re, errb.String())
		}
		return nil, nil, nil
	}

	must(envA, "init")
	must(envA, "add", cliNotes(t, "sourdough.md", "tomatoes.md"))

	// Pair: A prints the code and its address; B joins with them.
	pair, m, pairErr := started(envA, regexp.MustCompile(`nook sync join (\S+) (/ip4/127\.0\.0\.1/tcp/\S+)`), "sync", "pair")
	code, addr := m[1], m[2]
	join := nook(envB, "sync", "join", code, addr)
	out, err := join.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "joined") {
		pair.Process.Kill()
		pair.Wait()
		logA, _ := os.ReadFile(filepath.Join(envA["NOOK_HOME"], "logs", "sync.log"))
		t.Fatalf("join: %v: %s\npair's stderr: %s\nA's sync.log:\n%s", err, out, pairErr.String(), logA)
	}
	devB := regexp.MustCompile(`this device is (0x[0-9a-fA-F]{40})`).FindStringSubmatch(string(out))
	if devB == nil {
		t.Fatalf("join printed no device: %s", out)
	}
	if err := pair.Wait(); err != nil {
		t.Fatalf("pair: %v\n%s", err, pairErr.String())
	}
	// The code works once.
	if c := nook(envB, "sync", "join", code, addr); c.Run() == nil {
		t.Error("a used pairing code was accepted again")
	}

	// A syncs in the background (and serves its chain); B syncs now: it
	// gets the vault (and the key epoch it writes under), adds its own
	// notes, and syncs again.
	daemon, _, daemonErr := started(envA, regexp.MustCompile(`^syncing in the background`), "sync", "--daemon")
	out = []byte(must(envB, "sync", "now"))
	if !strings.Contains(string(out), "in sync") {
		t.Errorf("the first sync now printed %q", out)
	}
	if out := must(envB, "add", cliNotes(t, "bike-tire.md", "lisbon.md")); !strings.Contains(out, "added 2,") {
		t.Errorf("add on B printed %q", out)
	}
	if out := must(envB, "sync", "now"); !strings.Contains(out, "in sync") {
		t.Errorf("the second sync now printed %q", out)
	}
	// Looking does not need the chain the daemon holds.
	if st := must(envA, "sync", "status", "--json"); !strings.Contains(st, `"enabled": true`) {
		t.Errorf("A's status while its daemon runs: %s", st)
	}
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := daemon.Wait(); err != nil {
		t.Fatalf("the daemon did not stop cleanly on SIGTERM: %v\n%s", err, daemonErr.String())
	}

	for _, tc := range []struct {
		env         map[string]string
		query, want string
	}{
		{envA, "how do I fix a flat bike tire", "bike-tire.md"},
		{envA, "what to see in lisbon", "lisbon.md"},
		{envB, "how often should the sourdough starter be fed", "sourdough.md"},
		{envB, "when to plant tomatoes", "tomatoes.md"},
	} {
		if out := must(tc.env, "search", "-k", "3", tc.query); !strings.Contains(out, tc.want) {
			t.Errorf("search %q on %s: %q lacks %s", tc.query, filepath.Base(tc.env["NOOK_HOME"]), out, tc.want)
		}
	}
	if t.Failed() {
		logA, _ := os.ReadFile(filepath.Join(envA["NOOK_HOME"], "logs", "sync.log"))
		t.Logf("A: vault status:\n%s\npeers:\n%s\nsync.log:\n%s\ndaemon stderr:\n%s", must(envA, "vault", "status"), must(envA, "sync", "peers", "--json"), logA, daemonErr.String())
	}
	if ps := must(envB, "sync", "peers", "--json"); !strings.Contains(ps, `"in_sync": true`) {
		t.Errorf("B's peers after the sync: %s", ps)
	}

	// A removes B: B is revoked, and A refuses it from then on.
	if out := must(envA, "id", "devices", "rm", devB[1]); !strings.Contains(out, "removed "+devB[1]) {
		t.Errorf("id devices rm printed %q", out)
	}
	daemon, _, daemonErr = started(envA, regexp.MustCompile(`^syncing in the background`), "sync", "--daemon")
	if c := nook(envB, "sync", "now"); c.Run() == nil {
		t.Error("a removed device still synced")
	}
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Fatalf("the daemon did not stop cleanly: %v\n%s", err, daemonErr.String())
	}
	if logA, _ := os.ReadFile(filepath.Join(envA["NOOK_HOME"], "logs", "sync.log")); !strings.Contains(string(logA), "refused") {
		t.Errorf("A logged no refusal of the removed device:\n%s", logA)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
