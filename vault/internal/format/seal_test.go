package format

import (
	"bytes"
	"crypto/rand"
	"testing"

	"filippo.io/age"
)

// Seal sizes its buffer with SealedSize (a sealed index snapshot is tens
// of MB: a short estimate means copying it again), and SealTo writes the
// same kind of file as Seal: both open with the identity.
func TestSealedSizeBoundsWhatSealAndSealToWrite(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 1 << 20, 3<<20 + 5} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct, err := Seal(plain, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) > SealedSize(n, 1) {
			t.Errorf("%d bytes sealed to %d, above SealedSize's %d", n, len(ct), SealedSize(n, 1))
		}
		var buf bytes.Buffer
		w, err := SealTo(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		// Written in pieces, as WriteSnapshot writes.
		for p := plain; len(p) > 0; {
			k := min(len(p), 1000)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != len(ct) {
			t.Errorf("%d bytes: SealTo wrote %d bytes, Seal %d", n, buf.Len(), len(ct))
		}
		for name, c := range map[string][]byte{"Seal": ct, "SealTo": buf.Bytes()} {
			got, err := Open(c, int64(n), id)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%d bytes through %s do not open to the plaintext: %v", n, name, err)
			}
		}
	}
}
