//go:build linux

package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Process marks nook non-dumpable: no core dump, and its /proc/<pid>/mem,
// environ, maps and fd, and ptrace, are refused to other processes of the
// same user (a process with CAP_SYS_PTRACE, such as root's, still gets
// them). The mark is dropped when nook execs another program, so plugins
// are not affected.
func Process() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("harden: prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}

// Dumpable reports whether the process may be dumped and traced by its
// user (what Process turns off).
func Dumpable() bool {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return err != nil || v != 0
}
