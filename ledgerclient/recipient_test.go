package ledgerclient_test

import (
	"bytes"
	"testing"

	"filippo.io/age"

	"github.com/nook-ai/nook/ledgerclient"
)

func TestAgeRecipientDecodesToItsX25519Key(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ledgerclient.X25519FromAgeRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("key %x", key)
	}
	s := id.Recipient().String()
	bad := s[:len(s)-1] + string("qp"[(len(s))%2])
	if bad == s {
		bad = s[:len(s)-1] + "z"
	}
	for _, in := range []string{"", "age1", "npub1qqqqqq", bad} {
		if _, err := ledgerclient.X25519FromAgeRecipient(in); err == nil {
			t.Errorf("%q decoded, want an error", in)
		}
	}
}
