package ledgerclient

import (
	"fmt"
	"strings"
)

const bech32Chars = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// X25519FromAgeRecipient decodes an age X25519 recipient ("age1...", a
// bech32 string) to the raw 32-byte public key published as AttrX25519.
func X25519FromAgeRecipient(r string) ([]byte, error) {
	s := strings.ToLower(r)
	sep := strings.LastIndexByte(s, '1')
	if s != r && strings.ToUpper(r) != r || sep < 1 || s[:sep] != "age" || len(s)-sep-1 < 6 {
		return nil, fmt.Errorf("ledger: %q is not an age X25519 recipient", r)
	}
	var data []byte
	for _, c := range s[sep+1:] {
		i := strings.IndexRune(bech32Chars, c)
		if i < 0 {
			return nil, fmt.Errorf("ledger: %q is not an age X25519 recipient", r)
		}
		data = append(data, byte(i))
	}
	if bech32Polymod(append(hrpExpand(s[:sep]), data...)) != 1 {
		return nil, fmt.Errorf("ledger: %q: bad bech32 checksum", r)
	}
	// 5-bit groups to bytes, without the 6-group checksum.
	var out []byte
	acc, bits := 0, 0
	for _, v := range data[:len(data)-6] {
		acc = acc<<5 | int(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 || len(out) != 32 {
		return nil, fmt.Errorf("ledger: %q is not a 32-byte X25519 key", r)
	}
	return out, nil
}

func hrpExpand(hrp string) []byte {
	var b []byte
	for _, c := range hrp {
		b = append(b, byte(c>>5))
	}
	b = append(b, 0)
	for _, c := range hrp {
		b = append(b, byte(c&31))
	}
	return b
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
