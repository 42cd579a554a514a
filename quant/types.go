package quant

import (
	"runner/onnx"
	"runner/onnx/onnxpb"
)

// elemTypes infers the element type of every value of the model: from the
// graphs' declared inputs, outputs and value_info, the initializers, and
// per-operator rules for node outputs. Values it cannot type are absent.
func elemTypes(e *editor) map[string]onnx.ElemType {
	types := map[string]onnx.ElemType{}
	for _, s := range e.scopes {
		for _, list := range [][]*onnxpb.ValueInfoProto{s.g.GetInput(), s.g.GetValueInfo(), s.g.GetOutput()} {
			for _, v := range list {
				if et := valueElem(v); et != onnx.Undefined {
					types[v.GetName()] = et
				}
			}
		}
		for _, t := range s.g.GetInitializer() {
			types[t.GetName()] = onnx.ElemType(t.GetDataType())
		}
	}
	// Scopes are listed parents first and nodes in order, so one pass
	// types what the rules can, except the outputs of If and Loop nodes,
	// whose bodies come later: a second pass fills those in.
	for range 2 {
		for _, s := range e.scopes {
			for _, n := range s.g.GetNode() {
				for i, o := range n.GetOutput() {
					if _, ok := types[o]; ok || o == "" {
						continue
					}
					if et := outputElem(n, i, types); et != onnx.Undefined {
						types[o] = et
					}
				}
			}
		}
	}
	return types
}

func valueElem(v *onnxpb.ValueInfoProto) onnx.ElemType {
	if tt := v.GetType().GetTensorType(); tt != nil {
		return onnx.ElemType(tt.GetElemType())
	}
	return onnx.Undefined
}

// outputElem applies the operator's typing rule to output i of n.
func outputElem(n *onnxpb.NodeProto, i int, types map[string]onnx.ElemType) onnx.ElemType {
	in := func(j int) onnx.ElemType {
		if j < len(n.GetInput()) {
			return types[n.GetInput()[j]]
		}
		return onnx.Undefined
	}
	dtype := func(name string, def onnx.ElemType) onnx.ElemType {
		if a := attr(n, name); a != nil {
			return onnx.ElemType(a.GetI())
		}
		return def
	}
	op := n.GetOpType()
	switch n.GetDomain() {
	case "", "ai.onnx":
	case contribDomain:
		switch op {
		case "DynamicQuantizeMatMul", "MatMulIntegerToFloat":
			return onnx.Float
		case "GatherBlockQuantized":
			return in(2)
		}
		return in(0)
	default:
		return onnx.Undefined
	}
	switch op {
	case "Cast":
		return dtype("to", onnx.Undefined)
	case "CastLike":
		return in(1)
	case "Shape", "Size", "NonZero", "ArgMax", "ArgMin":
		return onnx.Int64
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "IsInf":
		return onnx.Bool
	case "Constant":
		return constantElem(n)
	case "ConstantOfShape":
		if a := attr(n, "value"); a != nil && a.GetT() != nil {
			return onnx.ElemType(a.GetT().GetDataType())
		}
		return onnx.Float
	case "EyeLike":
		return dtype("dtype", in(0))
	case "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike":
		return dtype("dtype", onnx.Float)
	case "Multinomial":
		return dtype("dtype", onnx.Int32)
	case "TopK":
		if i == 1 {
			return onnx.Int64
		}
	case "Unique":
		if i > 0 {
			return onnx.Int64
		}
	case "DynamicQuantizeLinear":
		if i == 1 {
			return onnx.Float
		}
		return onnx.Uint8
	case "QuantizeLinear":
		if z := in(2); z != onnx.Undefined {
			return z
		}
		return onnx.Uint8
	case "DequantizeLinear":
		return in(1)
	case "MatMulInteger", "ConvInteger":
		return onnx.Int32
	case "Where":
		return in(1)
	case "OneHot":
		return in(2)
	case "If":
		if a := attr(n, "then_branch"); a != nil && i < len(a.GetG().GetOutput()) {
			return valueElem(a.GetG().GetOutput()[i])
		}
		return onnx.Undefined
	case "Loop":
		if a := attr(n, "body"); a != nil && i+1 < len(a.GetG().GetOutput()) {
			return valueElem(a.GetG().GetOutput()[i+1])
		}
		return onnx.Undefined
	case "Scan":
		return onnx.Undefined
	}
	return in(0)
}

// constantElem returns the type of a Constant node's value.
func constantElem(n *onnxpb.NodeProto) onnx.ElemType {
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "value":
			return onnx.ElemType(a.GetT().GetDataType())
		case "value_float", "value_floats":
			return onnx.Float
		case "value_int", "value_ints":
			return onnx.Int64
		case "value_string", "value_strings":
			return onnx.String
		}
	}
	return onnx.Undefined
}
