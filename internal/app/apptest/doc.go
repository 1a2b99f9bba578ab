// Package apptest is the test harness for code built on internal/app: a
// fake Ollama registry that counts its requests and serves models from
// memory in slow pieces (so pulls report progress), a config under a fresh
// home that reaches nothing outside the test, and a vault made with a low
// scrypt work factor.
//
// Entry points: [NewRegistry], [Config], [InitVault]. Tests only.
package apptest
