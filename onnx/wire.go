package onnx

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Wire types used by ONNX's messages.
const (
	wireVarint = protowire.VarintType
	wireI64    = protowire.Fixed64Type
	wireBytes  = protowire.BytesType
	wireI32    = protowire.Fixed32Type
)

// maxString bounds the strings ReadInfo decodes (names, metadata values), so
// a corrupt length cannot make it allocate gigabytes.
const maxString = 64 << 20

// field is one decoded protobuf field: a varint value, or the offset and
// length of a length-delimited payload in the file.
type field struct {
	wire   protowire.Type
	varint uint64
	off, n int64
}

// wire reads protobuf fields straight from a file through a small window, so
// payloads that are not needed (weights) are skipped without being read.
type wire struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	base int64 // file offset of buf[0]
}

func newWire(r io.ReaderAt, size int64) *wire {
	return &wire{r: r, size: size, buf: make([]byte, 0, 64<<10), base: -1}
}

// window returns at least want bytes (fewer at the end of the file) starting
// at off.
func (w *wire) window(off int64, want int) ([]byte, error) {
	if w.base >= 0 && off >= w.base && off+int64(want) <= w.base+int64(len(w.buf)) {
		return w.buf[off-w.base:], nil
	}
	n := cap(w.buf)
	if rest := w.size - off; int64(n) > rest {
		n = int(rest)
	}
	if n < want {
		if int64(want) > w.size-off {
			return nil, io.ErrUnexpectedEOF
		}
		n = want
		w.buf = make([]byte, 0, n)
	}
	w.buf = w.buf[:n]
	if _, err := w.r.ReadAt(w.buf, off); err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		w.base = -1
		return nil, err
	}
	w.base = off
	return w.buf, nil
}

// fields calls fn for each field of the message stored in [start, end).
func (w *wire) fields(start, end int64, fn func(num int32, f field) error) error {
	if end > w.size {
		return fmt.Errorf("message at %d runs past the end of the file (%d > %d)", start, end, w.size)
	}
	for off := start; off < end; {
		b, err := w.window(off, min(16, int(end-off)))
		if err != nil {
			return err
		}
		b = b[:min(len(b), int(end-off))]
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad field tag at offset %d", off)
		}
		off += int64(n)
		b = b[n:]
		f := field{wire: typ}
		switch typ {
		case wireVarint:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("bad varint at offset %d", off)
			}
			f.varint = v
			off += int64(m)
		case wireBytes:
			l, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("bad length at offset %d", off)
			}
			off += int64(m)
			if l > uint64(end-off) {
				return fmt.Errorf("field %d at offset %d is %d bytes, past the end of its message", num, off, l)
			}
			f.off, f.n = off, int64(l)
			off += int64(l)
		case wireI64:
			off += 8
		case wireI32:
			off += 4
		default:
			return fmt.Errorf("unsupported wire type %d at offset %d", typ, off)
		}
		if off > end {
			return fmt.Errorf("field %d runs past the end of its message", num)
		}
		if err := fn(int32(num), f); err != nil {
			return err
		}
	}
	return nil
}

// str reads a length-delimited field as a string.
func (w *wire) str(f field) (string, error) {
	if f.wire != wireBytes {
		return "", fmt.Errorf("want a string at offset %d, got wire type %d", f.off, f.wire)
	}
	if f.n > maxString {
		return "", fmt.Errorf("string of %d bytes at offset %d is too long", f.n, f.off)
	}
	b := make([]byte, f.n)
	if _, err := w.r.ReadAt(b, f.off); err != nil {
		return "", err
	}
	return string(b), nil
}

// packedVarints calls fn for each varint of a packed repeated field.
func (w *wire) packedVarints(f field, fn func(uint64)) error {
	if f.n > maxString {
		return fmt.Errorf("packed field of %d bytes at offset %d is too long", f.n, f.off)
	}
	b := make([]byte, f.n)
	if _, err := w.r.ReadAt(b, f.off); err != nil {
		return err
	}
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return fmt.Errorf("bad packed varint at offset %d", f.off)
		}
		fn(v)
		b = b[n:]
	}
	return nil
}
