// Package vault is nook's encrypted local store: documents, their units and
// vectors, sessions, memory facts and secrets, plus ingestion (parse, cut
// into units, watch) and retrieval (BM25F-style lexical ranking with
// Snowball stemming and a proximity bonus, exact vector search, weighted
// reciprocal-rank fusion, MMR, and hits assembled small to big within a
// token budget), kept so that several devices of one person can hold the
// same vault.
//
// Units are paragraphs, list items, table rows, dialog turns and code
// blocks, each with its context (file title, headings, date, speaker, a
// list's lead-in or a table's header), which is scored and embedded with
// it (structure.go, chunk.go, rank.go, budget.go; docs/retrieval.md has
// the measurements).
//
// Entry points: [Init] and [Open] return an unlocked [*Vault] ([Open]
// migrates a format-1 vault first); [Vault.Add] and [Vault.Watch] ingest
// (lexically when no [Embedder] is given); [Vault.Reindex] cuts old
// documents into units and adds or replaces vectors; [Vault.Search]
// retrieves, by count or by [SearchOptions].Budget; [Vault.Remember],
// [Vault.SaveSession] and [Vault.PutSecret] keep the rest; [Vault.Forget],
// [Vault.DeleteSession] and document removal erase. The replication surface
// for package vault/sync is [Vault.Heads], [Vault.Entries], [Vault.Import],
// [Vault.ReadObject], [Vault.WriteObject], [Vault.MissingObjects],
// [Vault.Wraps], [Vault.ImportWraps], [NewDevice], [Vault.WrapFor],
// [Vault.RotateKey]; concurrent changes are [Vault.Conflicts].
//
// On disk (format 2; internal/format has the encodings and test vectors):
// VAULT and DEVICE are plaintext and hold no secrets; everything else is age
// ciphertext. A device is named by the Ethereum address of its secp256k1
// key (the ledger's name for it). keys/<device>.age and keys/<device>.2.age
// wrap the device's secp256k1 key and X25519 identity with the passphrase
// (age scrypt), behind a checksum. keys/epochs/<n>-<fp>/<device>.age wrap
// key epoch n's vault identity to a device. objects/ab/cdef… are immutable
// objects sealed to an epoch and named HMAC-SHA256(epoch's name key,
// plaintext), which also authenticates them; objects/pack/<hash>.pack
// holds a batch of them received from another device in one file (the
// same bytes; pack.go: an erased object's pack is rewritten without it).
// log/<device>/<seq> is each
// device's append-only op log, hash-chained, stamped with a hybrid logical
// clock and signed with a recoverable signature; the logs are the source of
// truth and merge into the same state in any order (merge.go).
// cache/index.age is this device's snapshot of state and index, sealed to
// and MACed by the device's own keys, rebuilt from the logs and objects
// when missing or bad; after sync it is written within seconds (at once
// when a document was removed) and at Close. Writes are atomic (temp file, fsync, rename, fsync
// folder); writers take a flock on vault/lock.
//
// The vault must not call a model (it takes an [Embedder]), use cgo, open
// network connections, or import engine/llama or the TUI. Errors never
// carry keys or contents.
package vault
