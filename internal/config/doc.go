// Package config is the one place nook reads its settings: the TOML file,
// then the environment (NOOK_*), then flags applied by cmd/nook.
//
// Entry points: [Load] and [Config.Save]. Nothing else in nook reads NOOK_*
// variables or config files; packages take the values they need as options.
package config
