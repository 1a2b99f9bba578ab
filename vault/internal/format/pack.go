package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Pack files. A batch of objects received from another device is stored as
// one file instead of one file per object (creating ten thousand files costs
// a file system far more than writing their bytes). A pack holds objects
// exactly as they are stored loose (their age ciphertext), so reading one
// from a pack and reading its loose file give the same bytes, and every
// object is still checked against its name when it is opened.
//
// Layout: the magic "nook-pack/1\n", a big-endian uint32 count, then count
// index records (the object's name as 32 raw bytes, a big-endian uint32
// size) in strictly ascending name order, then the objects' bytes in index
// order with nothing between or after them. The file is named after the
// SHA-256 of its whole content (PackName), so two devices or two processes
// that pack the same objects write the same file.
const (
	packMagic = "nook-pack/1\n"
	// MaxPackObjects bounds a pack's index (a received batch is hundreds).
	MaxPackObjects = 1 << 16
	// MaxPackObject bounds one object in a pack.
	MaxPackObject = 1 << 30
	packRecord    = 32 + 4
)

// PackObject is an object to pack: its name and its stored bytes.
type PackObject struct {
	Name string
	Data []byte
}

// PackEntry is an object's place in a pack.
type PackEntry struct {
	Name      string
	Off, Size int64
}

// PackHeaderSize is the size of a pack's magic, count and index for n
// objects: what must be read to parse its index.
func PackHeaderSize(n int) int64 { return int64(len(packMagic) + 4 + n*packRecord) }

// EncodePack packs objects (valid, distinct names; any order) and returns
// the pack's bytes.
func EncodePack(objs []PackObject) ([]byte, error) {
	if len(objs) == 0 || len(objs) > MaxPackObjects {
		return nil, fmt.Errorf("pack: %d objects (1 to %d)", len(objs), MaxPackObjects)
	}
	sorted := slices.Clone(objs)
	slices.SortFunc(sorted, func(a, b PackObject) int { return strings.Compare(a.Name, b.Name) })
	total := PackHeaderSize(len(sorted))
	for i, o := range sorted {
		if !ValidObjectName(o.Name) {
			return nil, fmt.Errorf("pack: %q is not an object name", o.Name)
		}
		if i > 0 && sorted[i-1].Name == o.Name {
			return nil, fmt.Errorf("pack: object %s twice", o.Name)
		}
		if len(o.Data) == 0 || len(o.Data) > MaxPackObject {
			return nil, fmt.Errorf("pack: object %s: %d bytes", o.Name, len(o.Data))
		}
		total += int64(len(o.Data))
	}
	b := make([]byte, 0, total)
	b = append(b, packMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(sorted)))
	for _, o := range sorted {
		raw, _ := hex.DecodeString(o.Name)
		b = append(b, raw...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(o.Data)))
	}
	for _, o := range sorted {
		b = append(b, o.Data...)
	}
	return b, nil
}

// PackName is the file name of a pack with these bytes.
func PackName(pack []byte) string {
	h := sha256.Sum256(pack)
	return hex.EncodeToString(h[:16]) + ".pack"
}

// ValidPackName reports whether s is a name PackName gives.
func ValidPackName(s string) bool {
	base, ok := bytes.CutSuffix([]byte(s), []byte(".pack"))
	return ok && IsHex(string(base), 32)
}

// PackCount reads the object count from the first bytes of a pack (at
// least len(magic)+4), so that the caller knows how much index to read.
func PackCount(head []byte) (int, error) {
	if len(head) < len(packMagic)+4 || string(head[:len(packMagic)]) != packMagic {
		return 0, fmt.Errorf("pack: %w: not a pack file", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(head[len(packMagic):])
	if n == 0 || n > MaxPackObjects {
		return 0, fmt.Errorf("pack: %w: %d objects", ErrMalformed, n)
	}
	return int(n), nil
}

// ParsePackIndex parses a pack's header (PackHeaderSize(count) bytes, or
// more) against the pack's total size, and returns where each object is.
// Names must ascend strictly and the objects must fill the file exactly.
func ParsePackIndex(header []byte, size int64) ([]PackEntry, error) {
	n, err := PackCount(header)
	if err != nil {
		return nil, err
	}
	hs := PackHeaderSize(n)
	if int64(len(header)) < hs || size < hs {
		return nil, fmt.Errorf("pack: %w: index of %d objects cut short", ErrMalformed, n)
	}
	out := make([]PackEntry, n)
	off := hs
	var prev []byte
	for i := range n {
		rec := header[len(packMagic)+4+i*packRecord:][:packRecord]
		name := rec[:32]
		if prev != nil && bytes.Compare(prev, name) >= 0 {
			return nil, fmt.Errorf("pack: %w: index not in ascending order at %d", ErrMalformed, i)
		}
		prev = name
		sz := int64(binary.BigEndian.Uint32(rec[32:]))
		if sz == 0 || sz > MaxPackObject || sz > size-off {
			return nil, fmt.Errorf("pack: %w: object %d of %d bytes overruns the file", ErrMalformed, i, sz)
		}
		out[i] = PackEntry{Name: hex.EncodeToString(name), Off: off, Size: sz}
		off += sz
	}
	if off != size {
		return nil, fmt.Errorf("pack: %w: %d bytes after the last object", ErrMalformed, size-off)
	}
	return out, nil
}
