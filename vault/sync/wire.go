package sync

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/network"
)

// The framing. Every message is one frame:
//
//	uvarint(n) | type (1 byte) | body (n-1 bytes)
//
// n is at most the type's cap (caps below); a frame over it, an unknown
// type or a body with bytes left over is a protocol violation and ends the
// stream. Bodies are fields in a fixed order: unsigned integers as
// uvarints, byte strings and strings as uvarint length + bytes, lists as
// uvarint count + elements, device addresses as their 20 bytes and entry
// hashes as their 32 bytes. Decoders are strict (canonical lengths, bounds
// on every count): they read bytes from any peer, so each has a fuzz
// target and test vectors (testdata/vectors).

type msgType byte

// Message types. Part of the protocol: never renumber one.
const (
	tError      msgType = 1
	tHello      msgType = 2
	tGetEntries msgType = 3
	tEntries    msgType = 4
	tGetObjects msgType = 5
	tObject     msgType = 6
	tGetWraps   msgType = 7
	tWraps      msgType = 8
	tPull       msgType = 9
	tDone       msgType = 10

	tPairStart     msgType = 16
	tPairChallenge msgType = 17
	tPairProof     msgType = 18
	tPairAccept    msgType = 19
	tPairDevice    msgType = 20
	tPairDone      msgType = 21
)

// Limits of the protocol.
const (
	// maxEntryData bounds one log entry as stored (vault.Import's own
	// bound: format.MaxEntry plus age's overhead).
	maxEntryData = 16<<20 + 4096
	// objectChunk is the most object bytes one Object frame carries.
	objectChunk = 1 << 20
	// maxObjectData bounds one object as stored: the vault's 1 GiB
	// plaintext bound plus age's overhead (16 bytes per 64 KiB).
	maxObjectData = 1<<30 + 1<<20
	// maxDevices bounds the heads one Hello or Done lists.
	maxDevices = 4096
	// maxNames bounds the object names or wrap names of one request.
	maxNames = 1024
	// maxWrapData bounds one key-epoch wrap (vault.AddWraps' bound).
	maxWrapData = 4096
	// maxAddrs bounds the multiaddrs one message carries.
	maxAddrs = 32
	// maxText bounds error messages and other short strings.
	maxText = 1024
)

// frameCap is the largest frame of each type.
var frameCap = map[msgType]int{
	tError:         4 << 10,
	tHello:         1 << 20,
	tGetEntries:    1 << 10,
	tEntries:       maxEntryData + 64<<10,
	tGetObjects:    128 << 10,
	tObject:        objectChunk + 1<<10,
	tGetWraps:      128 << 10,
	tWraps:         8 << 20,
	tPull:          16,
	tDone:          1 << 20,
	tPairStart:     1 << 10,
	tPairChallenge: 1 << 10,
	tPairProof:     1 << 10,
	tPairAccept:    64 << 10,
	tPairDevice:    64 << 10,
	tPairDone:      8 << 20,
}

// maxFrame is the largest frame of any type.
var maxFrame = func() int {
	m := 0
	for _, c := range frameCap {
		m = max(m, c)
	}
	return m
}()

// message is one frame's body.
type message interface {
	msgType() msgType
	encode(e *encoder)
	decode(d *decoder)
}

// newMessage returns an empty message of type t, or nil.
func newMessage(t msgType) message {
	switch t {
	case tError:
		return &Error{}
	case tHello:
		return &Hello{}
	case tGetEntries:
		return &GetEntries{}
	case tEntries:
		return &Entries{}
	case tGetObjects:
		return &GetObjects{}
	case tObject:
		return &Object{}
	case tGetWraps:
		return &GetWraps{}
	case tWraps:
		return &Wraps{}
	case tPull:
		return &Pull{}
	case tDone:
		return &Done{}
	case tPairStart:
		return &PairStart{}
	case tPairChallenge:
		return &PairChallenge{}
	case tPairProof:
		return &PairProof{}
	case tPairAccept:
		return &PairAccept{}
	case tPairDevice:
		return &PairDevice{}
	case tPairDone:
		return &PairDone{}
	}
	return nil
}

// appendFrame appends m's frame to b.
func appendFrame(b []byte, m message) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.b = append(e.b, byte(m.msgType()))
	m.encode(&e)
	b = binary.AppendUvarint(b, uint64(len(e.b)))
	return append(b, e.b...)
}

// decodeBody decodes a frame's type byte and body (the frame without its
// length prefix).
func decodeBody(body []byte) (message, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	t := msgType(body[0])
	m := newMessage(t)
	if m == nil {
		return nil, fmt.Errorf("%w: unknown message type %d", ErrProtocol, t)
	}
	if len(body) > frameCap[t] {
		return nil, fmt.Errorf("%w: %d-byte frame of type %d (cap %d)", ErrProtocol, len(body), t, frameCap[t])
	}
	d := decoder{b: body[1:]}
	m.decode(&d)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("%w: message type %d: %v", ErrProtocol, t, err)
	}
	return m, nil
}

// decodeFrame decodes one whole frame (length prefix included) and says
// how many bytes it used.
func decodeFrame(b []byte) (message, int, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, 0, fmt.Errorf("%w: bad frame length", ErrProtocol)
	}
	if n == 0 || n > uint64(maxFrame) {
		return nil, 0, fmt.Errorf("%w: %d-byte frame", ErrProtocol, n)
	}
	if uint64(len(b)-k) < n {
		return nil, 0, fmt.Errorf("%w: short frame", ErrProtocol)
	}
	m, err := decodeBody(b[k : k+int(n)])
	return m, k + int(n), err
}

// frameReader reads frames from a stream, reserving each frame's memory
// with the stream's resource scope before it is read (the resource
// manager refuses what the limits do not allow).
type frameReader struct {
	r     *bufio.Reader
	scope network.StreamScope // nil: no accounting (tests)
	held  int
}

func newFrameReader(r io.Reader, scope network.StreamScope) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), scope: scope}
}

// read returns the next message. The memory of the previous one is
// released: do not keep its byte slices past the next read (copy them).
func (fr *frameReader) read() (message, error) {
	fr.release()
	n, err := binary.ReadUvarint(fr.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: frame length: %v", ErrProtocol, err)
	}
	if n == 0 || n > uint64(maxFrame) {
		return nil, fmt.Errorf("%w: %d-byte frame", ErrProtocol, n)
	}
	t, err := fr.r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("%w: frame type: %v", ErrProtocol, err)
	}
	if c, ok := frameCap[msgType(t)]; !ok || n > uint64(c) {
		return nil, fmt.Errorf("%w: %d-byte frame of type %d", ErrProtocol, n, t)
	}
	if fr.scope != nil {
		if err := fr.scope.ReserveMemory(int(n), network.ReservationPriorityAlways); err != nil {
			return nil, fmt.Errorf("sync: reserve %d bytes for a frame: %w", n, err)
		}
		fr.held = int(n)
	}
	body := make([]byte, n)
	body[0] = t
	if _, err := io.ReadFull(fr.r, body[1:]); err != nil {
		return nil, fmt.Errorf("%w: frame body: %v", ErrProtocol, err)
	}
	m, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	if e, ok := m.(*Error); ok {
		return nil, e.err()
	}
	return m, nil
}

func (fr *frameReader) release() {
	if fr.held > 0 {
		fr.scope.ReleaseMemory(fr.held)
		fr.held = 0
	}
}

// encoder appends fields.
type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) bytes(p []byte)  { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) string(s string) { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// addr writes a device address (EIP-55 text) as its 20 bytes.
func (e *encoder) addr(a string) {
	c := common.HexToAddress(a)
	e.b = append(e.b, c[:]...)
}

// hash writes a hex SHA-256 as its 32 bytes (zeros for "").
func (e *encoder) hash(h string) {
	var b [32]byte
	hex.Decode(b[:], []byte(h))
	e.b = append(e.b, b[:]...)
}

func (e *encoder) strings(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

// decoder reads fields; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("bad varint")
		return 0
	}
	// Canonical: the shortest encoding only.
	if k != len(binary.AppendUvarint(nil, v)) {
		d.fail("non-canonical varint")
		return 0
	}
	d.b = d.b[k:]
	return v
}

// bytes returns a byte string of at most max bytes. It aliases the frame.
func (d *decoder) bytes(max int) []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.fail("%d-byte field (at most %d, %d left)", n, max, len(d.b))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string(max int) string { return string(d.bytes(max)) }

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bad bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// count reads a list length: at most max, and at most one element per
// remaining byte (every element takes at least one).
func (d *decoder) count(max int) int {
	n := d.uint()
	if d.err != nil {
		return 0
	}
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.fail("list of %d (at most %d)", n, max)
		return 0
	}
	return int(n)
}

func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return make([]byte, n)
	}
	if len(d.b) < n {
		d.fail("short field")
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// addr reads a device address as EIP-55 text.
func (d *decoder) addr() string {
	return common.BytesToAddress(d.fixed(20)).Hex()
}

func (d *decoder) hash() string { return hex.EncodeToString(d.fixed(32)) }

func (d *decoder) strings(maxN, maxLen int) []string {
	n := d.count(maxN)
	var out []string
	for range n {
		out = append(out, d.string(maxLen))
	}
	return out
}

func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d bytes left over", len(d.b))
	}
	return nil
}
