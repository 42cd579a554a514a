package graph

import "runner/onnx"

// The methods below add one ONNX operator each, in the form opsets 13 to 17
// define it (axes and shapes as inputs where the opset takes them so; the
// Reduce* operators with axes as an attribute, as before opset 18).

// MatMul adds a MatMul node: a @ c with numpy broadcasting.
func (b *Builder) MatMul(a, c Value) Value { return b.Op("MatMul", a, c) }

// Add adds an Add node.
func (b *Builder) Add(a, c Value) Value { return b.Op("Add", a, c) }

// Sub adds a Sub node.
func (b *Builder) Sub(a, c Value) Value { return b.Op("Sub", a, c) }

// Mul adds a Mul node.
func (b *Builder) Mul(a, c Value) Value { return b.Op("Mul", a, c) }

// Div adds a Div node.
func (b *Builder) Div(a, c Value) Value { return b.Op("Div", a, c) }

// Neg adds a Neg node.
func (b *Builder) Neg(x Value) Value { return b.Op("Neg", x) }

// Cast adds a Cast node converting x to elem.
func (b *Builder) Cast(x Value, elem onnx.ElemType) Value {
	return b.OpAttrs("Cast", Attrs{"to": int64(elem)}, x)
}

// Reshape adds a Reshape node to a constant shape; as in ONNX, 0 copies the
// input's dimension and -1 takes what is left.
func (b *Builder) Reshape(x Value, shape ...int64) Value {
	return b.Op("Reshape", x, b.ConstInt64s(shape...))
}

// Transpose adds a Transpose node with the given permutation.
func (b *Builder) Transpose(x Value, perm ...int64) Value {
	return b.OpAttrs("Transpose", Attrs{"perm": perm}, x)
}

// Unsqueeze adds an Unsqueeze node inserting dimensions at axes.
func (b *Builder) Unsqueeze(x Value, axes ...int64) Value {
	return b.Op("Unsqueeze", x, b.ConstInt64s(axes...))
}

// Squeeze adds a Squeeze node removing the dimensions at axes.
func (b *Builder) Squeeze(x Value, axes ...int64) Value {
	return b.Op("Squeeze", x, b.ConstInt64s(axes...))
}

// Concat adds a Concat node joining xs along axis.
func (b *Builder) Concat(axis int64, xs ...Value) Value {
	return b.OpAttrs("Concat", Attrs{"axis": axis}, xs...)
}

// Gather adds a Gather node taking the entries of x at indices along axis.
func (b *Builder) Gather(x, indices Value, axis int64) Value {
	return b.OpAttrs("Gather", Attrs{"axis": axis}, x, indices)
}

// Shape adds a Shape node.
func (b *Builder) Shape(x Value) Value { return b.Op("Shape", x) }

// Range adds a Range node: start, start+delta... below limit (scalars).
func (b *Builder) Range(start, limit, delta Value) Value {
	return b.Op("Range", start, limit, delta)
}

// Where adds a Where node: a where cond holds, else c.
func (b *Builder) Where(cond, a, c Value) Value { return b.Op("Where", cond, a, c) }

// Softmax adds a Softmax node over axis.
func (b *Builder) Softmax(x Value, axis int64) Value {
	return b.OpAttrs("Softmax", Attrs{"axis": axis}, x)
}

// ReduceMean adds a ReduceMean node over axes, keeping them as size 1 when
// keepDims is set (axes as an attribute: opsets before 18).
func (b *Builder) ReduceMean(x Value, keepDims bool, axes ...int64) Value {
	keep := int64(0)
	if keepDims {
		keep = 1
	}
	return b.OpAttrs("ReduceMean", Attrs{"axes": axes, "keepdims": keep}, x)
}

// Split adds a Split node cutting x along axis into pieces of the given
// sizes.
func (b *Builder) Split(x Value, axis int64, sizes ...int64) []Value {
	return b.AddNode(Node{
		Op:         "Split",
		Inputs:     []Value{x, b.ConstInt64s(sizes...)},
		NumOutputs: len(sizes),
		Attrs:      Attrs{"axis": axis},
	})
}

// Slice adds a Slice node taking [starts, ends) along axes (constants).
func (b *Builder) Slice(x Value, starts, ends, axes []int64) Value {
	return b.Op("Slice", x, b.ConstInt64s(starts...), b.ConstInt64s(ends...), b.ConstInt64s(axes...))
}
