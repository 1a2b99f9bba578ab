// Package sandbox confines a plugin process to what its manifest declares.
//
// On Linux it uses Landlock (through github.com/landlock-lsm/go-landlock),
// in best-effort mode: the kernel's Landlock ABI decides how much is
// enforced, and [Current] says what that is. Landlock restricts the thread
// that asks and everything it then executes, so [Command] does not start
// the plugin directly: it starts this very executable (/proc/self/exe)
// with a launch marker; this package's init sees the marker before main
// (or a test binary's TestMain) runs, builds the ruleset for the spec,
// restricts its thread and execs the plugin, which keeps its pid. Every
// binary that can start plugins links this package, so plugins started by
// nook and by tests are confined alike.
//
// What a confined plugin may do (see [Spec]): read and execute the system
// folders a program needs (/usr, /lib*, /bin, /sbin, /etc, its own
// /proc/self, a few device files), read its own folder, read and write its
// private temp folder, and what the spec adds. Everything else on the
// file system is refused, and so are TCP (and, from ABI 10, UDP) unless
// the spec allows the network, signals to processes outside the sandbox
// and abstract Unix sockets outside it (ABI 6), and ptrace or
// /proc/<pid>/mem of any process outside it (every ABI).
//
// On other systems Command runs the program directly and [Current] says
// that nothing confines it.
//
// sandbox owns the launch of one process; it must not know manifests,
// grants or the vault.
package sandbox
