// Package contractgen compiles Registry.sol with the pinned solc (npm
// solcjs, --standard-json) and generates its Go bindings with go-ethereum's
// abigen library. `make contracts` writes the outputs; the staleness test
// regenerates them in memory and compares bytes with the committed files.
package contractgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/abigen"
)

// Pinned toolchain and settings. EVMVersion is cancun: supported by the
// embedded dev chain, geth --dev and every public testnet.
const (
	SolcVersion = "0.8.37"
	EVMVersion  = "cancun"
	Source      = "Registry.sol"
	Contract    = "Registry"
)

// Outputs are the generated files, by name relative to ledgerclient/contracts.
var Outputs = []string{"Registry.abi", "Registry.bin", "registry.go"}

// Generate compiles dir/Registry.sol with solcjs (the path to the npm
// solcjs script) and returns the generated files keyed by Outputs.
func Generate(solcjs, dir string) (map[string][]byte, error) {
	src, err := os.ReadFile(filepath.Join(dir, Source))
	if err != nil {
		return nil, fmt.Errorf("contractgen: %w", err)
	}
	abiJSON, bin, err := compile(solcjs, src)
	if err != nil {
		return nil, err
	}
	code, err := abigen.Bind([]string{Contract}, []string{abiJSON}, []string{bin}, nil, "contracts", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("contractgen: abigen: %w", err)
	}
	return map[string][]byte{
		"Registry.abi": []byte(abiJSON + "\n"),
		"Registry.bin": []byte(bin + "\n"),
		"registry.go":  []byte(code),
	}, nil
}

type input struct {
	Language string                       `json:"language"`
	Sources  map[string]map[string]string `json:"sources"`
	Settings settings                     `json:"settings"`
}

type settings struct {
	Optimizer       optimizer                      `json:"optimizer"`
	EVMVersion      string                         `json:"evmVersion"`
	Metadata        map[string]string              `json:"metadata"`
	OutputSelection map[string]map[string][]string `json:"outputSelection"`
}

type optimizer struct {
	Enabled bool `json:"enabled"`
	Runs    int  `json:"runs"`
}

type output struct {
	Errors []struct {
		Severity         string `json:"severity"`
		FormattedMessage string `json:"formattedMessage"`
	} `json:"errors"`
	Contracts map[string]map[string]struct {
		ABI json.RawMessage `json:"abi"`
		EVM struct {
			Bytecode struct {
				Object string `json:"object"`
			} `json:"bytecode"`
		} `json:"evm"`
	} `json:"contracts"`
}

func compile(solcjs string, src []byte) (abiJSON, bin string, err error) {
	in := input{
		Language: "Solidity",
		Sources:  map[string]map[string]string{Source: {"content": string(src)}},
		Settings: settings{
			Optimizer:  optimizer{Enabled: true, Runs: 200},
			EVMVersion: EVMVersion,
			// No IPFS/swarm hash of the metadata in the bytecode: the bytes
			// then depend only on the source and these settings.
			Metadata:        map[string]string{"bytecodeHash": "none"},
			OutputSelection: map[string]map[string][]string{"*": {"*": {"abi", "evm.bytecode.object"}}},
		},
	}
	req, err := json.Marshal(in)
	if err != nil {
		return "", "", fmt.Errorf("contractgen: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(solcjs, "--standard-json")
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("contractgen: run %s: %w: %s", solcjs, err, strings.TrimSpace(stderr.String()))
	}
	// solcjs may print warnings before the JSON document.
	raw := stdout.Bytes()
	if i := bytes.IndexByte(raw, '{'); i > 0 {
		raw = raw[i:]
	}
	var out output
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", "", fmt.Errorf("contractgen: read solc output: %w", err)
	}
	var msgs []string
	for _, e := range out.Errors {
		if e.Severity == "error" {
			msgs = append(msgs, e.FormattedMessage)
		}
	}
	if len(msgs) > 0 {
		return "", "", fmt.Errorf("contractgen: solc: %s", strings.Join(msgs, "\n"))
	}
	c, ok := out.Contracts[Source][Contract]
	if !ok || c.EVM.Bytecode.Object == "" {
		return "", "", fmt.Errorf("contractgen: solc output has no %s:%s", Source, Contract)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, c.ABI, "", "  "); err != nil {
		return "", "", fmt.Errorf("contractgen: abi: %w", err)
	}
	return pretty.String(), c.EVM.Bytecode.Object, nil
}

// Solcjs is the project-local solcjs that .ci/setup-solc installs, found by
// walking up from dir to the module root.
func Solcjs(dir string) (string, error) {
	root, err := ModuleRoot(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "build", "node_modules", ".bin", "solcjs"), nil
}

// ModuleRoot is the folder above dir that holds go.mod.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("contractgen: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("contractgen: no go.mod above %s", dir)
		}
		d = up
	}
}
