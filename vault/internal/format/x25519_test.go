package format

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
)

func TestTheUnwrapperOpensWhatAgeOpensAndNothingElse(t *testing.T) {
	t.Parallel()
	mine, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	u, err := NewUnwrapper(mine)
	if err != nil {
		t.Fatal(err)
	}
	uo, _ := NewUnwrapper(other)
	for _, size := range []int{0, 1, 1000, 64 << 10, 200 << 10} {
		plain := make([]byte, size)
		rand.Read(plain)
		for _, rs := range [][]age.Recipient{
			{mine.Recipient()},
			{other.Recipient(), mine.Recipient()}, // ours is the second stanza
		} {
			var buf bytes.Buffer
			w, err := age.Encrypt(&buf, rs...)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(plain)
			w.Close()
			ct := buf.Bytes()
			want, err := Open(ct, 1<<30, mine)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Open(ct, 1<<30, u)
			if err != nil || !bytes.Equal(got, want) || !bytes.Equal(got, plain) {
				t.Fatalf("%d bytes to %d recipients: the unwrapper opened %d bytes, %v", size, len(rs), len(got), err)
			}
			if len(rs) == 1 {
				if _, err := Open(ct, 1<<30, uo); err == nil {
					t.Fatal("another identity's unwrapper opened a file not wrapped to it")
				}
			}
			// A wrapped file key altered by one bit opens for neither.
			r, err := age.Decrypt(bytes.NewReader(ct), &spy{u: u})
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, r)
		}
	}
}

// spy flips a bit of every stanza body before unwrapping: the unwrapper
// must refuse all of them (age.ErrIncorrectIdentity), then unwraps the
// intact ones.
type spy struct{ u *Unwrapper }

func (s *spy) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, st := range stanzas {
		bad := *st
		bad.Body = bytes.Clone(st.Body)
		bad.Body[0] ^= 1
		if _, err := s.u.Unwrap([]*age.Stanza{&bad}); !errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, errors.New("an altered wrapped key was not refused")
		}
	}
	return s.u.Unwrap(stanzas)
}

func TestTheUnwrapperReadsTheKeyAgeWrites(t *testing.T) {
	t.Parallel()
	for range 20 {
		id, _ := age.GenerateX25519Identity()
		u, err := NewUnwrapper(id)
		if err != nil {
			t.Fatal(err)
		}
		hrp, pub, err := bech32Decode(id.Recipient().String())
		if err != nil || hrp != "age" || !bytes.Equal(pub, u.pub) {
			t.Fatalf("the public key from the parsed secret differs from age's recipient %s: %v", id.Recipient(), err)
		}
	}
	for _, bad := range []string{"", "age1", "AGE-SECRET-KEY-1qqqq", "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gp"} {
		if _, _, err := bech32Decode(bad); err == nil {
			t.Errorf("bech32Decode(%q) accepted it", bad)
		}
	}
}
