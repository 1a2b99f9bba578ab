// Package ledgertest is the test harness for code that checks grants: a
// real in-process chain (go-ethereum's simulated backend, chain id 1337)
// with the registry deployed, a funded relayer that pays for every write,
// and an identity key with no ether.
//
// Entry points: [New], [NewKey], [Chain.AdjustTime]. Tests only.
package ledgertest
