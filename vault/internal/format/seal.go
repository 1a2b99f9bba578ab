package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// Seal encrypts plain to the recipients (age, X25519). The result is a
// standard age file: `age -d -i KEY` opens it.
func Seal(plain []byte, to ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(SealedSize(len(plain), len(to)))
	w, err := age.Encrypt(&buf, to...)
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

// SealTo is Seal streaming into w (a large file is encrypted as it is
// written, never held whole twice): Close the writer it returns to finish
// the last chunk.
func SealTo(w io.Writer, to ...age.Recipient) (io.WriteCloser, error) {
	return age.Encrypt(w, to...)
}

// SealedSize is a bound on the size of Seal's output for plaintext of n
// bytes to r recipients: the header (about 200 bytes for one X25519
// stanza) plus a 16-byte tag for each 64 KiB chunk of payload.
func SealedSize(n, r int) int {
	return 128 + 192*max(r, 1) + n + (n/(64<<10)+1)*16
}

// Open decrypts an age file with any of ids, refusing plaintext longer
// than limit.
func Open(data []byte, limit int64, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(data), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("%w: sealed to a key this device does not hold", ErrAuth)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// The plaintext is a little shorter than the ciphertext: one allocation.
	buf := bytes.NewBuffer(make([]byte, 0, min(int64(len(data)), limit)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrMalformed, limit)
	}
	return buf.Bytes(), nil
}
