// Package testmodels finds the real small GGUF models that CI provides
// (../shared/models, see its SOURCES.md) and writes synthetic ones, for
// tests and benchmarks, and makes the prompts the speed benchmarks send
// (Prompt). No test downloads a model.
package testmodels
