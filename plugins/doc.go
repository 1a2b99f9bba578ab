// Package plugins is nook's MCP host: every plugin is an MCP server (any
// language) started by nook over stdio, or reached over streamable HTTP, and
// every call nook makes to it is gated by a grant on the ledger.
//
// Entry points:
//   - [LoadManifest] reads a plugin.toml and verifies its publisher's
//     signature; [Manifest.Sign] signs one (nook plug sign).
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
// <logs>/plugins/<id>.log.
package plugins
