// Package appbackend is serve.Backend over the application layer
// (internal/app): the pool's engines by the names `nook models` lists, the
// app's vault handle for each request, app records in that vault, and app
// grants on the app's ledger. It is the only part of `nook serve` that
// knows internal/app; cmd/nook wires it.
//
// Entry point: [New]. It must not open anything itself: every part comes
// from the App, which loads models and opens the ledger on first need.
package appbackend
