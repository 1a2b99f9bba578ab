//go:build !linux

package sandbox

import (
	"os/exec"
	"runtime"
)

// Current is the protection this system gives: none.
func Current() Protection {
	return Protection{Kind: "none", Why: runtime.GOOS + " has no sandbox nook uses; the plugin runs with your rights and a minimal environment"}
}

// Command runs the program directly: nothing confines it here.
func Command(spec Spec, args ...string) (*exec.Cmd, error) {
	return exec.Command(spec.Exec, args...), nil
}

// SystemRead is empty: nothing is confined here.
func SystemRead() []string { return nil }
