package main

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestLedgerCommandsGrantListAndRevokeOnTheEmbeddedChain(t *testing.T) {
	env := map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": "correct horse"}
	plugin := common.HexToAddress("0x00000000000000000000000000000000000a11ce").Hex()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "created vault"},
		{[]string{"id", "create"}, "did:ethr:1337:0x"},
		{[]string{"id", "devices"}, "(this device)"},
		{[]string{"plug", "grant", plugin, "vault:read", "--for", "30d"}, "granted vault:read to " + plugin},
		{[]string{"plug", "ls"}, "vault:read"},
		{[]string{"plug", "revoke", plugin, "vault:read"}, "revoked vault:read"},
		{[]string{"plug", "ls", "--all"}, "ended"},
		{[]string{"ledger", "status"}, "answers   yes"},
	}
	for _, s := range steps {
		code, out, errs := runNook(t, env, "", s.args...)
		if code != 0 || !strings.Contains(out, s.want) {
			t.Fatalf("nook %s: exit %d, stdout %q, stderr %q; want %q in stdout", strings.Join(s.args, " "), code, out, errs, s.want)
		}
	}
	// The chain and the grant history survive between commands (processes).
	if _, out, _ := runNook(t, env, "", "plug", "ls"); strings.Contains(out, "vault:read") {
		t.Fatalf("a revoked grant is listed as active:\n%s", out)
	}
}

func TestAnUnreachableLedgerIsOneErrorLineWithAHint(t *testing.T) {
	env := map[string]string{"NOOK_HOME": t.TempDir(), "NOOK_PASSPHRASE": "pw", "NOOK_LEDGER_RPC": "http://127.0.0.1:1"}
	if code, _, errs := runNook(t, env, "", "init"); code != 0 {
		t.Fatal(errs)
	}
	for _, args := range [][]string{{"ledger", "status"}, {"plug", "ls"}} {
		code, out, errs := runNook(t, env, "", args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "nook: error: ") || !strings.HasPrefix(lines[1], "nook: hint: ") || !strings.Contains(lines[0], "unreachable") {
			t.Fatalf("nook %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
}
