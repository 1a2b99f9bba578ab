//go:build ignore

// gen_vectors writes testdata/vectors/*.txt: one frame of every message
// type with fixed contents. wire_test.go's TestVectorsAreCurrent writes
// them in this mode and checks them otherwise.
//
//	go run gen_vectors.go
package main

import (
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestVectorsAreCurrent$", ".", "-args", "-write-vectors")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Exit(1)
	}
}
