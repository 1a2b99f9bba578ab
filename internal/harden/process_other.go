//go:build !linux

package harden

// Process does nothing on this system. What protects nook's memory and
// environment from other programs of the same user there:
//   - macOS: reading another process's memory needs the debugger
//     entitlement or root (task_for_pid), but its initial environment is
//     readable by the same user (ps -E), so set no secret in the
//     environment: enter the passphrase when asked.
//   - Windows: processes of the same user may open each other
//     (PROCESS_VM_READ); nothing here prevents it.
//   - the BSDs: procfs and ptrace follow the same-user rule; nothing here
//     prevents it.
func Process() error { return nil }

// Dumpable is true: Process marks nothing on this system.
func Dumpable() bool { return true }
