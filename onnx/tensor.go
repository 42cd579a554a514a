package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"runner/onnx/onnxpb"
)

// ErrTensorData is returned when a tensor's data does not match its type or
// shape.
var ErrTensorData = errors.New("tensor data does not match its type and shape")

// NumElements returns the number of elements of a tensor with the given
// dimensions: 1 for a scalar, and -1 when a dimension is negative.
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// RawTensor returns a tensor whose data is raw, the little-endian encoding
// ONNX uses for raw_data. The tensor keeps raw without copying it.
func RawTensor(name string, elem ElemType, dims []int64, raw []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{
		Name:     &name,
		Dims:     append([]int64(nil), dims...),
		DataType: ptr(int32(elem)),
		RawData:  raw,
	}
}

// Float32Tensor returns a float32 tensor holding data, stored as raw data.
func Float32Tensor(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	return RawTensor(name, Float, dims, EncodeFloat32s(data))
}

// Float16Tensor returns a float16 tensor holding data rounded to half
// precision (to nearest, ties to even), stored as raw data.
func Float16Tensor(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(raw[2*i:], Float32ToFloat16(v))
	}
	return RawTensor(name, Float16, dims, raw)
}

// Int64Tensor returns an int64 tensor holding data, stored as raw data.
func Int64Tensor(name string, dims []int64, data []int64) *onnxpb.TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return RawTensor(name, Int64, dims, raw)
}

// EncodeFloat32s returns data in ONNX's raw encoding (little-endian).
func EncodeFloat32s(data []float32) []byte {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return raw
}

// TensorFloat32s decodes a float32, float16 or float64 tensor into float32
// values, from raw data or the typed fields. External data must have been
// loaded first (see LoadExternalData).
func TensorFloat32s(t *onnxpb.TensorProto) ([]float32, error) {
	n, err := elementCount(t)
	if err != nil {
		return nil, err
	}
	elem := ElemType(t.GetDataType())
	raw := t.GetRawData()
	out := make([]float32, n)
	switch {
	case elem == Float && raw != nil:
		if err := checkRaw(t, raw, n, 4); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case elem == Float:
		if int64(len(t.GetFloatData())) != n {
			return nil, fmt.Errorf("tensor %q: %w: %d float_data values for %d elements", t.GetName(), ErrTensorData, len(t.GetFloatData()), n)
		}
		copy(out, t.GetFloatData())
	case elem == Float16 && raw != nil:
		if err := checkRaw(t, raw, n, 2); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = Float16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case elem == Float16:
		// Half values are stored one per int32_data entry.
		if int64(len(t.GetInt32Data())) != n {
			return nil, fmt.Errorf("tensor %q: %w: %d int32_data values for %d elements", t.GetName(), ErrTensorData, len(t.GetInt32Data()), n)
		}
		for i, v := range t.GetInt32Data() {
			out[i] = Float16ToFloat32(uint16(v))
		}
	case elem == Double && raw != nil:
		if err := checkRaw(t, raw, n, 8); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case elem == Double:
		if int64(len(t.GetDoubleData())) != n {
			return nil, fmt.Errorf("tensor %q: %w: %d double_data values for %d elements", t.GetName(), ErrTensorData, len(t.GetDoubleData()), n)
		}
		for i, v := range t.GetDoubleData() {
			out[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("tensor %q: %w: element type %s is not a float type", t.GetName(), ErrTensorData, elem)
	}
	return out, nil
}

// TensorInt64s decodes an int64 tensor, from raw data or int64_data.
func TensorInt64s(t *onnxpb.TensorProto) ([]int64, error) {
	n, err := elementCount(t)
	if err != nil {
		return nil, err
	}
	if elem := ElemType(t.GetDataType()); elem != Int64 {
		return nil, fmt.Errorf("tensor %q: %w: element type %s, want int64", t.GetName(), ErrTensorData, elem)
	}
	raw := t.GetRawData()
	if raw == nil {
		if int64(len(t.GetInt64Data())) != n {
			return nil, fmt.Errorf("tensor %q: %w: %d int64_data values for %d elements", t.GetName(), ErrTensorData, len(t.GetInt64Data()), n)
		}
		return append([]int64(nil), t.GetInt64Data()...), nil
	}
	if err := checkRaw(t, raw, n, 8); err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, nil
}

func elementCount(t *onnxpb.TensorProto) (int64, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return 0, fmt.Errorf("tensor %q: %w: its data is external and not loaded", t.GetName(), ErrTensorData)
	}
	n := NumElements(t.GetDims())
	if n < 0 {
		return 0, fmt.Errorf("tensor %q: %w: negative dimension in %v", t.GetName(), ErrTensorData, t.GetDims())
	}
	return n, nil
}

func checkRaw(t *onnxpb.TensorProto, raw []byte, n int64, size int) error {
	if int64(len(raw)) != n*int64(size) {
		return fmt.Errorf("tensor %q: %w: %d raw bytes for %d elements of %d bytes", t.GetName(), ErrTensorData, len(raw), n, size)
	}
	return nil
}

// Float32ToFloat16 returns the IEEE 754 half-precision bits nearest to f
// (ties to even); values beyond the half range become infinities.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // infinity or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		half := uint32(exp-127+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && half&1 == 1) {
			half++ // may carry into the exponent, up to infinity: correct
		}
		return sign | uint16(half)
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000 // implicit leading one
		shift := uint32(-14-(exp-127)) + 13
		half := m >> shift
		rest := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rest > mid || (rest == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	return sign // underflow to zero
}

// Float16ToFloat32 returns the float32 value of half-precision bits h.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

func ptr[T any](v T) *T { return &v }
