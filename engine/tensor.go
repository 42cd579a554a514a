package engine

import (
	"fmt"
	"math"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"

	"runner/onnx"
)

// Float16 is an IEEE 754 half-precision number, stored as its bits.
type Float16 uint16

// Element is a Go type a Tensor can hold.
type Element interface {
	float32 | Float16 | int64 | int32 | int8 | uint8 | bool
}

// Tensor is an n-dimensional array in Go memory: a shape and a flat,
// row-major slice of one Element type. The zero Tensor is not valid; make
// one with [NewTensor] or [Zeros].
type Tensor struct {
	shape []int64
	data  any // []T for one Element type T
}

// NewTensor makes a tensor over data (not copied) with the given shape. The
// shape's element count must equal len(data).
func NewTensor[T Element](shape []int64, data []T) (*Tensor, error) {
	n, err := elements(shape)
	if err != nil {
		return nil, err
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("tensor of shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return &Tensor{shape: append([]int64(nil), shape...), data: data}, nil
}

// Zeros makes a zero-filled tensor of the given shape.
func Zeros[T Element](shape ...int64) (*Tensor, error) {
	n, err := elements(shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{shape: append([]int64(nil), shape...), data: make([]T, n)}, nil
}

func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor shape %v has a negative dimension", shape)
		}
		if d > 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("tensor shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// Shape returns the tensor's dimensions. Do not modify it.
func (t *Tensor) Shape() []int64 { return t.shape }

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.shape {
		n *= int(d)
	}
	return n
}

// Type returns the ONNX element type of the tensor.
func (t *Tensor) Type() onnx.ElemType {
	switch t.data.(type) {
	case []float32:
		return onnx.Float
	case []Float16:
		return onnx.Float16
	case []int64:
		return onnx.Int64
	case []int32:
		return onnx.Int32
	case []int8:
		return onnx.Int8
	case []uint8:
		return onnx.Uint8
	case []bool:
		return onnx.Bool
	}
	return onnx.Undefined
}

// Data returns the tensor's elements as []T, or nil when the tensor holds
// another type. The slice is the tensor's own memory.
func Data[T Element](t *Tensor) []T {
	d, _ := t.data.([]T)
	return d
}

// Float32s returns the elements as float32: the tensor's own memory when it
// holds float32, a converted copy when it holds float16.
func (t *Tensor) Float32s() ([]float32, error) {
	switch d := t.data.(type) {
	case []float32:
		return d, nil
	case []Float16:
		out := make([]float32, len(d))
		for i, h := range d {
			out[i] = h.Float32()
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor of %s is not floating point", t.Type())
}

// String describes the tensor's type and shape, such as "float32[2,8,384]".
func (t *Tensor) String() string {
	return fmt.Sprintf("%s%v", t.Type(), t.shape)
}

// zerosOf makes a zero tensor of an ONNX element type.
func zerosOf(et onnx.ElemType, shape []int64) (*Tensor, error) {
	switch et {
	case onnx.Float:
		return Zeros[float32](shape...)
	case onnx.Float16:
		return Zeros[Float16](shape...)
	case onnx.Int64:
		return Zeros[int64](shape...)
	case onnx.Int32:
		return Zeros[int32](shape...)
	case onnx.Int8:
		return Zeros[int8](shape...)
	case onnx.Uint8:
		return Zeros[uint8](shape...)
	case onnx.Bool:
		return Zeros[bool](shape...)
	}
	return nil, fmt.Errorf("element type %s is not supported", et)
}

// ortValue wraps the tensor's memory in an ONNX Runtime value (no copy).
// The caller destroys it.
func (t *Tensor) ortValue() (ort.Value, error) {
	if len(t.shape) == 0 {
		return t.ortScalar()
	}
	shape := ort.NewShape(t.shape...)
	switch d := t.data.(type) {
	case []float32:
		return wrap(ort.NewTensor(shape, d))
	case []int64:
		return wrap(ort.NewTensor(shape, d))
	case []int32:
		return wrap(ort.NewTensor(shape, d))
	case []int8:
		return wrap(ort.NewTensor(shape, d))
	case []uint8:
		return wrap(ort.NewTensor(shape, d))
	case []bool:
		return wrap(ort.NewTensor(shape, d))
	case []Float16:
		// onnxruntime_go refuses an empty byte slice even for a shape with
		// a zero dimension (an empty KV cache); ONNX Runtime only needs
		// enough bytes, so give it two.
		b := []byte{0, 0}
		if len(d) > 0 {
			b = unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 2*len(d))
		}
		return wrap(ort.NewCustomDataTensor(shape, b, ort.TensorElementDataTypeFloat16))
	}
	return nil, fmt.Errorf("tensor holds unsupported data %T", t.data)
}

// ortScalar makes a 0-dimensional value, which onnxruntime_go builds as a
// Scalar holding a copy of the element (see scalarBack for outputs).
func (t *Tensor) ortScalar() (ort.Value, error) {
	switch d := t.data.(type) {
	case []float32:
		return wrap(ort.NewScalar(d[0]))
	case []int64:
		return wrap(ort.NewScalar(d[0]))
	case []int32:
		return wrap(ort.NewScalar(d[0]))
	case []int8:
		return wrap(ort.NewScalar(d[0]))
	case []uint8:
		return wrap(ort.NewScalar(d[0]))
	case []bool:
		return wrap(ort.NewScalar(d[0]))
	}
	return nil, fmt.Errorf("0-dimensional tensors of %s are not supported", t.Type())
}

// scalarBack copies a scalar output that ONNX Runtime wrote into v (the
// Scalar's own copy) back into t's memory.
func (t *Tensor) scalarBack(v ort.Value) {
	switch d := t.data.(type) {
	case []float32:
		d[0] = v.(*ort.Scalar[float32]).GetData()
	case []int64:
		d[0] = v.(*ort.Scalar[int64]).GetData()
	case []int32:
		d[0] = v.(*ort.Scalar[int32]).GetData()
	case []int8:
		d[0] = v.(*ort.Scalar[int8]).GetData()
	case []uint8:
		d[0] = v.(*ort.Scalar[uint8]).GetData()
	case []bool:
		d[0] = v.(*ort.Scalar[bool]).GetData()
	}
}

// wrap returns a constructor's value as an ort.Value, never as a non-nil
// interface holding a nil pointer.
func wrap[V ort.Value](v V, err error) (ort.Value, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// fromORT copies an ONNX Runtime output into a Go tensor. It does not
// destroy v.
func fromORT(v ort.Value) (*Tensor, error) {
	shape := []int64(v.GetShape())
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.Tensor[int64]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.Tensor[int32]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.Tensor[int8]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.Tensor[uint8]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.Tensor[bool]:
		return &Tensor{shape: shape, data: x.GetData()}, nil
	case *ort.CustomDataTensor:
		if x.DataType() != ort.TensorElementDataTypeFloat16 {
			break
		}
		b := x.GetData()
		d := make([]Float16, len(b)/2)
		if len(d) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(b)), b)
		}
		return &Tensor{shape: shape, data: d}, nil
	}
	return nil, fmt.Errorf("model output of type %s is not supported", v.GetONNXType())
}

// Float32 converts a half-precision number to float32.
func (h Float16) Float32() float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: renormalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// ToFloat16 converts a float32 to half precision, rounding to nearest even.
func ToFloat16(f float32) Float16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return Float16(sign | 0x7e00)
	case exp >= 0x1f: // overflow or inf
		return Float16(sign | 0x7c00)
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return Float16(sign)
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		rest := mant & (1<<shift - 1)
		m := mant >> shift
		if rest > half || (rest == half && m&1 == 1) {
			m++
		}
		return Float16(sign | uint16(m))
	}
	m := mant >> 13
	rest := mant & 0x1fff
	h := uint32(sign) | uint32(exp)<<10 | m
	if rest > 0x1000 || (rest == 0x1000 && m&1 == 1) {
		h++ // may carry into the exponent, which is correct rounding
	}
	return Float16(h)
}
