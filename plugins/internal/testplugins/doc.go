// Package testplugins holds plugins that misbehave on purpose, for the
// host's tests: see misbehave.
package testplugins
