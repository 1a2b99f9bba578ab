package format

import (
	"encoding/hex"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/sha3"
)

// AddressOf is the Ethereum address of a secp256k1 public key in its
// EIP-55 checksummed form ("0xAbC…"): the last 20 bytes of Keccak-256 of
// the uncompressed key without its 0x04 prefix. The ledger names devices by
// this address, and so does the vault (log/<address>/).
func AddressOf(pub *secp256k1.PublicKey) string {
	h := keccak(pub.SerializeUncompressed()[1:])
	return checksum(hex.EncodeToString(h[12:]))
}

// ValidAddress reports whether s is an address in the exact form AddressOf
// writes (checksummed), so that one device has one spelling.
func ValidAddress(s string) bool {
	if len(s) != 42 || !strings.HasPrefix(s, "0x") {
		return false
	}
	if _, err := hex.DecodeString(s[2:]); err != nil {
		return false
	}
	return checksum(strings.ToLower(s[2:])) == s
}

// checksum applies EIP-55 to 40 lowercase hex digits.
func checksum(lower string) string {
	h := keccak([]byte(lower))
	out := []byte("0x" + lower)
	for i := range 40 {
		c := lower[i]
		if c < 'a' {
			continue
		}
		nib := h[i/2]
		if i%2 == 0 {
			nib >>= 4
		}
		if nib&0xf >= 8 {
			out[2+i] = c - 32
		}
	}
	return string(out)
}

func keccak(b []byte) []byte {
	k := sha3.NewLegacyKeccak256()
	k.Write(b)
	return k.Sum(nil)
}
