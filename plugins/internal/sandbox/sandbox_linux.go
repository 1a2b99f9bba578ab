//go:build linux

package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// launchArg marks a launch: /proc/self/exe launchArg <spec JSON> <program> <args...>.
const launchArg = "__nook_plugin_sandbox_v1__"

// exitLaunch is the launcher's exit status when it cannot confine or
// start the plugin (it says why on stderr, the plugin's log).
const exitLaunch = 126

func init() {
	if len(os.Args) >= 4 && os.Args[1] == launchArg {
		launch(os.Args[2], os.Args[3], os.Args[3:])
	}
}

// Current is the protection this kernel gives.
func Current() Protection {
	abi := detectABI()
	if abi == 0 {
		return Protection{Kind: "none", Why: "this Linux kernel has no Landlock, or it is not enabled at boot (lsm=landlock)"}
	}
	return Protection{Kind: "landlock", ABI: abi, Covers: covers(abi)}
}

// detectABI is the Landlock ABI in use, as go-landlock computes it: a
// kernel whose signal scoping is broken (errata bit 1 unset) counts as 5.
func detectABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil || v < 0 {
		return 0
	}
	if v >= 6 {
		if e, err := ll.LandlockGetErrata(); err != nil || e&0x2 == 0 {
			v = 5
		}
	}
	return v
}

// Command returns the command that runs path with args confined to spec:
// this executable, relaunched as the confining launcher. Set its Dir, Env,
// standard files and SysProcAttr as for any command.
func Command(spec Spec, args ...string) (*exec.Cmd, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.Command("/proc/self/exe", append([]string{launchArg, string(data), spec.Exec}, args...)...)
	cmd.Args[0] = spec.Exec
	return cmd, nil
}

// systemDirs are the folders every confined program may read and execute.
var systemDirs = []string{"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/nix/store",
	"/proc/self", "/sys/devices/system/cpu"}

// SystemRead lists the folders every confined program may read, so that a
// caller can check that none of them holds what must stay private.
func SystemRead() []string { return slices.Clone(systemDirs) }

// rules are the Landlock rules for spec.
func rules(spec Spec) ([]landlock.Rule, error) {
	system := []landlock.Rule{
		landlock.RODirs(systemDirs...).IgnoreIfMissing(),
		landlock.ROFiles("/proc/cpuinfo", "/proc/meminfo", "/dev/urandom", "/dev/random", "/dev/zero").IgnoreIfMissing(),
		landlock.RWFiles("/dev/null", "/dev/full").IgnoreIfMissing(),
		landlock.ROFiles(spec.Exec),
	}
	for _, p := range spec.Read {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if fi.IsDir() {
			system = append(system, landlock.RODirs(p))
		} else {
			system = append(system, landlock.ROFiles(p))
		}
	}
	for _, p := range spec.Write {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		if fi.IsDir() {
			system = append(system, landlock.RWDirs(p).WithRefer())
		} else {
			system = append(system, landlock.RWFiles(p))
		}
	}
	return system, nil
}

// config is the newest Landlock configuration go-landlock knows, minus
// the network when spec allows it, downgraded to what the kernel has.
func config(spec Spec) landlock.Config {
	c := landlock.V11
	if spec.Net {
		c.HandledAccessNet = 0
	}
	return c.BestEffort()
}

// launch confines this thread to spec and execs the program; it never
// returns.
func launch(specJSON, program string, argv []string) {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "nook plugin sandbox: %v\n", err)
		os.Exit(exitLaunch)
	}
	var spec Spec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fail(fmt.Errorf("spec: %w", err))
	}
	rs, err := rules(spec)
	if err != nil {
		fail(err)
	}
	// Landlock restricts the calling thread and what it executes: stay on
	// this thread from the ruleset to the exec (init runs locked anyway).
	runtime.LockOSThread()
	fd, flags, err := config(spec).NewRulesetFD(rs...)
	if err != nil {
		fail(fmt.Errorf("landlock ruleset: %w", err))
	}
	if fd >= 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fail(fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err))
		}
		if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
			fail(fmt.Errorf("landlock_restrict_self: %w", err))
		}
		unix.Close(fd)
	}
	err = syscall.Exec(program, argv, os.Environ())
	fail(fmt.Errorf("exec %s: %w", program, err))
}
