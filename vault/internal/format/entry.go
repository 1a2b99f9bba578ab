package format

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// A log entry's plaintext is JSON {"body": BODY, "sig": HEX}. BODY (a [Body])
// names the vault, the device (its address), the sequence number, the hash
// of the previous entry's plaintext (the chain), the key epoch sealing it,
// its hybrid logical clock, and the ops. sig is a 65-byte recoverable
// secp256k1 signature (recovery byte, R, S) over
// SHA-256("nook/v2/log-entry\x00" || BODY as stored): the public key, and so
// the device address, is recovered from it; no key needs to be known in
// advance.
//
// Segments. An entry chains onto the entry just before it, except one that
// starts a new segment: its skip field says how many entries before it it
// does not chain onto (they were damaged on the writing device's disk and
// could not be read back), and its prev is the hash of the entry before
// those. The skipped entries stay valid where another device holds them;
// the writer declares only that it no longer has them.

// MaxEntry bounds an entry's plaintext.
const MaxEntry = 16 << 20

// EntryFormat is the Body.Format of this package's entries.
const EntryFormat = 2

const entryDomain = "nook/v2/log-entry\x00"

// HLC is a hybrid logical clock: Unix milliseconds and a counter for events
// in the same millisecond. Every entry carries one; a device's clocks
// strictly increase along its log.
type HLC struct {
	Wall int64  `json:"wall"`
	N    uint32 `json:"n"`
}

// Less orders clocks.
func (h HLC) Less(o HLC) bool { return h.Wall < o.Wall || h.Wall == o.Wall && h.N < o.N }

// Body is the signed part of a log entry.
type Body struct {
	Format int    `json:"format"`
	Vault  string `json:"vault"`
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Prev   string `json:"prev"` // hex SHA-256 of the plaintext of entry Seq-1-Skip; "" when that is 0
	// Skip is the number of entries just before this one that it does not
	// chain onto (a new segment after damage); 0 for every ordinary entry.
	Skip  uint64 `json:"skip,omitempty"`
	Epoch int    `json:"epoch"`
	HLC   HLC    `json:"hlc"`
	Ops   []Op   `json:"ops"`
}

// Op is one change of the vault's state: put (NS, Key) → Ref (an object) or
// Val (a short inline value), or del (NS, Key). Base lists the ops (by
// [OpID]) whose value this one replaces: what the writing device saw as the
// key's current versions. Two ops that do not replace one another are
// concurrent; the merge keeps both (see package vault).
type Op struct {
	Op   string
	NS   string
	Key  string // any bytes; JSON carries non-UTF-8 keys as base64
	Ref  string
	Hash string
	Val  string
	Base []string
}

type opJSON struct {
	Op     string   `json:"op"`
	NS     string   `json:"ns"`
	Key    string   `json:"key,omitempty"`
	KeyB64 string   `json:"key_b64,omitempty"`
	Ref    string   `json:"ref,omitempty"`
	Hash   string   `json:"hash,omitempty"`
	Val    string   `json:"val,omitempty"`
	Base   []string `json:"base,omitempty"`
}

// MarshalJSON keeps keys byte for byte: a key that is not valid UTF-8
// (a file name on Linux can be any bytes) goes as key_b64.
func (o Op) MarshalJSON() ([]byte, error) {
	j := opJSON{Op: o.Op, NS: o.NS, Ref: o.Ref, Hash: o.Hash, Val: o.Val, Base: o.Base}
	if utf8.ValidString(o.Key) {
		j.Key = o.Key
	} else {
		j.KeyB64 = base64.StdEncoding.EncodeToString([]byte(o.Key))
	}
	return json.Marshal(j)
}

func (o *Op) UnmarshalJSON(b []byte) error {
	var j opJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = Op{Op: j.Op, NS: j.NS, Key: j.Key, Ref: j.Ref, Hash: j.Hash, Val: j.Val, Base: j.Base}
	if j.KeyB64 != "" {
		k, err := base64.StdEncoding.DecodeString(j.KeyB64)
		if err != nil || j.Key != "" || utf8.Valid(k) {
			return fmt.Errorf("bad key_b64")
		}
		o.Key = string(k)
	}
	return nil
}

// OpID names an op: "DEVICE/SEQ/INDEX" (the device's address, the entry's
// sequence number, the op's index in the entry).
func OpID(device string, seq uint64, idx int) string {
	return device + "/" + strconv.FormatUint(seq, 10) + "/" + strconv.Itoa(idx)
}

// ParseOpID splits an op id, checking its shape.
func ParseOpID(s string) (device string, seq uint64, idx int, err error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || !ValidAddress(parts[0]) {
		return "", 0, 0, fmt.Errorf("%w: op id %q", ErrMalformed, s)
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	i, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || seq == 0 || i < 0 || i >= maxOps ||
		strconv.FormatUint(seq, 10) != parts[1] || strconv.Itoa(i) != parts[2] {
		return "", 0, 0, fmt.Errorf("%w: op id %q", ErrMalformed, s)
	}
	return parts[0], seq, i, nil
}

const (
	maxOps   = 1 << 20
	maxKey   = 4096
	maxVal   = 4096
	maxBases = 256
)

type entryWire struct {
	Body json.RawMessage `json:"body"`
	Sig  string          `json:"sig"`
}

func entryHash(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(entryDomain))
	h.Write(body)
	return h.Sum(nil)
}

// EncodeEntry signs b with the device key and returns the entry plaintext.
// b.Device must be the key's address.
func EncodeEntry(b *Body, key *secp256k1.PrivateKey) ([]byte, error) {
	if AddressOf(key.PubKey()) != b.Device {
		return nil, fmt.Errorf("encode entry: device %s is not the signing key's address", b.Device)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("encode entry: %w", err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	sig := ecdsa.SignCompact(key, entryHash(raw), false)
	return json.Marshal(entryWire{Body: raw, Sig: hex.EncodeToString(sig)})
}

// DecodeEntry parses an entry's plaintext, recovers its signer and checks
// that the signer is the device the body names. It checks the entry alone;
// the caller checks the vault id, the sequence and the chain.
func DecodeEntry(plain []byte) (*Body, error) {
	if len(plain) > MaxEntry {
		return nil, fmt.Errorf("%w: entry of %d bytes", ErrMalformed, len(plain))
	}
	var w entryWire
	if err := json.Unmarshal(plain, &w); err != nil || len(w.Body) == 0 {
		return nil, fmt.Errorf("%w: not a log entry", ErrMalformed)
	}
	sig, err := hex.DecodeString(w.Sig)
	if err != nil || len(sig) != 65 {
		return nil, fmt.Errorf("%w: signature encoding", ErrBadSignature)
	}
	pub, _, err := ecdsa.RecoverCompact(sig, entryHash(w.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var b Body
	if err := json.Unmarshal(w.Body, &b); err != nil {
		return nil, fmt.Errorf("%w: entry body: %v", ErrMalformed, err)
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	if signer := AddressOf(pub); signer != b.Device {
		return nil, fmt.Errorf("%w: signed by %s, not by %s", ErrBadSignature, signer, b.Device)
	}
	return &b, nil
}

// ChainSeq is the sequence number of the entry b chains onto (whose hash
// is b.Prev): the one before it, or before the entries it skips; 0 for the
// first entry of a log.
func (b *Body) ChainSeq() uint64 { return b.Seq - 1 - b.Skip }

// EntryHash is the hash that chains entries: hex SHA-256 of the plaintext.
func EntryHash(plain []byte) string {
	s := sha256.Sum256(plain)
	return hex.EncodeToString(s[:])
}

func (b *Body) validate() error {
	bad := func(what string, args ...any) error {
		return fmt.Errorf("%w: entry: "+what, append([]any{ErrMalformed}, args...)...)
	}
	switch {
	case b.Format != EntryFormat:
		return bad("format %d", b.Format)
	case !IsHex(b.Vault, 32):
		return bad("vault id")
	case !ValidAddress(b.Device):
		return bad("device %q", b.Device)
	case b.Seq == 0:
		return bad("seq 0")
	case b.Skip >= b.Seq:
		return bad("skip %d at seq %d", b.Skip, b.Seq)
	case b.ChainSeq() == 0 && b.Prev != "" || b.ChainSeq() > 0 && !IsHex(b.Prev, 64):
		return bad("prev")
	case b.Epoch < 1 || b.Epoch > MaxEpoch:
		return bad("epoch %d", b.Epoch)
	case b.HLC.Wall <= 0:
		return bad("clock")
	case len(b.Ops) == 0 || len(b.Ops) > maxOps:
		return bad("%d ops", len(b.Ops))
	}
	for i, o := range b.Ops {
		if err := o.validate(); err != nil {
			return bad("op %d: %v", i, err)
		}
	}
	return nil
}

func (o *Op) validate() error {
	if !validKind([]byte(o.NS)) {
		return fmt.Errorf("namespace %q", o.NS)
	}
	if o.Key == "" || len(o.Key) > maxKey {
		return fmt.Errorf("key of %d bytes", len(o.Key))
	}
	switch o.Op {
	case "put":
		if (o.Ref == "") == (o.Val == "") || o.Ref != "" && !ValidObjectName(o.Ref) || len(o.Val) > maxVal {
			return fmt.Errorf("put needs one object name or one short value")
		}
	case "del":
		if o.Ref != "" || o.Val != "" {
			return fmt.Errorf("del with a value")
		}
	default:
		return fmt.Errorf("op %q", o.Op)
	}
	if len(o.Hash) > 256 {
		return fmt.Errorf("hash too long")
	}
	if len(o.Base) > maxBases {
		return fmt.Errorf("%d bases", len(o.Base))
	}
	for _, id := range o.Base {
		if _, _, _, err := ParseOpID(id); err != nil {
			return err
		}
	}
	return nil
}

// IsHex reports whether s is n lowercase hex digits.
func IsHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
