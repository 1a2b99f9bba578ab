package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// A key file (keys/<device>.age, written twice) holds one device's secrets
// wrapped with the passphrase:
//
//	"nook-key/2\n" | hex SHA-256 of the rest | "\n" | age scrypt ciphertext of JSON KeyFile
//
// The checksum tells a damaged file (ErrDamaged: use the other copy) from a
// wrong passphrase (ErrWrongPassphrase). It is not a MAC: a forger can
// recompute it, and then gets a wrong-passphrase answer, nothing more.
const keyFileMagic = "nook-key/2\n"

// KeyFile is a device's secrets: its secp256k1 key (which signs its log and
// is its identity on the ledger) and its X25519 identity (which receives the
// vault's key epochs, see [Wrap]).
type KeyFile struct {
	Format       int    `json:"format"`
	VaultID      string `json:"vault_id"`
	Device       string `json:"device"`        // address of DeviceKey
	DeviceKey    string `json:"device_key"`    // hex secp256k1 scalar
	DeviceX25519 string `json:"device_x25519"` // AGE-SECRET-KEY-1…
}

// KeyFileV1 is format 1's key file: the vault identity itself, with the
// device key, in a bare age scrypt file.
type KeyFileV1 struct {
	Format        int    `json:"format"`
	VaultID       string `json:"vault_id"`
	Device        string `json:"device"`
	VaultIdentity string `json:"vault_identity"`
	DeviceKey     string `json:"device_key"`
}

// SealKeyFile wraps kf with the passphrase at the scrypt work factor logN.
func SealKeyFile(kf *KeyFile, passphrase []byte, logN int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(logN)
	plain, err := json.Marshal(kf)
	if err != nil {
		return nil, err
	}
	ct, err := Seal(plain, r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(ct)
	out := make([]byte, 0, len(keyFileMagic)+65+len(ct))
	out = append(out, keyFileMagic...)
	out = append(out, hex.EncodeToString(sum[:])...)
	out = append(out, '\n')
	return append(out, ct...), nil
}

// KeyFileIntact reports whether data is a format-2 key file whose checksum
// matches (without the passphrase).
func KeyFileIntact(data []byte) bool {
	_, err := keyFileBody(data)
	return err == nil
}

func keyFileBody(data []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(data, []byte(keyFileMagic))
	if !ok || len(rest) < 65 || rest[64] != '\n' {
		return nil, fmt.Errorf("%w: not a format-2 key file", ErrDamaged)
	}
	want, err := hex.DecodeString(string(rest[:64]))
	ct := rest[65:]
	sum := sha256.Sum256(ct)
	if err != nil || !bytes.Equal(want, sum[:]) {
		return nil, fmt.Errorf("%w: checksum does not match", ErrDamaged)
	}
	return ct, nil
}

// OpenKeyFile unwraps a format-2 key file.
func OpenKeyFile(data, passphrase []byte) (*KeyFile, error) {
	ct, err := keyFileBody(data)
	if err != nil {
		return nil, err
	}
	plain, err := openScrypt(ct, passphrase)
	if err != nil {
		return nil, err
	}
	var kf KeyFile
	if err := json.Unmarshal(plain, &kf); err != nil || kf.Format != 2 || !IsHex(kf.VaultID, 32) || !ValidAddress(kf.Device) || !IsHex(kf.DeviceKey, 64) {
		return nil, fmt.Errorf("%w: bad key file contents", ErrDamaged)
	}
	if _, err := age.ParseX25519Identity(kf.DeviceX25519); err != nil {
		return nil, fmt.Errorf("%w: bad device identity", ErrDamaged)
	}
	return &kf, nil
}

// OpenKeyFileV1 unwraps a format-1 key file.
func OpenKeyFileV1(data, passphrase []byte) (*KeyFileV1, error) {
	plain, err := openScrypt(data, passphrase)
	if err != nil {
		return nil, err
	}
	var kf KeyFileV1
	if err := json.Unmarshal(plain, &kf); err != nil || kf.Format != 1 {
		return nil, fmt.Errorf("%w: bad key file contents", ErrDamaged)
	}
	return &kf, nil
}

func openScrypt(ct, passphrase []byte) ([]byte, error) {
	id, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(22)
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return plain, nil
}
