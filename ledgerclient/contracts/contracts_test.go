package contracts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nook-ai/nook/ledgerclient/contracts/internal/contractgen"
)

// TestCommittedOutputsMatchTheSource recompiles Registry.sol with the pinned
// solc and regenerates the bindings, then compares bytes with the committed
// files: editing the contract without `make contracts` fails here.
func TestCommittedOutputsMatchTheSource(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: compiles the contract with solcjs")
	}
	solcjs, err := contractgen.Solcjs(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(solcjs); err != nil {
		// A fresh machine: run the project's own installer (npm, pinned).
		root, _ := contractgen.ModuleRoot(".")
		cmd := exec.Command("bash", filepath.Join(root, ".ci", "setup-solc"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf(".ci/setup-solc: %v\n%s", err, out)
		}
	}
	files, err := contractgen.Generate(solcjs, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range contractgen.Outputs {
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read committed %s: %v", name, err)
		}
		if !bytes.Equal(committed, files[name]) {
			t.Errorf("%s is stale: run `make contracts` and commit the result", name)
		}
	}
}
