package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/nook-ai/nook/internal/atomicfile"
)

// KV is one metadata entry to write. Value is a Go value of a GGUF type:
// uint8…float64, bool, string, or a slice of one of those ([]string, []int32,
// []float32, ...), or an [Array].
type KV struct {
	Key   string
	Value any
}

// TensorSpec is a tensor to write: its data comes from Fill, which must
// write exactly the tensor's Size bytes.
type TensorSpec struct {
	Name  string
	Shape []uint64
	Type  TensorType
	Fill  func(w io.Writer) error
}

// Size of the tensor's data in bytes.
func (t TensorSpec) Size() uint64 {
	info := typeInfo[t.Type]
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n / info.blockSize * info.bytes
}

const alignment = 32

// WriteFile writes a GGUF v3 file atomically (temp file, fsync, rename).
func WriteFile(path string, kvs []KV, tensors []TensorSpec) error {
	if err := atomicfile.Write(path, 0o755, func(w io.Writer) error { return Write(w, kvs, tensors) }); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	return nil
}

type countWriter struct {
	w   io.Writer
	n   uint64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += uint64(n)
	c.err = err
	return n, err
}

func (c *countWriter) le(v any) { _ = binary.Write(c, binary.LittleEndian, v) }

func (c *countWriter) str(s string) {
	c.le(uint64(len(s)))
	_, _ = io.WriteString(c, s)
}

func (c *countWriter) pad() {
	if r := c.n % alignment; r != 0 {
		_, _ = c.Write(make([]byte, alignment-r))
	}
}

// Write streams a GGUF v3 file to w.
func Write(w io.Writer, kvs []KV, tensors []TensorSpec) error {
	c := &countWriter{w: w}
	_, _ = c.Write([]byte("GGUF"))
	c.le(uint32(3))
	c.le(uint64(len(tensors)))
	c.le(uint64(len(kvs)))
	for _, kv := range kvs {
		c.str(kv.Key)
		if err := c.value(kv.Value, true); err != nil {
			return fmt.Errorf("key %q: %w", kv.Key, err)
		}
	}
	var off uint64
	for _, t := range tensors {
		if _, ok := typeInfo[t.Type]; !ok {
			return fmt.Errorf("tensor %q: unknown type %d", t.Name, t.Type)
		}
		c.str(t.Name)
		c.le(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			c.le(d)
		}
		c.le(uint32(t.Type))
		c.le(off)
		off += t.Size()
		off = (off + alignment - 1) / alignment * alignment
	}
	c.pad()
	for _, t := range tensors {
		start := c.n
		if err := t.Fill(c); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if c.err != nil {
			return c.err
		}
		if got := c.n - start; got != t.Size() {
			return fmt.Errorf("tensor %q: wrote %d bytes, want %d", t.Name, got, t.Size())
		}
		c.pad()
	}
	return c.err
}

func (c *countWriter) value(v any, withType bool) error {
	typ := func(t uint32) {
		if withType {
			c.le(t)
		}
	}
	arr := func(et uint32, n int, each func(i int)) {
		typ(tArray)
		c.le(et)
		c.le(uint64(n))
		for i := range n {
			each(i)
		}
	}
	switch v := v.(type) {
	case uint8:
		typ(tUint8)
		c.le(v)
	case int8:
		typ(tInt8)
		c.le(v)
	case uint16:
		typ(tUint16)
		c.le(v)
	case int16:
		typ(tInt16)
		c.le(v)
	case uint32:
		typ(tUint32)
		c.le(v)
	case int32:
		typ(tInt32)
		c.le(v)
	case float32:
		typ(tFloat32)
		c.le(math.Float32bits(v))
	case bool:
		typ(tBool)
		if v {
			c.le(uint8(1))
		} else {
			c.le(uint8(0))
		}
	case string:
		typ(tString)
		c.str(v)
	case uint64:
		typ(tUint64)
		c.le(v)
	case int64:
		typ(tInt64)
		c.le(v)
	case float64:
		typ(tFloat64)
		c.le(math.Float64bits(v))
	case []string:
		arr(tString, len(v), func(i int) { c.str(v[i]) })
	case []int32:
		arr(tInt32, len(v), func(i int) { c.le(v[i]) })
	case []uint32:
		arr(tUint32, len(v), func(i int) { c.le(v[i]) })
	case []float32:
		arr(tFloat32, len(v), func(i int) { c.le(math.Float32bits(v[i])) })
	case []uint8:
		arr(tUint8, len(v), func(i int) { c.le(v[i]) })
	case []int64:
		arr(tInt64, len(v), func(i int) { c.le(v[i]) })
	case []bool:
		arr(tBool, len(v), func(i int) { _ = c.value(v[i], false) })
	case Array:
		return c.value(v.Values, withType)
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return c.err
}
