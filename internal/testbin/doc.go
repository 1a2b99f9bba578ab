// Package testbin builds Go programs for tests that run them as real
// processes (the nook binary, example plugins), once per test process and
// package. Entry point: [Build]. Tests only.
package testbin
