//go:build linux

package sandbox_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nook-ai/nook/plugins/internal/sandbox"
)

// The test binary is also the confined program (SANDBOX_TRY=what), so that
// the tests need nothing but themselves: it tries one thing and prints
// "ok" or "denied: <error>".
func TestMain(m *testing.M) {
	if what := os.Getenv("SANDBOX_TRY"); what != "" {
		arg := os.Getenv("SANDBOX_ARG")
		var err error
		switch what {
		case "read":
			_, err = os.ReadFile(arg)
		case "list":
			_, err = os.ReadDir(arg)
		case "write":
			err = os.WriteFile(arg, []byte("x"), 0o600)
		case "dial":
			var c net.Conn
			if c, err = net.Dial("tcp", arg); err == nil {
				c.Close()
			}
		case "signal":
			pid, _ := strconv.Atoi(arg)
			err = syscall.Kill(pid, 0)
		}
		if err != nil {
			fmt.Println("denied:", err)
		} else {
			fmt.Println("ok")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func try(t *testing.T, spec sandbox.Spec, what, arg string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec.Exec = self
	cmd, err := sandbox.Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "SANDBOX_TRY="+what, "SANDBOX_ARG="+arg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", what, arg, err, out)
	}
	return strings.TrimSpace(string(out))
}

func landlocked(t *testing.T) {
	t.Helper()
	if p := sandbox.Current(); !p.Confined() {
		t.Fatalf("no sandbox here: %s (plugins would run unconfined; Landlock needs Linux 5.13+ with it enabled)", p)
	}
}

func TestAConfinedProgramReachesOnlyWhatItsSpecGives(t *testing.T) {
	landlocked(t)
	t.Parallel()
	mine, other, rw := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(mine, "given"), []byte("g"), 0o600)
	os.WriteFile(filepath.Join(other, "secret"), []byte("s"), 0o600)
	spec := sandbox.Spec{Read: []string{mine}, Write: []string{rw}}
	tests := []struct {
		name, what, arg, want string
	}{
		{"a declared folder is readable", "read", filepath.Join(mine, "given"), "ok"},
		{"a folder not declared is not readable", "read", filepath.Join(other, "secret"), "denied"},
		{"a folder not declared is not listable", "list", other, "denied"},
		{"a read folder is not writable", "write", filepath.Join(mine, "planted"), "denied"},
		{"a write folder is writable", "write", filepath.Join(rw, "made"), "ok"},
		{"system folders are readable", "read", "/etc/passwd", "ok"},
		{"its own /proc/self is readable", "read", "/proc/self/status", "ok"},
		{"the parent's /proc entry is not", "read", fmt.Sprintf("/proc/%d/cmdline", os.Getpid()), "denied"},
		{"the parent's memory is not", "read", fmt.Sprintf("/proc/%d/mem", os.Getpid()), "denied"},
		{"the parent's environment is not", "read", fmt.Sprintf("/proc/%d/environ", os.Getpid()), "denied"},
		{"the home folder is not", "list", os.Getenv("HOME"), "denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := try(t, spec, tc.what, tc.arg); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("%s %s: %q, want %s", tc.what, tc.arg, got, tc.want)
			}
		})
	}
}

func TestTheNetworkIsOpenOnlyWhenTheSpecSaysSo(t *testing.T) {
	landlocked(t)
	if p := sandbox.Current(); p.ABI < 4 {
		t.Fatalf("Landlock ABI %d cannot restrict TCP (ABI 4, Linux 6.7+): plugins' network would be open", p.ABI)
	}
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	if got := try(t, sandbox.Spec{}, "dial", addr); !strings.HasPrefix(got, "denied") {
		t.Errorf("without Net: %q", got)
	}
	if got := try(t, sandbox.Spec{Net: true}, "dial", addr); got != "ok" {
		t.Errorf("with Net: %q", got)
	}
}

func TestAConfinedProgramCannotSignalNook(t *testing.T) {
	landlocked(t)
	if p := sandbox.Current(); p.ABI < 6 {
		t.Fatalf("Landlock ABI %d cannot scope signals (ABI 6, Linux 6.12+): plugins could signal nook", p.ABI)
	}
	t.Parallel()
	if got := try(t, sandbox.Spec{}, "signal", strconv.Itoa(os.Getpid())); !strings.HasPrefix(got, "denied") {
		t.Fatalf("signal 0 to the parent: %q", got)
	}
}

func TestAMissingDeclaredPathIsALaunchErrorNotASilentGap(t *testing.T) {
	landlocked(t)
	t.Parallel()
	self, _ := os.Executable()
	cmd, err := sandbox.Command(sandbox.Spec{Exec: self, Read: []string{filepath.Join(t.TempDir(), "gone")}})
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "SANDBOX_TRY=read", "SANDBOX_ARG=/etc/passwd")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nook plugin sandbox: read") {
		t.Fatalf("err %v, output %q", err, out)
	}
}
