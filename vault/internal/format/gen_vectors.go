//go:build ignore

// gen_vectors writes testdata/vectors/*.txt: objects, log entries, key
// files, wraps and snapshots in format 2, from fixed keys and fixed
// randomness, so that running it again gives the same bytes and any change
// of format shows as a diff. vectors_test.go checks every file. The writer
// is TestVectorsAreCurrent in vectors_gen_test.go (testing/cryptotest
// fixes randomness only in a test binary); this program runs it in write
// mode.
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
