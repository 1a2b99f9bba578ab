// Package assistant owns one turn of the conversation: retrieve from the
// vault, build the prompt (system + memory facts + numbered sources +
// history + question) within the model's token budget, stream the engine's
// answer, and map its [n] citations back to source files and line ranges.
// With tools (tools.go), their descriptions and a call's room count in the
// budget first; tools that do not fit sit the turn out with a notice, and
// in the JSON tool mode the answer streams as it is decoded
// (replystream.go).
//
// Entry points: [New], [Assistant.Turn] (streamed, for the TUI) and
// [Assistant.Ask] (collected, for `nook ask`). It declares the small
// [Engine] and [Store] interfaces it needs; *vault.Vault is the Store.
//
// It must not know about the TUI, touch the disk, or load models: the
// caller hands it an open engine and an unlocked vault.
package assistant
