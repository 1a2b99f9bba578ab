//go:build race

package vault

// raceEnabled: the race detector slows the kill-point children tenfold.
const raceEnabled = true
