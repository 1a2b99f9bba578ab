// Package models owns nook's local model store and the ways models get into it.
//
// It owns:
//   - the store: an Ollama-compatible layout (blobs/sha256-<hex>,
//     manifests/<host>/<namespace>/<model>/<tag>) under the nook home, plus an
//     existing Ollama store (OLLAMA_MODELS or ~/.ollama/models) that is listed
//     and used in place, read-only;
//   - pulls from the Ollama registry (library/name:tag → manifest → blobs) and
//     from Hugging Face (hf.co/org/repo[:quant] → a GGUF file): resumable,
//     sha256-verified before a blob is accepted, parallel ranged GETs for large
//     blobs, stall timeouts;
//   - GGUF inspection for listing and `show` (header only, through
//     github.com/ollama/ollama/fs/ggml);
//   - the catalog of recommended defaults by role and machine memory.
//
// It must not load weights (no cgo, no engine import) or touch the vault. It
// makes no network connection except when a pull is asked for.
//
// Entry points:
//   - [Open] (from a *config.Config) or [NewStore] (a folder and [Option]s);
//   - [Store.Resolve] turns a model name or a GGUF path into a file path;
//   - [Store.Pull], [Store.EnsureDefault], [Store.List], [Store.Show],
//     [Store.Remove], [Store.Import]; [Default] picks from the catalog.
//
// Errors callers branch on: [ErrNotFound], [ErrDigestMismatch], [ErrStalled],
// [ErrUnreachable]. User-facing errors carry a hint (internal/hint).
package models
