package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// Object kinds.
const (
	kindDoc     = "doc"
	kindSession = "session"
	kindMemory  = "memory"
	kindSecret  = "secret"
)

const objectMagic = "nook-object/1 "

// maxObject bounds what one object may decrypt to (a document with its
// chunks and vectors).
const maxObject = 1 << 30

// encodeObject frames a payload: "nook-object/1 KIND\n" then the payload.
func encodeObject(kind string, payload []byte) []byte {
	b := make([]byte, 0, len(objectMagic)+len(kind)+1+len(payload))
	b = append(b, objectMagic...)
	b = append(b, kind...)
	b = append(b, '\n')
	return append(b, payload...)
}

// decodeObject splits a decrypted object into its kind and payload.
func decodeObject(plain []byte) (kind string, payload []byte, err error) {
	rest, ok := bytes.CutPrefix(plain, []byte(objectMagic))
	if !ok {
		return "", nil, errors.New("not a nook object")
	}
	k, payload, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok || len(k) == 0 || len(k) > 16 {
		return "", nil, errors.New("bad object kind")
	}
	for _, c := range k {
		if c < 'a' || c > 'z' {
			return "", nil, errors.New("bad object kind")
		}
	}
	return string(k), payload, nil
}

// objectName is HMAC-SHA256(name key, plaintext), hex: equal contents share
// one object, and the name reveals nothing without the key.
func objectName(key, plain []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(plain)
	return hex.EncodeToString(m.Sum(nil))
}

func validObjectName(name string) bool {
	if len(name) != 64 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

func (v *Vault) objectPath(name string) string {
	return filepath.Join(v.dir, "objects", name[:2], name[2:])
}

// encrypt seals plain to the vault's X25519 recipient.
func (v *Vault) encrypt(plain []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(plain) + 256)
	w, err := age.Encrypt(&buf, v.recipient)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decrypt opens age ciphertext sealed to the vault identity.
func (v *Vault) decrypt(data []byte, limit int64) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), v.identity)
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(plain)) > limit {
		return nil, errors.New("too large")
	}
	return plain, nil
}

// putObject stores an object and returns its name. An object that already
// exists is not rewritten.
func (v *Vault) putObject(kind string, payload []byte) (string, error) {
	plain := encodeObject(kind, payload)
	name := objectName(v.keys.name, plain)
	path := v.objectPath(name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	ct, err := v.encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("vault: encrypt object: %w", err)
	}
	if err := writeFileAtomic(path, ct); err != nil {
		return "", fmt.Errorf("vault: write %s: %w", path, err)
	}
	return name, nil
}

// getObject reads, decrypts and authenticates an object. want is the kind
// the caller expects.
func (v *Vault) getObject(name, want string) ([]byte, error) {
	if !validObjectName(name) {
		return nil, fmt.Errorf("vault: object %q: %w", name, ErrCorrupt)
	}
	path := v.objectPath(name)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("vault: object %s: missing: %w", path, ErrCorrupt)
		}
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	payload, err := v.openObject(name, want, data)
	if err != nil {
		return nil, fmt.Errorf("vault: object %s: %w", path, err)
	}
	return payload, nil
}

// openObject is the decoder: ciphertext → authenticated payload.
func (v *Vault) openObject(name, want string, data []byte) ([]byte, error) {
	plain, err := v.decrypt(data, maxObject)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if !hmac.Equal([]byte(objectName(v.keys.name, plain)), []byte(name)) {
		return nil, fmt.Errorf("%w: contents do not match the name", ErrCorrupt)
	}
	kind, payload, err := decodeObject(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if kind != want {
		return nil, fmt.Errorf("%w: a %s object where a %s was expected", ErrCorrupt, kind, want)
	}
	return payload, nil
}
