// Package harden keeps nook's secrets out of reach of other programs of
// the same user, plugins first.
//
//   - [Process] marks nook non-dumpable. On Linux that is
//     prctl(PR_SET_DUMPABLE, 0): no core dump is written, and
//     /proc/<nook>/mem, /proc/<nook>/environ, /proc/<nook>/maps and ptrace
//     are refused to every process without CAP_SYS_PTRACE, even of the
//     same user. Elsewhere it does nothing (see the function).
//   - [TakeEnv] reads secrets such as NOOK_PASSPHRASE once and removes them
//     from the environment, so that no child inherits them. The kernel
//     keeps the environment nook was started with in
//     /proc/<nook>/environ; Process is what hides that copy.
//   - [PluginEnv] builds the small environment a plugin starts with:
//     PATH, HOME, USER, LANG, LC_*, TMPDIR, TZ and what its manifest
//     declares, but never NOOK_* nor anything named like a secret
//     ([SecretName]).
//
// harden owns process attributes and environments; it must not read
// files, the config or the vault.
package harden
