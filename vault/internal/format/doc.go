// Package format is the vault's encoding on disk and on the wire, format 2:
// objects, log entries, key files, epoch key wraps and the framing of the
// index snapshot. It holds no state and touches no files: package vault
// decides where bytes live, package vault/sync moves them between devices.
//
// Entry points:
//   - [EncodeObject]/[DecodeObject] frame an object's plaintext
//     ("nook-object/2 KIND EPOCH\n" + payload) and [ObjectName] names it
//     (HMAC-SHA256 under the epoch's name key, from [DeriveKeys]).
//   - [EncodeEntry]/[DecodeEntry] turn a log entry's [Body] into signed
//     plaintext and back. The signature is a recoverable secp256k1 signature,
//     so an entry is verified from its device's Ethereum address alone
//     ([AddressOf]), the same string the ledger names devices by.
//   - [Seal]/[Open] are age encryption to a vault epoch's X25519 recipient.
//   - [SealKeyFile]/[OpenKeyFile] wrap a device's secrets with the
//     passphrase (age scrypt) behind a checksum, so a damaged key file is
//     told apart from a wrong passphrase.
//   - [SealWrap]/[OpenWrap] carry a key epoch's identity to one device.
//   - [EncodeSnapshot]/[DecodeSnapshot] frame and authenticate the index
//     snapshot.
//
// Every decoder here reads untrusted bytes (a damaged disk, a hostile peer):
// each has a fuzz target and returns an error, never panics. Test vectors
// in testdata/vectors are written by gen_vectors.go with fixed randomness.
//
// This package must not read or write files, hold keys beyond a call, or
// know about the index, the engine or the network.
package format
