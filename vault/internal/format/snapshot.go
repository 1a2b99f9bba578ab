package format

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// The index snapshot (cache/index.age) is a device's own cache: age
// ciphertext to the device's X25519 recipient of
//
//	"nook-index/3\n" | uvarint len(meta) | meta | index | HMAC-SHA256
//
// meta is the vault's merged state (package vault encodes it), index the
// search index (vault/indexcodec.go). The HMAC key is derived from the
// device's own identity ([DeviceKeys]), which only the passphrase unlocks:
// a snapshot planted by anyone else fails, and the vault is rebuilt from the
// signed log instead.
const snapshotMagic = "nook-index/3\n"

// WriteSnapshot writes the framed, MACed snapshot plaintext to w.
func WriteSnapshot(w io.Writer, macKey, meta, index []byte) error {
	mac := hmac.New(sha256.New, macKey)
	mw := io.MultiWriter(w, mac)
	if _, err := io.WriteString(mw, snapshotMagic); err != nil {
		return err
	}
	if _, err := mw.Write(binary.AppendUvarint(nil, uint64(len(meta)))); err != nil {
		return err
	}
	if _, err := mw.Write(meta); err != nil {
		return err
	}
	if _, err := mw.Write(index); err != nil {
		return err
	}
	_, err := w.Write(mac.Sum(nil))
	return err
}

// ReadSnapshot authenticates a snapshot plaintext and splits it into meta
// and index.
func ReadSnapshot(plain, macKey []byte) (meta, index []byte, err error) {
	if !bytes.HasPrefix(plain, []byte(snapshotMagic)) {
		return nil, nil, fmt.Errorf("%w: not an index snapshot of this version", ErrMalformed)
	}
	if len(plain) < len(snapshotMagic)+1+sha256.Size {
		return nil, nil, fmt.Errorf("%w: snapshot too short", ErrMalformed)
	}
	body, tag := plain[:len(plain)-sha256.Size], plain[len(plain)-sha256.Size:]
	mac := hmac.New(sha256.New, macKey)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), tag) {
		return nil, nil, fmt.Errorf("%w: snapshot MAC", ErrAuth)
	}
	rest := body[len(snapshotMagic):]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, nil, fmt.Errorf("%w: snapshot length", ErrMalformed)
	}
	return rest[k : k+int(n)], rest[k+int(n):], nil
}
