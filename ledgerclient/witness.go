package ledgerclient

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// The witness. A vault cannot tell by itself that its folder was replaced
// by an older copy: every file of the copy verifies. A device therefore
// anchors its log's head on the chain, as an attribute of the identity
// (AttrHead, value: device address, sequence number, entry hash), and
// checks its head against the anchored one: a log that ends before the
// anchored entry, or holds another entry there, was rolled back.

// AttrHead is the attribute name of an anchored vault log head.
var AttrHead = bytes32("nook/head")

// Anchor is a device's vault log head as witnessed on chain.
type Anchor struct {
	Device common.Address
	Seq    uint64
	Hash   common.Hash // hex SHA-256 of the entry's plaintext, as the vault names it
	Block  uint64      // where it was anchored (0 before)
}

func (a Anchor) value() []byte {
	v := make([]byte, 0, 60)
	v = append(v, a.Device.Bytes()...)
	v = binary.BigEndian.AppendUint64(v, a.Seq)
	return append(v, a.Hash.Bytes()...)
}

func anchorOf(value []byte) (Anchor, bool) {
	if len(value) != 60 {
		return Anchor{}, false
	}
	return Anchor{Device: common.BytesToAddress(value[:20]), Seq: binary.BigEndian.Uint64(value[20:28]), Hash: common.BytesToHash(value[28:])}, true
}

// ParseEntryHash turns the vault's hex entry hash into an Anchor hash.
func ParseEntryHash(h string) (common.Hash, error) {
	b, err := hex.DecodeString(h)
	if len(h) != 64 || strings.ToLower(h) != h || err != nil {
		return common.Hash{}, fmt.Errorf("ledger: %q is not an entry hash", h)
	}
	return common.BytesToHash(b), nil
}

// AnchorHead publishes a device's head on identity, signed by owner.
func (c *Client) AnchorHead(ctx context.Context, owner *ecdsa.PrivateKey, identity common.Address, a Anchor) error {
	if _, err := c.SetAttribute(ctx, owner, identity, AttrHead, a.value(), Forever); err != nil {
		return fmt.Errorf("ledger: anchor the head of %s: %w", a.Device.Hex(), err)
	}
	return nil
}

// Anchors returns the latest anchored head of each device (the highest
// sequence number anchored).
func (s *State) Anchors() map[common.Address]Anchor {
	out := map[common.Address]Anchor{}
	for _, a := range s.Attributes {
		if a.Name != AttrHead || a.ValidTo.IsZero() {
			continue
		}
		an, ok := anchorOf(a.Value)
		if !ok {
			continue
		}
		an.Block = a.Block
		if cur, seen := out[an.Device]; !seen || an.Seq > cur.Seq || an.Seq == cur.Seq && an.Block > cur.Block {
			out[an.Device] = an
		}
	}
	return out
}
