package format

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// X25519 unwrapping with the key prepared once.
//
// Every object is an age file with its own file key, wrapped to the
// epoch's X25519 recipient: opening one costs an X25519 exchange. age's
// own X25519Identity goes through golang.org/x/crypto/curve25519.X25519,
// which builds a crypto/ecdh private key per call, and building one
// computes its public key: a second scalar multiplication per object, a
// third of the CPU of a first sync. An Unwrapper holds the ecdh key and
// its public key, built once, and unwraps X25519 stanzas as the age
// specification (age-encryption.org/v1) defines them:
//
//	shared   = X25519(identity, ephemeral share)   (not all zeros)
//	wrap key = HKDF-SHA256(shared, salt = share || recipient,
//	                       info = "age-encryption.org/v1/X25519")
//	file key = ChaCha20-Poly1305(wrap key, nonce 0).Open(body)
//
// It opens exactly what age's identity opens (tested against it on every
// vector and on random files).
type Unwrapper struct {
	priv *ecdh.PrivateKey
	pub  []byte
}

const x25519Label = "age-encryption.org/v1/X25519"

var _ age.Identity = (*Unwrapper)(nil)

// NewUnwrapper prepares id for unwrapping.
func NewUnwrapper(id *age.X25519Identity) (*Unwrapper, error) {
	hrp, data, err := bech32Decode(id.String())
	if err != nil || hrp != "age-secret-key-" || len(data) != 32 {
		return nil, fmt.Errorf("age identity: not an X25519 secret key")
	}
	priv, err := ecdh.X25519().NewPrivateKey(data)
	if err != nil {
		return nil, err
	}
	return &Unwrapper{priv: priv, pub: priv.PublicKey().Bytes()}, nil
}

// Unwrap returns the file key from the first X25519 stanza wrapped to this
// identity; age.ErrIncorrectIdentity when none is.
func (u *Unwrapper) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != "X25519" {
			continue
		}
		if len(s.Args) != 1 {
			return nil, errors.New("invalid X25519 recipient block")
		}
		share, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
		if err != nil || len(share) != 32 {
			return nil, errors.New("invalid X25519 recipient block")
		}
		if len(s.Body) != 16+chacha20poly1305.Overhead {
			return nil, errors.New("invalid X25519 recipient block")
		}
		peer, err := ecdh.X25519().NewPublicKey(share)
		if err != nil {
			return nil, errors.New("invalid X25519 recipient block")
		}
		shared, err := u.priv.ECDH(peer)
		if err != nil { // a low-order share: all zeros
			return nil, errors.New("invalid X25519 recipient block")
		}
		salt := make([]byte, 0, 64)
		salt = append(append(salt, share...), u.pub...)
		key, err := hkdf.Key(sha256.New, shared, salt, x25519Label, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, err
		}
		fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
		if err != nil {
			continue // wrapped to another recipient
		}
		return fileKey, nil
	}
	return nil, age.ErrIncorrectIdentity
}

// bech32Decode decodes a bech32 string (BIP 173, any length: age's keys
// are longer than BIP 173's 90 characters) into its lowercase human part
// and its data converted from 5-bit groups to bytes.
func bech32Decode(s string) (string, []byte, error) {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return "", nil, errors.New("bech32: mixed case")
	}
	s = strings.ToLower(s)
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 || pos+7 > len(s) {
		return "", nil, errors.New("bech32: no separator")
	}
	hrp := s[:pos]
	var values []byte
	for _, c := range []byte(s[pos+1:]) {
		i := strings.IndexByte(charset, c)
		if i < 0 {
			return "", nil, errors.New("bech32: invalid character")
		}
		values = append(values, byte(i))
	}
	// Checksum: the polymod of the expanded human part and the data is 1.
	chk := uint32(1)
	poly := func(v byte) {
		gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		b := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (b>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	for _, c := range []byte(hrp) {
		if c < 33 || c > 126 {
			return "", nil, errors.New("bech32: invalid human part")
		}
		poly(c >> 5)
	}
	poly(0)
	for _, c := range []byte(hrp) {
		poly(c & 31)
	}
	for _, v := range values {
		poly(v)
	}
	if chk != 1 {
		return "", nil, errors.New("bech32: bad checksum")
	}
	values = values[:len(values)-6]
	// 5-bit groups to bytes; the padding must be zero and short.
	var out []byte
	acc, bits := uint32(0), 0
	for _, v := range values {
		acc = acc<<5 | uint32(v)
		bits += 5
		for bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		return "", nil, errors.New("bech32: bad padding")
	}
	return hrp, out, nil
}
