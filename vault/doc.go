// Package vault is nook's encrypted local store: documents, their units and
// vectors, sessions, memory facts and secrets, plus ingestion (parse, cut
// into units, watch) and retrieval (BM25F-style lexical ranking with
// Snowball stemming and a proximity bonus, exact vector search, weighted
// reciprocal-rank fusion, MMR, and hits assembled small to big within a
// token budget).
//
// Units are paragraphs, list items, table rows, dialog turns and code
// blocks, each with its context (file title, headings, date, speaker, a
// list's lead-in or a table's header), which is scored and embedded with
// it (structure.go, chunk.go, rank.go, budget.go; docs/retrieval.md has
// the measurements).
//
// Entry points: [Init] and [Open] return an unlocked [*Vault]; [Vault.Add]
// and [Vault.Watch] ingest (lexically when no [Embedder] is given);
// [Vault.Reindex] cuts old documents into units and adds or replaces
// vectors; [Vault.Search] retrieves, by count or by [SearchOptions].Budget; [Vault.Remember],
// [Vault.SaveSession] and [Vault.PutSecret] keep the rest.
//
// On disk (see shared/design.md): VAULT and DEVICE are plaintext and hold no
// secrets; everything else is age ciphertext. keys/<device>.age wraps, with
// the passphrase (age scrypt), the vault's X25519 identity and the device's
// secp256k1 key. objects/ab/cdef… are immutable objects sealed to the vault
// recipient and named HMAC-SHA256(key derived from the identity, plaintext),
// which also authenticates them. log/<device>/<seq> is the append-only op
// log, hash-chained and signed with ECDSA secp256k1 by the device key; it is
// the source of truth. cache/index.age is an HMAC-authenticated snapshot of
// state and index, rebuilt from the log and objects when missing or bad.
// Writes are atomic (temp file, fsync, rename, fsync folder); writers take
// a flock on vault/lock.
//
// The vault must not call a model (it takes an [Embedder]), use cgo, or
// import engine/llama or the TUI. Errors never carry keys or contents.
package vault
