package engine

import (
	"fmt"

	"runner/onnx"
)

// KVCache holds the past keys and values of a batch of sequences, one row
// per sequence: per layer, [rows, kvHeads, length, headDim], row-major.
// Rows are left-padded to a common length; padding slots are zero and masked
// out by the attention mask. For attention that assumes padding on the
// right (DecoderSpec.RightPaddedAttention), rows are right-padded instead:
// each row's tokens start at position 0 and its new tokens go right after
// them.
//
// Each layer keeps two buffers: the past fed to a step and the one the step
// writes its present into; they swap after each step, so a step copies
// nothing on the Go side. Rows join (Append) and leave (Remove) between
// steps, which re-lays the cache out once.
type KVCache struct {
	spec   *DecoderSpec
	rows   int
	length int
	pad    []int // left padding slots per row (always 0 when right-padded)
	seen   []int // real tokens per row: the position of its next token

	k, v           []any // per layer: []float32 or []Float16
	spareK, spareV []any
}

func newKVCache(spec *DecoderSpec) *KVCache {
	c := &KVCache{spec: spec}
	c.k, c.v = make([]any, spec.Layers), make([]any, spec.Layers)
	c.spareK, c.spareV = make([]any, spec.Layers), make([]any, spec.Layers)
	for i := range spec.Layers {
		c.k[i], c.v[i] = newBuf(spec.CacheType, 0), newBuf(spec.CacheType, 0)
		c.spareK[i], c.spareV[i] = newBuf(spec.CacheType, 0), newBuf(spec.CacheType, 0)
	}
	return c
}

// AddEmptyRows adds n rows with no past, ready for a first (prefill) step.
// Only an empty cache can take them.
func (c *KVCache) AddEmptyRows(n int) error {
	if c.length != 0 {
		return fmt.Errorf("cannot add empty rows to a cache of length %d", c.length)
	}
	c.rows += n
	c.pad = append(c.pad, make([]int, n)...)
	c.seen = append(c.seen, make([]int, n)...)
	return nil
}

// Rows returns the number of sequences in the cache.
func (c *KVCache) Rows() int { return c.rows }

// Len returns the cache length, padding included.
func (c *KVCache) Len() int { return c.length }

// Seen returns how many real tokens row r has in the cache.
func (c *KVCache) Seen(r int) int { return c.seen[r] }

// Bytes returns the memory the cache holds.
func (c *KVCache) Bytes() int64 {
	per := int64(c.spec.CacheType.Size())
	var n int64
	for i := range c.k {
		n += int64(bufLen(c.k[i])+bufLen(c.v[i])+bufLen(c.spareK[i])+bufLen(c.spareV[i])) * per
	}
	return n
}

func (c *KVCache) rowSize(length int) int { return c.spec.KVHeads * length * c.spec.HeadDim }

// bind adds the past inputs and present output buffers of a step whose
// present has total positions.
func (c *KVCache) bind(in, into map[string]*Tensor, d *Decoder, total int) error {
	past := []int64{int64(c.rows), int64(c.spec.KVHeads), int64(c.length), int64(c.spec.HeadDim)}
	pres := []int64{int64(c.rows), int64(c.spec.KVHeads), int64(total), int64(c.spec.HeadDim)}
	np, nt := c.rows*c.rowSize(c.length), c.rows*c.rowSize(total)
	for i := range c.spec.Layers {
		var err error
		if in[d.pastK[i]], err = tensorOf(past, sliceBuf(c.k[i], np)); err != nil {
			return err
		}
		if in[d.pastV[i]], err = tensorOf(past, sliceBuf(c.v[i], np)); err != nil {
			return err
		}
		c.spareK[i] = growBuf(c.spareK[i], nt)
		c.spareV[i] = growBuf(c.spareV[i], nt)
		if into[d.presK[i]], err = tensorOf(pres, c.spareK[i]); err != nil {
			return err
		}
		if into[d.presV[i]], err = tensorOf(pres, c.spareV[i]); err != nil {
			return err
		}
	}
	return nil
}

// advance makes the step's present the cache's past.
func (c *KVCache) advance(out map[string]*Tensor, d *Decoder, steps int) {
	for i := range c.spec.Layers {
		c.k[i], c.spareK[i] = out[d.presK[i]].data, c.k[i]
		c.v[i], c.spareV[i] = out[d.presV[i]].data, c.v[i]
	}
	c.length += steps
	for r := range c.seen {
		c.seen[r] += steps
	}
}

// Append moves the rows of other (for example sequences just prefilled on
// their own) into c, left-padding whichever is shorter. other is left empty.
func (c *KVCache) Append(other *KVCache) {
	if other.rows == 0 {
		return
	}
	length := max(c.length, other.length)
	rows := c.rows + other.rows
	n := rows * c.rowSize(length)
	// Where each side's rows start: after their left padding, or at 0.
	at, otherAt := length-c.length, length-other.length
	if c.spec.RightPaddedAttention {
		at, otherAt = 0, 0
	}
	for i := range c.spec.Layers {
		nk, nv := newBuf(c.spec.CacheType, n), newBuf(c.spec.CacheType, n)
		for r := range c.rows {
			c.copyRow(nk, r, length, at, c.k[i], r, c.length, 0, c.length)
			c.copyRow(nv, r, length, at, c.v[i], r, c.length, 0, c.length)
		}
		for r := range other.rows {
			c.copyRow(nk, c.rows+r, length, otherAt, other.k[i], r, other.length, 0, other.length)
			c.copyRow(nv, c.rows+r, length, otherAt, other.v[i], r, other.length, 0, other.length)
		}
		c.k[i], c.v[i] = nk, nv
	}
	for r := range c.rows {
		c.pad[r] += at
	}
	for r := range other.rows {
		c.pad = append(c.pad, other.pad[r]+otherAt)
		c.seen = append(c.seen, other.seen[r])
	}
	c.rows, c.length = rows, length
	*other = *newKVCache(c.spec)
}

// Remove drops the given rows (indices into the current rows) and the
// padding columns no remaining row needs.
func (c *KVCache) Remove(drop ...int) {
	gone := map[int]bool{}
	for _, r := range drop {
		gone[r] = true
	}
	var keep []int
	trim, longest := c.length, 0
	for r := range c.rows {
		if !gone[r] {
			keep = append(keep, r)
			trim = min(trim, c.pad[r])
			longest = max(longest, c.seen[r])
		}
	}
	if len(keep) == 0 {
		*c = *newKVCache(c.spec)
		return
	}
	length := c.length - trim
	if c.spec.RightPaddedAttention {
		// Rows start at 0; drop the padding columns at the end instead.
		trim, length = 0, longest
	}
	n := len(keep) * c.rowSize(length)
	for i := range c.spec.Layers {
		nk, nv := newBuf(c.spec.CacheType, n), newBuf(c.spec.CacheType, n)
		for j, r := range keep {
			c.copyRow(nk, j, length, 0, c.k[i], r, c.length, trim, length)
			c.copyRow(nv, j, length, 0, c.v[i], r, c.length, trim, length)
		}
		c.k[i], c.v[i] = nk, nv
	}
	pad, seen := make([]int, len(keep)), make([]int, len(keep))
	for j, r := range keep {
		pad[j], seen[j] = c.pad[r]-trim, c.seen[r]
	}
	c.rows, c.length, c.pad, c.seen = len(keep), length, pad, seen
}

// copyRow copies n positions of row sr (of a buffer with sl positions per
// head), starting at position from, into row dr of dst (dl positions per
// head) at position at, for every head.
func (c *KVCache) copyRow(dst any, dr, dl, at int, src any, sr, sl, from, n int) {
	H, D := c.spec.KVHeads, c.spec.HeadDim
	for h := range H {
		s := ((sr*H+h)*sl + from) * D
		d := ((dr*H+h)*dl + at) * D
		switch dst := dst.(type) {
		case []float32:
			copy(dst[d:d+n*D], src.([]float32)[s:s+n*D])
		case []Float16:
			copy(dst[d:d+n*D], src.([]Float16)[s:s+n*D])
		}
	}
}

func newBuf(t onnx.ElemType, n int) any {
	if t == onnx.Float16 {
		return make([]Float16, n)
	}
	return make([]float32, n)
}

func bufLen(b any) int {
	switch b := b.(type) {
	case []float32:
		return len(b)
	case []Float16:
		return len(b)
	}
	return 0
}

func growBuf(b any, n int) any {
	switch b := b.(type) {
	case []float32:
		return grow(b, n)
	case []Float16:
		return grow(b, n)
	}
	return b
}

func sliceBuf(b any, n int) any {
	switch b := b.(type) {
	case []float32:
		return b[:n]
	case []Float16:
		return b[:n]
	}
	return b
}

func tensorOf(shape []int64, b any) (*Tensor, error) {
	switch b := b.(type) {
	case []float32:
		return NewTensor(shape, b)
	case []Float16:
		return NewTensor(shape, b)
	}
	return nil, fmt.Errorf("cache buffer of type %T", b)
}
