package graph

import "math"

// Sub-graphs that transformer models repeat, written as the exporters
// write them.

// Linear returns x @ w + bias, with w laid out [in, out]; bias may be empty.
func (b *Builder) Linear(x, w, bias Value) Value {
	y := b.MatMul(x, w)
	if bias == "" {
		return y
	}
	return b.Add(y, bias)
}

// LayerNorm normalises x over its last axis, then scales and shifts it
// (LayerNormalization, opset 17).
func (b *Builder) LayerNorm(x, scale, bias Value, epsilon float32) Value {
	return b.OpAttrs("LayerNormalization", Attrs{"axis": int64(-1), "epsilon": epsilon}, x, scale, bias)
}

// RMSNorm returns x / sqrt(mean(x², last axis) + epsilon) * scale, as Llama
// models export it.
func (b *Builder) RMSNorm(x, scale Value, epsilon float32) Value {
	variance := b.ReduceMean(b.Op("Pow", x, b.ScalarFloat32(2)), true, -1)
	inv := b.Op("Reciprocal", b.Op("Sqrt", b.Add(variance, b.ScalarFloat32(epsilon))))
	return b.Mul(b.Mul(x, inv), scale)
}

// GELU returns the exact (erf) GELU: x * (1 + erf(x / sqrt 2)) / 2.
func (b *Builder) GELU(x Value) Value {
	erf := b.Op("Erf", b.Div(x, b.ScalarFloat32(math.Sqrt2)))
	return b.Mul(b.Mul(x, b.Add(erf, b.ScalarFloat32(1))), b.ScalarFloat32(0.5))
}

// SiLU returns x * sigmoid(x).
func (b *Builder) SiLU(x Value) Value { return b.Mul(x, b.Op("Sigmoid", x)) }

// Dim returns dimension axis of x's shape as an int64 scalar.
func (b *Builder) Dim(x Value, axis int64) Value {
	return b.Gather(b.Shape(x), b.ScalarInt64(axis), 0)
}

// MinFloat32 is the lowest finite float32, which attention masks add to the
// scores they hide (as transformers does), so that a fully hidden row
// still gives finite values.
const MinFloat32 = -math.MaxFloat32

// AdditiveMask turns a boolean tensor into an additive attention bias: 0
// where allowed, MinFloat32 elsewhere.
func (b *Builder) AdditiveMask(allowed Value) Value {
	return b.Where(allowed, b.ScalarFloat32(0), b.ScalarFloat32(MinFloat32))
}

// SplitHeads reshapes [batch, seq, heads*headDim] into
// [batch, heads, seq, headDim].
func (b *Builder) SplitHeads(x Value, heads, headDim int64) Value {
	return b.Transpose(b.Reshape(x, 0, 0, heads, headDim), 0, 2, 1, 3)
}

// MergeHeads reshapes [batch, heads, seq, headDim] back into
// [batch, seq, heads*headDim].
func (b *Builder) MergeHeads(x Value, heads, headDim int64) Value {
	return b.Reshape(b.Transpose(x, 0, 2, 1, 3), 0, 0, heads*headDim)
}

// Attention returns softmax(q @ kᵀ * scale + bias) @ v for q [..., s, d],
// k and v [..., t, d], all of the given rank, and bias broadcastable to
// [..., s, t]; bias may be empty.
func (b *Builder) Attention(q, k, v, bias Value, rank int, scale float32) Value {
	perm := make([]int64, rank)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[rank-2], perm[rank-1] = perm[rank-1], perm[rank-2]
	scores := b.Mul(b.MatMul(q, b.Transpose(k, perm...)), b.ScalarFloat32(scale))
	if bias != "" {
		scores = b.Add(scores, bias)
	}
	return b.MatMul(b.Softmax(scores, -1), v)
}
