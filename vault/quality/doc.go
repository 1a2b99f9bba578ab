// Package quality holds the retrieval quality test that runs the vault
// against a real embedding model (stories260K through engine/llama).
//
// It is a package of its own so that the vault's own tests, like the vault,
// stay pure Go: only this test binary links llama.cpp. It has no API.
package quality
