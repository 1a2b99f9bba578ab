package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// Errors [Inspect] wraps; callers branch with errors.Is.
var (
	ErrNotGGUF      = errors.New("not a GGUF file")
	ErrTruncated    = errors.New("file is truncated")
	ErrCorrupt      = errors.New("file is corrupt")
	ErrUnsupported  = errors.New("unsupported model")
	ErrNoWeights    = errors.New("file has no weights (vocabulary only)")
	errValueTooLong = errors.New("value longer than the file")
)

// Value types of GGUF metadata.
const (
	tUint8 uint32 = iota
	tInt8
	tUint16
	tInt16
	tUint32
	tInt32
	tFloat32
	tBool
	tString
	tArray
	tUint64
	tInt64
	tFloat64
)

// Array is a GGUF array value.
type Array struct {
	Type   uint32 // element type
	Values any    // []string, []int32, []float32, ... by Type
}

// Len is the number of elements.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []string:
		return len(v)
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// Tensor is one entry of the tensor table.
type Tensor struct {
	Name   string
	Shape  []uint64 // ne[0] first (the row length)
	Type   TensorType
	Offset uint64 // relative to the data section
	Size   uint64 // bytes
}

// Elements is the product of Shape.
func (t Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a validated GGUF header.
type File struct {
	Path       string
	Version    uint32
	KV         map[string]any
	Tensors    []Tensor
	DataOffset uint64 // start of the tensor data, aligned
	Size       uint64 // file size
}

// Architecture is general.architecture.
func (f *File) Architecture() string { s, _ := f.KV["general.architecture"].(string); return s }

// String returns a string value or "".
func (f *File) String(key string) string { s, _ := f.KV[key].(string); return s }

// Uint returns an unsigned integer value of any width, or def.
func (f *File) Uint(key string, def uint64) uint64 {
	switch v := f.KV[key].(type) {
	case uint8:
		return uint64(v)
	case uint16:
		return uint64(v)
	case uint32:
		return uint64(v)
	case uint64:
		return v
	case int32:
		if v >= 0 {
			return uint64(v)
		}
	case int64:
		if v >= 0 {
			return uint64(v)
		}
	}
	return def
}

// ArchUint returns "<arch>.<key>" as an unsigned integer, or def.
func (f *File) ArchUint(key string, def uint64) uint64 {
	return f.Uint(f.Architecture()+"."+key, def)
}

// ContextLength is the model's trained context length (0 if absent).
func (f *File) ContextLength() int { return int(f.ArchUint("context_length", 0)) }

// ChatTemplate is tokenizer.chat_template ("" if absent).
func (f *File) ChatTemplate() string { return f.String("tokenizer.chat_template") }

// Parameters is the total number of weights.
func (f *File) Parameters() uint64 {
	var n uint64
	for _, t := range f.Tensors {
		n += t.Elements()
	}
	return n
}

// Quantization names the file type, or the most common weight type.
func (f *File) Quantization() string {
	if v, ok := f.KV["general.file_type"]; ok {
		if u, ok := v.(uint32); ok {
			return FileType(u)
		}
	}
	count := map[TensorType]uint64{}
	for _, t := range f.Tensors {
		if len(t.Shape) > 1 {
			count[t.Type] += t.Elements()
		}
	}
	best, bestN := TensorType(0), uint64(0)
	for t, n := range count {
		if n > bestN {
			best, bestN = t, n
		}
	}
	return best.String()
}

// Options for [Inspect].
type Options struct {
	// AllowNoWeights accepts vocabulary-only files (tokenizer tests).
	AllowNoWeights bool
}

// Inspect reads and validates the GGUF file at path without loading weights.
// Every error names the path and wraps one of the sentinel errors above, or
// an *os.PathError for a missing file.
func Inspect(path string, opts Options) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("gguf: %s: %w: it is a folder", path, ErrNotGGUF)
	}
	f, err := Decode(fh, uint64(st.Size()))
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f.Path = path
	if err := f.check(opts); err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	return f, nil
}

func (f *File) check(opts Options) error {
	arch := f.Architecture()
	if arch == "" {
		return fmt.Errorf("%w: no general.architecture", ErrCorrupt)
	}
	if !architectures[arch] {
		return fmt.Errorf("%w: architecture %q is not known to this build of llama.cpp", ErrUnsupported, arch)
	}
	if len(f.Tensors) == 0 && !opts.AllowNoWeights {
		return ErrNoWeights
	}
	return nil
}

type reader struct {
	r    *bufio.Reader
	pos  uint64
	size uint64
}

func (r *reader) read(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.pos += uint64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTruncated
		}
		return err
	}
	return nil
}

func (r *reader) u8() (uint8, error) {
	var b [1]byte
	err := r.read(b[:])
	return b[0], err
}

func (r *reader) u16() (uint16, error) {
	var b [2]byte
	err := r.read(b[:])
	return binary.LittleEndian.Uint16(b[:]), err
}

func (r *reader) u32() (uint32, error) {
	var b [4]byte
	err := r.read(b[:])
	return binary.LittleEndian.Uint32(b[:]), err
}

func (r *reader) u64() (uint64, error) {
	var b [8]byte
	err := r.read(b[:])
	return binary.LittleEndian.Uint64(b[:]), err
}

// remaining bounds counts read from the file: nothing can claim more
// elements than there are bytes left.
func (r *reader) remaining() uint64 {
	if r.pos > r.size {
		return 0
	}
	return r.size - r.pos
}

func (r *reader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > r.remaining() {
		return "", ErrTruncated
	}
	b := make([]byte, n)
	if err := r.read(b); err != nil {
		return "", err
	}
	return string(b), nil
}

func elemSize(t uint32) uint64 {
	switch t {
	case tUint8, tInt8, tBool:
		return 1
	case tUint16, tInt16:
		return 2
	case tUint32, tInt32, tFloat32:
		return 4
	case tUint64, tInt64, tFloat64, tString, tArray:
		return 8 // strings and nested arrays take at least their 8-byte length
	}
	return 0
}

func (r *reader) value(t uint32, depth int) (any, error) {
	switch t {
	case tUint8:
		return r.u8()
	case tInt8:
		v, err := r.u8()
		return int8(v), err
	case tUint16:
		return r.u16()
	case tInt16:
		v, err := r.u16()
		return int16(v), err
	case tUint32:
		return r.u32()
	case tInt32:
		v, err := r.u32()
		return int32(v), err
	case tFloat32:
		v, err := r.u32()
		return math.Float32frombits(v), err
	case tBool:
		v, err := r.u8()
		if err == nil && v > 1 {
			return nil, fmt.Errorf("%w: bool value %d", ErrCorrupt, v)
		}
		return v == 1, err
	case tString:
		return r.str()
	case tUint64:
		return r.u64()
	case tInt64:
		v, err := r.u64()
		return int64(v), err
	case tFloat64:
		v, err := r.u64()
		return math.Float64frombits(v), err
	case tArray:
		if depth > 2 {
			return nil, fmt.Errorf("%w: arrays nested too deep", ErrCorrupt)
		}
		et, err := r.u32()
		if err != nil {
			return nil, err
		}
		n, err := r.u64()
		if err != nil {
			return nil, err
		}
		es := elemSize(et)
		if es == 0 {
			return nil, fmt.Errorf("%w: unknown array element type %d", ErrCorrupt, et)
		}
		if n > r.remaining()/es {
			return nil, ErrTruncated
		}
		return r.array(et, int(n), depth)
	}
	return nil, fmt.Errorf("%w: unknown value type %d", ErrCorrupt, t)
}

func readN[T any](r *reader, et uint32, n, depth int) ([]T, error) {
	out := make([]T, n)
	for i := range out {
		v, err := r.value(et, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v.(T)
	}
	return out, nil
}

func (r *reader) array(et uint32, n, depth int) (Array, error) {
	var vals any
	var err error
	switch et {
	case tUint8:
		vals, err = readN[uint8](r, et, n, depth)
	case tInt8:
		vals, err = readN[int8](r, et, n, depth)
	case tUint16:
		vals, err = readN[uint16](r, et, n, depth)
	case tInt16:
		vals, err = readN[int16](r, et, n, depth)
	case tUint32:
		vals, err = readN[uint32](r, et, n, depth)
	case tInt32:
		vals, err = readN[int32](r, et, n, depth)
	case tFloat32:
		vals, err = readN[float32](r, et, n, depth)
	case tBool:
		vals, err = readN[bool](r, et, n, depth)
	case tString:
		vals, err = readN[string](r, et, n, depth)
	case tUint64:
		vals, err = readN[uint64](r, et, n, depth)
	case tInt64:
		vals, err = readN[int64](r, et, n, depth)
	case tFloat64:
		vals, err = readN[float64](r, et, n, depth)
	case tArray:
		vals, err = readN[Array](r, et, n, depth)
	}
	return Array{Type: et, Values: vals}, err
}

// Decode reads a GGUF header from r, whose total size is size, and checks
// the tensor table against it. It does not check the architecture.
func Decode(rd io.Reader, size uint64) (*File, error) {
	r := &reader{r: bufio.NewReaderSize(rd, 1<<16), size: size}
	var magic [4]byte
	if err := r.read(magic[:]); err != nil {
		return nil, ErrNotGGUF
	}
	if string(magic[:]) != "GGUF" {
		return nil, ErrNotGGUF
	}
	ver, err := r.u32()
	if err != nil {
		return nil, err
	}
	if ver != 2 && ver != 3 {
		return nil, fmt.Errorf("%w: GGUF version %d (want 2 or 3)", ErrUnsupported, ver)
	}
	nt, err := r.u64()
	if err != nil {
		return nil, err
	}
	nkv, err := r.u64()
	if err != nil {
		return nil, err
	}
	// A key/value takes at least 8+1+4 bytes, a tensor entry 8+1+4+8+4+8.
	if nkv > r.remaining()/13 || nt > r.remaining()/33 {
		return nil, ErrTruncated
	}
	f := &File{Version: ver, KV: make(map[string]any, nkv), Size: size}
	for range nkv {
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		t, err := r.u32()
		if err != nil {
			return nil, err
		}
		v, err := r.value(t, 0)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if _, dup := f.KV[k]; dup {
			return nil, fmt.Errorf("%w: key %q appears twice", ErrCorrupt, k)
		}
		f.KV[k] = v
	}
	align := uint64(32)
	if a, ok := f.KV["general.alignment"]; ok {
		u, ok := a.(uint32)
		if !ok || u == 0 || u&(u-1) != 0 {
			return nil, fmt.Errorf("%w: general.alignment %v", ErrCorrupt, a)
		}
		align = uint64(u)
	}
	names := make(map[string]bool, nt)
	f.Tensors = make([]Tensor, 0, nt)
	for range nt {
		name, err := r.str()
		if err != nil {
			return nil, err
		}
		if names[name] {
			return nil, fmt.Errorf("%w: tensor %q appears twice", ErrCorrupt, name)
		}
		names[name] = true
		nd, err := r.u32()
		if err != nil {
			return nil, err
		}
		if nd == 0 || nd > 4 {
			return nil, fmt.Errorf("%w: tensor %q has %d dimensions", ErrCorrupt, name, nd)
		}
		t := Tensor{Name: name, Shape: make([]uint64, nd)}
		elems := uint64(1)
		for i := range t.Shape {
			if t.Shape[i], err = r.u64(); err != nil {
				return nil, err
			}
			if t.Shape[i] == 0 || t.Shape[i] > size*8 || elems > math.MaxUint64/t.Shape[i] {
				return nil, fmt.Errorf("%w: tensor %q has shape %v", ErrCorrupt, name, t.Shape)
			}
			elems *= t.Shape[i]
		}
		typ, err := r.u32()
		if err != nil {
			return nil, err
		}
		t.Type = TensorType(typ)
		info, ok := typeInfo[t.Type]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has unknown type %d", ErrUnsupported, name, typ)
		}
		if t.Shape[0]%info.blockSize != 0 {
			return nil, fmt.Errorf("%w: tensor %q row of %d is not a multiple of %s blocks", ErrCorrupt, name, t.Shape[0], info.name)
		}
		t.Size = elems / info.blockSize * info.bytes
		if t.Offset, err = r.u64(); err != nil {
			return nil, err
		}
		if t.Offset%align != 0 {
			return nil, fmt.Errorf("%w: tensor %q is not aligned", ErrCorrupt, name)
		}
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = (r.pos + align - 1) / align * align
	// Tensors must lie inside the file and not overlap.
	sorted := make([]Tensor, len(f.Tensors))
	copy(sorted, f.Tensors)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var end uint64
	for _, t := range sorted {
		if t.Offset < end {
			return nil, fmt.Errorf("%w: tensor %q overlaps another", ErrCorrupt, t.Name)
		}
		end = t.Offset + t.Size
		if f.DataOffset+end > size || end < t.Offset {
			return nil, fmt.Errorf("%w: tensor %q ends at byte %d of %d", ErrTruncated, t.Name, f.DataOffset+end, size)
		}
	}
	return f, nil
}
