package quant

import "math"

// intRange is the integer range weights are quantised into.
type intRange struct{ lo, hi int32 }

// int8Range returns the range of 8-bit weights as ONNX Runtime's quantiser
// chooses it: reduce range keeps 7 bits (so that u8×s8 products cannot
// saturate the 16-bit sums of CPUs without VNNI); symmetric signed weights
// drop -128 so that zero is exact and the range is balanced.
func int8Range(signed, symmetric, reduceRange bool) intRange {
	switch {
	case !signed && reduceRange:
		return intRange{0, 127}
	case !signed:
		return intRange{0, 255}
	case reduceRange:
		return intRange{-64, 64}
	case symmetric:
		return intRange{-127, 127}
	}
	return intRange{-128, 127}
}

// scaleZero returns the scale and zero point that map [lo, hi] (widened to
// hold 0, and made symmetric about 0 when asked) onto r.
func scaleZero(lo, hi float32, r intRange, symmetric bool) (scale float32, zero int32) {
	lo, hi = min(lo, 0), max(hi, 0)
	if symmetric {
		m := max(-lo, hi)
		lo, hi = -m, m
	}
	scale = (hi - lo) / float32(r.hi-r.lo)
	if scale == 0 || math.IsInf(float64(scale), 0) || math.IsNaN(float64(scale)) {
		return 1, clampInt(0, r)
	}
	zero = clampInt(int32(math.RoundToEven(float64(float32(r.lo)-lo/scale))), r)
	return scale, zero
}

func clampInt(v int32, r intRange) int32 { return max(r.lo, min(r.hi, v)) }

// quantizeValue returns round(v/scale)+zero, clamped to r.
func quantizeValue(v, scale float32, zero int32, r intRange) int32 {
	q := math.RoundToEven(float64(v / scale))
	if math.IsNaN(q) {
		q = 0
	}
	q = max(float64(r.lo-zero), min(float64(r.hi-zero), q))
	return int32(q) + zero
}

// quantized8 is an 8-bit quantised tensor: its bytes (int8 stored as two's
// complement), and a scale and zero point per channel (one of each when
// quantised per tensor).
type quantized8 struct {
	data   []byte
	scales []float32
	zeros  []byte
}

// quantizeMatrix8 quantises w, a rows×cols row-major matrix, to 8 bits:
// per column when perColumn (one scale per output channel of a MatMul's
// [K, N] weight), else as one tensor.
func quantizeMatrix8(w []float32, rows, cols int, perColumn, signed, symmetric, reduceRange bool) quantized8 {
	r := int8Range(signed, symmetric, reduceRange)
	groups := 1
	if perColumn {
		groups = cols
	}
	lo := make([]float32, groups)
	hi := make([]float32, groups)
	for i := range lo {
		lo[i], hi[i] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for i, v := range w {
		g := 0
		if perColumn {
			g = i % cols
		}
		lo[g], hi[g] = min(lo[g], v), max(hi[g], v)
	}
	out := quantized8{data: make([]byte, len(w)), scales: make([]float32, groups), zeros: make([]byte, groups)}
	zeros := make([]int32, groups)
	for g := range groups {
		if lo[g] > hi[g] { // no values
			lo[g], hi[g] = 0, 0
		}
		out.scales[g], zeros[g] = scaleZero(lo[g], hi[g], r, symmetric)
		out.zeros[g] = byte(zeros[g])
	}
	for i, v := range w {
		g := 0
		if perColumn {
			g = i % cols
		}
		out.data[i] = byte(quantizeValue(v, out.scales[g], zeros[g], r))
	}
	return out
}

// quantized4 is a matrix quantised to 4 bits in blocks, laid out as
// com.microsoft.MatMulNBits takes it: for each of the N output columns, its
// K weights in blocks of blockSize, two per byte (the even index in the low
// nibble), with a scale per block and, when asymmetric, a 4-bit zero point
// per block packed the same way (each column's run padded to whole bytes).
type quantized4 struct {
	data   []byte // [N][blocks][blockSize/2]
	scales []float32
	zeros  []byte // nil when symmetric (the operator's default zero point 8)
}

// quantizeBlocks4 quantises the N×K matrix whose element (n, k) is at(n, k)
// (the transpose of a MatMul's [K, N] weight) to 4 bits in blocks of
// blockSize along K. K is padded to whole blocks with zeros.
//
// Symmetric blocks map the value of largest magnitude onto -8 exactly
// (scale = that value / -8), so the full 16 levels are used; asymmetric
// blocks map [min, max] (widened to hold 0) onto 0..15.
func quantizeBlocks4(at func(n, k int) float32, N, K, blockSize int, symmetric bool) quantized4 {
	blocks := (K + blockSize - 1) / blockSize
	blob := blockSize / 2
	out := quantized4{
		data:   make([]byte, N*blocks*blob),
		scales: make([]float32, N*blocks),
	}
	zeroStride := (blocks + 1) / 2
	if !symmetric {
		out.zeros = make([]byte, N*zeroStride)
	}
	vals := make([]float32, blockSize)
	for n := range N {
		for b := range blocks {
			clear(vals)
			for i := range blockSize {
				if k := b*blockSize + i; k < K {
					vals[i] = at(n, k)
				}
			}
			var scale float32
			var zero int32
			if symmetric {
				scale, zero = symmetricScale4(vals), 8
			} else {
				lo, hi := vals[0], vals[0]
				for _, v := range vals {
					lo, hi = min(lo, v), max(hi, v)
				}
				scale, zero = scaleZero(lo, hi, intRange{0, 15}, false)
				out.zeros[n*zeroStride+b/2] |= byte(zero) << (4 * (b % 2))
			}
			out.scales[n*blocks+b] = scale
			base := (n*blocks + b) * blob
			for i, v := range vals {
				q := byte(quantizeValue(v, scale, zero, intRange{0, 15}))
				out.data[base+i/2] |= q << (4 * (i % 2))
			}
		}
	}
	return out
}

// symmetricScale4 returns the scale that maps the block's value of largest
// magnitude onto level -8 (it may be negative), or 1 for a block of zeros.
func symmetricScale4(vals []float32) float32 {
	var extreme float32
	for _, v := range vals {
		if abs32(v) > abs32(extreme) {
			extreme = v
		}
	}
	if extreme == 0 {
		return 1
	}
	return extreme / -8
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// dequantize4 returns the value of element (n, k) of a quantized4 matrix;
// it is the operator's arithmetic, for tests.
func (q quantized4) dequantize(n, k, K, blockSize int) float32 {
	blocks := (K + blockSize - 1) / blockSize
	b, i := k/blockSize, k%blockSize
	byteAt := q.data[(n*blocks+b)*(blockSize/2)+i/2]
	level := int32(byteAt>>(4*(i%2))) & 0xf
	zero := int32(8)
	if q.zeros != nil {
		zero = int32(q.zeros[n*((blocks+1)/2)+b/2]>>(4*(b%2))) & 0xf
	}
	return float32(level-zero) * q.scales[n*blocks+b]
}
