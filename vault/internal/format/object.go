package format

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"filippo.io/age"
)

// Object plaintext framing. Format 2: "nook-object/2 KIND EPOCH\n" then the
// payload; KIND is 1–16 lowercase letters, EPOCH the decimal key epoch that
// sealed it. Format-1 objects ("nook-object/1 KIND\n") stay valid as they
// are: they were all sealed by the vault's first key, epoch 1.
const (
	objectMagic   = "nook-object/2 "
	objectMagicV1 = "nook-object/1 "
	// MaxEpoch bounds key epochs (one per removed device).
	MaxEpoch = 1 << 20
)

// EncodeObject frames payload as an object of kind sealed in epoch.
func EncodeObject(kind string, epoch int, payload []byte) []byte {
	e := strconv.Itoa(epoch)
	b := make([]byte, 0, len(objectMagic)+len(kind)+len(e)+2+len(payload))
	b = append(b, objectMagic...)
	b = append(b, kind...)
	b = append(b, ' ')
	b = append(b, e...)
	b = append(b, '\n')
	return append(b, payload...)
}

// DecodeObject splits an object's plaintext into kind, epoch and payload.
func DecodeObject(plain []byte) (kind string, epoch int, payload []byte, err error) {
	if rest, ok := bytes.CutPrefix(plain, []byte(objectMagicV1)); ok {
		k, payload, ok := bytes.Cut(rest, []byte{'\n'})
		if !ok || !validKind(k) {
			return "", 0, nil, fmt.Errorf("%w: bad object kind", ErrMalformed)
		}
		return string(k), 1, payload, nil
	}
	rest, ok := bytes.CutPrefix(plain, []byte(objectMagic))
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: not a nook object", ErrMalformed)
	}
	line, payload, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: no object header", ErrMalformed)
	}
	k, es, ok := bytes.Cut(line, []byte{' '})
	if !ok || !validKind(k) {
		return "", 0, nil, fmt.Errorf("%w: bad object kind", ErrMalformed)
	}
	epoch, err = parseEpoch(string(es))
	if err != nil {
		return "", 0, nil, err
	}
	return string(k), epoch, payload, nil
}

func validKind(k []byte) bool {
	if len(k) == 0 || len(k) > 16 {
		return false
	}
	for _, c := range k {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// parseEpoch reads a canonical decimal epoch in [1, MaxEpoch].
func parseEpoch(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxEpoch || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%w: bad key epoch %q", ErrMalformed, s)
	}
	return n, nil
}

// ObjectName is HMAC-SHA256(name key, plaintext) in lowercase hex: equal
// contents in one epoch share one object, and a name reveals nothing
// without the key. It also authenticates the object: anyone can encrypt to
// the vault's public recipient, only a holder of the identity can name.
func ObjectName(nameKey, plain []byte) string {
	m := hmac.New(sha256.New, nameKey)
	m.Write(plain)
	return hex.EncodeToString(m.Sum(nil))
}

// ValidObjectName reports whether s has the shape of an object name.
func ValidObjectName(s string) bool { return IsHex(s, 64) }

// Keys are the secrets derived from one epoch's identity; every device
// holding the epoch derives the same.
type Keys struct {
	Name []byte // HMAC key naming objects
	MAC  []byte // HMAC key authenticating the index snapshot
}

// DeriveKeys derives an epoch's keys from its identity (HKDF-SHA256; the
// labels are format 1's, so a migrated vault's objects keep their names).
func DeriveKeys(id *age.X25519Identity) (Keys, error) {
	secret := []byte(id.String())
	name, err := hkdf.Key(sha256.New, secret, nil, "nook/v1/object-name", 32)
	if err != nil {
		return Keys{}, err
	}
	mac, err := hkdf.Key(sha256.New, secret, nil, "nook/v1/index-mac", 32)
	if err != nil {
		return Keys{}, err
	}
	return Keys{Name: name, MAC: mac}, nil
}

// DeviceKeys derives a device's own keys from its X25519 identity: MAC
// authenticates the device's index snapshot, which no other device reads.
func DeviceKeys(id *age.X25519Identity) (Keys, error) {
	mac, err := hkdf.Key(sha256.New, []byte(id.String()), nil, "nook/v2/device-snapshot-mac", 32)
	if err != nil {
		return Keys{}, err
	}
	return Keys{MAC: mac}, nil
}

// VerifyObject checks that plain is named name under one of the keys that
// keysOf returns for its epoch (several devices may have started the same
// epoch number at once, see package vault), and returns its kind, epoch and
// payload.
func VerifyObject(name string, plain []byte, keysOf func(epoch int) []Keys) (kind string, epoch int, payload []byte, err error) {
	kind, epoch, payload, err = DecodeObject(plain)
	if err != nil {
		return "", 0, nil, err
	}
	ks := keysOf(epoch)
	if len(ks) == 0 {
		return "", 0, nil, fmt.Errorf("%w: object of key epoch %d, which this device does not hold", ErrAuth, epoch)
	}
	for _, k := range ks {
		if hmac.Equal([]byte(ObjectName(k.Name, plain)), []byte(strings.ToLower(name))) {
			return kind, epoch, payload, nil
		}
	}
	return "", 0, nil, fmt.Errorf("%w: contents do not match the name", ErrAuth)
}
