// Package app is nook's application layer: the one place that turns a
// config into running parts and hands them to the front ends (`nook ask`,
// `nook search`, the terminal app, later `nook serve`).
//
// It owns, each with its own lifecycle and lock:
//   - the engine [Pool]: engines keyed by model file (or remote endpoint and
//     model), loaded once however many callers ask at the same time,
//     reference-counted, shared between the chat and embedding roles when
//     they name the same model, unloaded when the last reference goes, and
//     serialising chats on an engine that runs one at a time;
//   - the vault: [App.Unlock] runs scrypt while the chat and embedding
//     models load; a new unlock replaces the old handle, which is closed
//     after its in-flight users;
//   - the ledger client and the plugin host: opened on first need over the
//     app's vault; a failure is kept and reported with its hint until the
//     caller asks to retry ([App.RetryPlugins]);
//   - the sync service ([App.Sync], sync.go): one vault/sync node over the
//     vault, opened on first need and kept until the vault changes or the
//     app closes; it opens the ledger only to start or pair, starts a
//     host only for a paired vault ([App.StartSync] after an unlock in the
//     terminal app), and [App.RemoveDevice] revokes a device and rotates
//     the vault key;
//   - model resolution: no model is ever pulled unless a caller asked for
//     that name ([PullIfMissing]); pulls report [PullEvent]s. With nothing
//     configured the default pick is an installed catalog model, else any
//     installed chat model (imported, or in the Ollama store);
//   - the first run (onboard.go): [App.ModelChoices] (installed models,
//     then the catalog with download sizes), [App.RememberModel] (saved to
//     the config file), [PassphraseWarning] for a new vault's passphrase.
//
// Entry points: [New], [App.Close], [App.UseModel] / [App.ChatModel],
// [App.Unlock] / [App.Vault], [App.Turn] / [App.Ask], [App.Ledger],
// [App.Plugins], [App.Sync] / [App.SyncNow], [App.Status] and
// [App.Checks]; [Pool] on its own for callers that manage engines
// themselves. Tests build on
// internal/app/apptest.
//
// A new service is one more service field (a lazy, reference-counted part
// with a kept failure, see service.go) opened over the vault, and one more
// entry in Close's order (sync closes first: it holds the ledger).
//
// This package must not do terminal I/O (no prompts, no progress bars: it
// reports events to callbacks), nor import cobra, bubbletea or the tui
// packages. Slow work (model loads, scrypt, starting the chain) never runs
// under a lock another part of the app waits on.
package app
