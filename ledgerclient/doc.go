// Package ledgerclient is nook's view of the identity chain: identity keys
// and their did:ethr names, devices and plugin grants recorded as ERC-1056
// delegates on an EVM chain, a short cache of grant answers, the embedded
// dev chain used when no RPC URL is configured, and the rebuilding of an
// identity's state from the registry's events.
//
// Entry points:
//   - [New] binds a [Client] to any [Backend] (an ethclient.Client on a
//     JSON-RPC node, the embedded [DevChain], or ethclient/simulated in
//     tests); [Client.Deploy] installs the registry (contracts.Registry).
//   - [Client.Grant], [Client.Revoke] and [Client.Check] for plugin grants;
//     [Client.AddDevice] for devices; [Client.State] replays the events.
//   - [OpenDevChain] starts the embedded single-node chain under a data dir.
//
// Conventions (see design.md, "Identity, grants and the ledger"):
//   - An identity is an address, named did:ethr:<chainId>:<address> ([DID]).
//     Its key (secp256k1) is kept in a [KeyStore] (the vault) under
//     [SecretIdentity]; control moves with [Client.ChangeOwner].
//   - A device is a delegate of type keccak256("nook/device") ([DeviceType]);
//     its age X25519 recipient is published as the attribute
//     "did/pub/X25519/enc/base64" (raw 32-byte key) ([AttrX25519]).
//   - A plugin grant is a delegate of type keccak256("nook/plug/" + scope)
//     ([PlugType]) whose delegate is the plugin publisher's address and whose
//     validity is the grant's expiry. Since only the hash is on chain, the
//     first grant of a scope also publishes the attribute "nook/scope" with
//     the scope's name, so a fresh device can list grants by name.
//   - An app grant (`nook serve`'s apps, apps.go) is the same with the
//     delegate type keccak256("nook/app/" + scope) ([AppType]) and the
//     app's own address: [Client.GrantApp], [Client.RevokeApp],
//     [Client.CheckApp], [State.AppGrants].
//   - Writes are sent by a payer account. When the payer is not the
//     identity's owner (a device with no ether, the dev chain's funded
//     account), the owner signs and the payer relays the ...Signed variant.
//
// Check answers from chain state: the grant's validTo read at the head
// block, compared with the later of the local clock and the head block's
// time. Answers are cached per head block number; a new block (a grant, a
// revocation) misses the cache. When the chain does not answer, Check
// answers from the cache while the entry is younger than the cache TTL
// (default [DefaultCacheTTL]) and denies after that, saying so.
//
// This package owns no policy: it says whether a grant is valid, never
// whether a plugin should be allowed anything (that is package plugins). It
// does not import the vault (keys come through [KeyStore]) nor the TUI.
package ledgerclient
