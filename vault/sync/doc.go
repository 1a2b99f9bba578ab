// Package sync replicates a vault between the devices of one person over
// go-libp2p (TCP and QUIC): ciphertext only, as stored, and only with
// devices the ledger lists as valid nook/device delegates of the identity.
//
// Entry points: [New] makes a [Node] for an unlocked vault (no host, no
// socket until it is started, and never for a vault that was never
// paired); [Node.Start] listens and dials; [Node.SyncNow] pulls from every
// reachable peer and asks each to pull back; [Node.Pair] opens a pairing
// window and [Join] makes a new device of a vault from a pairing code.
// docs/sync.md has the protocol, the gate and the trust model.
//
// The protocol (/nook/sync/1.0.0) is request/response, one request per
// stream: Hello (heads per device) → GetWraps → GetEntries per device from
// this device's head → vault.Import → GetObjects for what the vault says is
// missing → vault.WriteObject → vault.Arrived; then Pull asks the peer to
// do the same the other way. One message type per file (msg_*.go), framed
// with a size cap per type (wire.go), sentinel errors mapped to wire codes
// (errors.go). Pairing is /nook/pair/1.0.0 (pair.go); the embedded chain's
// JSON-RPC travels as /nook/chain/1.0.0 (chain.go).
//
// This package owns the network side of replication and what a device
// remembers about its peers (vault.PutLocal). It must not read or write
// vault files itself (the vault's replication surface does), decide merge
// or conflict rules (the vault does), hold plaintext, or open any socket
// for a vault that was never paired.
package sync
