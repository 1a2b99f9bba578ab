// Package contracts holds nook's identity registry: Registry.sol, an
// ERC-1056 implementation, with its committed ABI (Registry.abi), bytecode
// (Registry.bin) and abigen bindings (registry.go).
//
// Entry points: [DeployRegistry] and [NewRegistry]. Regenerate everything
// with `make contracts` (pinned npm solc, see .ci/setup-solc); a test fails
// when the committed outputs differ from what the source compiles to.
package contracts

//go:generate go run ./internal/cmd/contractgen -dir .
