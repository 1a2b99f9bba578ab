// Command contractgen regenerates ledgerclient/contracts (ABI, bytecode,
// Go bindings) from Registry.sol; `make contracts` runs it after
// .ci/setup-solc has installed the pinned solc.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nook-ai/nook/ledgerclient/contracts/internal/contractgen"
)

func main() {
	dir := flag.String("dir", "ledgerclient/contracts", "folder holding Registry.sol")
	solcjs := flag.String("solcjs", "", "path to solcjs (default: build/node_modules/.bin/solcjs)")
	flag.Parse()
	if *solcjs == "" {
		s, err := contractgen.Solcjs(*dir)
		if err != nil {
			fail(err)
		}
		*solcjs = s
	}
	files, err := contractgen.Generate(*solcjs, *dir)
	if err != nil {
		fail(err)
	}
	for _, name := range contractgen.Outputs {
		if err := os.WriteFile(filepath.Join(*dir, name), files[name], 0o644); err != nil {
			fail(err)
		}
		fmt.Println("contractgen: wrote", filepath.Join(*dir, name))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
