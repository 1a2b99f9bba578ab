package ledgerclient

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

// X25519FromAgeRecipient decodes an age X25519 recipient ("age1...", a
// bech32 string) to the raw 32-byte public key published as AttrX25519.
func X25519FromAgeRecipient(r string) ([]byte, error) {
	hrp, groups, err := bech32.DecodeNoLimit(r)
	if err != nil || hrp != "age" {
		return nil, fmt.Errorf("ledger: %q is not an age X25519 recipient", r)
	}
	out, err := bech32.ConvertBits(groups, 5, 8, false)
	if err != nil || len(out) != 32 {
		return nil, fmt.Errorf("ledger: %q is not a 32-byte X25519 key", r)
	}
	return out, nil
}
