package ledgerclient

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Sign signs h for a ...Signed registry call: v is 27 or 28.
func Sign(h common.Hash, key *ecdsa.PrivateKey) (v uint8, r, s [32]byte, err error) {
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return 0, r, s, fmt.Errorf("sign: %w", err)
	}
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	return sig[64] + 27, r, s, nil
}

func crypto256(b []byte) common.Hash { return crypto.Keccak256Hash(b) }
