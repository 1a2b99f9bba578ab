// Package plugins is nook's MCP host: every plugin is an MCP server (any
// language) started by nook over stdio, or reached over streamable HTTP, and
// every call nook makes to it is gated by a grant on the ledger.
//
// Entry points:
//   - [LoadManifest] reads a plugin.toml and verifies its publisher's
//     signature; [SignFile] and [Manifest.Sign] sign one (nook plug sign),
//     recording the SHA-256 of its program so that the signature covers it
//     ([Manifest.VerifyProgram] checks it at add and at every start; an
//     https plugin's server key is pinned by [Manifest.PinServer]).
//   - [Store] lists, installs and removes plugins under $NOOK_HOME/plugins.
//   - [NewHost] runs the granted plugins: [Host.Tools] and [Host.Call] for
//     the model's tool loop, [Host.Ingest] and [Host.Export] for data plugs.
//
// Gating: before anything is sent to a plugin, the host asks its [Checker]
// (ledgerclient.Client) whether the identity granted the plugin's publisher
// the scope the operation needs: "tool" to list or call its tools,
// "vault:write:<tag>" to ingest its resources under tag, "vault:read:<tag>"
// to receive documents of tag. A refusal is a [*RefusedError] that names the
// grant to add. The plugin reaches the vault only through [Vault], and only
// for the tags it holds grants for.
//
// Lifecycle: a plugin is started on first use, stopped by [Host.Close],
// each call has a timeout after which the process is killed, a plugin that
// crashed or spoke malformed JSON-RPC is reported and restarted on the next
// call, results are capped ([DefaultMaxOutput]) and its stderr goes to
// <logs>/plugins/<id>.log, rotated at [MaxLogSize] while it runs.
//
// Isolation: a plugin process starts with a minimal environment
// (internal/harden.PluginEnv) and, on Linux, inside a Landlock sandbox
// (plugins/internal/sandbox) that lets it read the system folders and its
// own folder, write a private temp folder and reach what its manifest's
// [Sandbox] declares, never the folders given to [WithPrivate];
// [Protection] says what applies. Whatever a plugin says (results, tool
// descriptions, errors, its log) is made terminal-safe
// (internal/termsafe) before nook passes it on.
//
// The package must not read the vault but through [Vault], nor the
// config: the host is given what it needs through its options.
package plugins
