package quant

import (
	"fmt"
	"strings"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// quantizeDynamic makes the 8-bit variants (q8, int8, uint8) as ONNX
// Runtime's dynamic quantiser does, so that its fused kernels run them:
//
//   - each linear layer x @ W becomes
//     DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zero, W_zero)
//     → Cast to float → Mul by x_scale·W_scale, which ONNX Runtime fuses
//     into DynamicQuantizeMatMul when it loads the model. W is int8
//     (symmetric) or uint8 (asymmetric), per output channel when asked;
//     activations are uint8, quantised at run time, once per tensor
//     however many layers read it.
//   - each embedding table read by Gather is stored as uint8 (one scale and
//     zero point for the table) and dequantised after the Gather.
func quantizeDynamic(e *editor, opts Options, rep *Report) error {
	if err := e.requireOpset("", 11); err != nil { // DynamicQuantizeLinear
		return err
	}
	weights := map[string]qweight{}
	for _, s := range e.scopes {
		for _, n := range append([]*onnxpb.NodeProto(nil), s.g.GetNode()...) {
			op := n.GetOpType()
			if n.GetDomain() != "" || (op != "MatMul" && op != "Gemm" && op != "Gather") {
				continue
			}
			if excluded(n, opts.Exclude) {
				rep.skip(n, reasonExcluded)
				continue
			}
			if op == "Gather" {
				if opts.SkipGather {
					continue
				}
				ok, err := quantizeGather(e, s, n, weights, rep)
				if err != nil {
					return err
				}
				if ok {
					rep.quantized(op)
				}
				continue
			}
			l, why := s.matchLinear(n)
			if why != "" {
				rep.skip(n, why)
				continue
			}
			if err := quantizeLinear8(e, s, l, opts, weights, rep); err != nil {
				return err
			}
			rep.quantized(op)
		}
	}
	return nil
}

// qweight names a quantised weight's initializers.
type qweight struct {
	data, scale, zero graph.Value
}

// weight8 quantises a linear layer's weight (once, however many layers
// share it) and adds it to the model.
func weight8(e *editor, l *linear, opts Options, cache map[string]qweight, rep *Report) (qweight, error) {
	key := fmt.Sprintf("%s\x00%g", l.w.key(), l.alpha)
	if q, ok := cache[key]; ok {
		return q, nil
	}
	w, err := l.w.matrix()
	if err != nil {
		return qweight{}, err
	}
	if l.alpha != 1 {
		for i := range w {
			w[i] *= l.alpha
		}
	}
	K, N := l.w.shape()
	q := quantizeMatrix8(w, K, N, opts.PerChannel, opts.SignedWeights, opts.SignedWeights, opts.ReduceRange)
	elem := onnx.Uint8
	if opts.SignedWeights {
		elem = onnx.Int8
	}
	base := l.w.init.GetName()
	var params []int64 // per tensor: scalars
	if opts.PerChannel {
		params = []int64{int64(N)}
	}
	qw := qweight{
		data:  e.addInitializer(onnx.RawTensor(base+"_quantized", elem, []int64{int64(K), int64(N)}, q.data)),
		scale: e.addInitializer(onnx.Float32Tensor(base+"_scale", params, q.scales)),
		zero:  e.addInitializer(onnx.RawTensor(base+"_zero_point", elem, params, q.zeros)),
	}
	cache[key] = qw
	rep.rewrote(l.node.GetOpType(), l.w.init, qw.data, qw.scale, qw.zero)
	return qw, nil
}

// quantizeLinear8 rewrites one linear layer into ONNX Runtime's dynamic
// quantisation pattern.
func quantizeLinear8(e *editor, s *scope, l *linear, opts Options, weights map[string]qweight, rep *Report) error {
	qw, err := weight8(e, l, opts, weights, rep)
	if err != nil {
		return fmt.Errorf("quantise %s: %w", l.node.GetName(), err)
	}
	xq, err := dynamicQuantize(e, s, l.node, l.x)
	if err != nil {
		return err
	}
	out := firstOutput(l.node)
	bias, beta := l.bias, l.beta
	return e.replace(s, l.node, func(b *graph.Builder, base string) {
		acc := b.AddNode(graph.Node{Op: "MatMulInteger", Name: base + "_quant", Inputs: []graph.Value{xq[0], qw.data, xq[2], qw.zero}})[0]
		f := b.AddNode(graph.Node{Op: "Cast", Name: base + "_quant_cast", Inputs: []graph.Value{acc}, Attrs: graph.Attrs{"to": int64(onnx.Float)}})[0]
		scales := b.AddNode(graph.Node{Op: "Mul", Name: base + "_quant_scales_mul", Inputs: []graph.Value{xq[1], qw.scale}})[0]
		if bias == "" || beta == 0 {
			b.AddNode(graph.Node{Op: "Mul", Name: base + "_quant_output_scale_mul", Inputs: []graph.Value{f, scales}, Outputs: []string{out}})
			return
		}
		y := b.AddNode(graph.Node{Op: "Mul", Name: base + "_quant_output_scale_mul", Inputs: []graph.Value{f, scales}})[0]
		c := graph.Value(bias)
		if beta != 1 {
			c = b.AddNode(graph.Node{Op: "Mul", Name: base + "_bias_beta", Inputs: []graph.Value{c, b.ScalarFloat32(beta)}})[0]
		}
		b.AddNode(graph.Node{Op: "Add", Name: base + "_bias_add", Inputs: []graph.Value{y, c}, Outputs: []string{out}})
	})
}

// dynamicQuantize returns the uint8 quantisation of activation x (its
// data, scale and zero point), adding a DynamicQuantizeLinear before node
// the first time x is asked for in this graph.
func dynamicQuantize(e *editor, s *scope, node *onnxpb.NodeProto, x string) ([]graph.Value, error) {
	key := "dql\x00" + x
	if v, ok := s.made[key]; ok {
		return v, nil
	}
	var out []graph.Value
	err := e.insertBefore(s, node, func(b *graph.Builder) {
		out = b.AddNode(graph.Node{
			Op:      "DynamicQuantizeLinear",
			Name:    strings.TrimPrefix(x, "/") + "_QuantizeLinear",
			Inputs:  []graph.Value{graph.Value(x)},
			Outputs: []string{e.freshName(x + "_quantized"), e.freshName(x + "_scale"), e.freshName(x + "_zero_point")},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("quantise %s: %w", x, err)
	}
	s.made[key] = out
	return out, nil
}

// quantizeGather stores the embedding table a Gather reads as uint8, one
// scale and zero point for the table (as ONNX Runtime does), and
// dequantises the rows the Gather takes. ok is false when the Gather does
// not read a constant float32 matrix.
func quantizeGather(e *editor, s *scope, n *onnxpb.NodeProto, cache map[string]qweight, rep *Report) (ok bool, err error) {
	in := n.GetInput()
	if len(in) != 2 {
		return false, nil
	}
	t := s.initializer(in[0])
	if t == nil || onnx.ElemType(t.GetDataType()) != onnx.Float {
		return false, nil
	}
	if len(t.GetDims()) < 2 {
		return false, nil
	}
	qt, ok := cache["gather\x00"+t.GetName()]
	if !ok {
		data, err := onnx.TensorFloat32s(t)
		if err != nil {
			return false, fmt.Errorf("quantise %s: %w", n.GetName(), err)
		}
		q := quantizeMatrix8(data, len(data), 1, false, false, false, false)
		base := t.GetName()
		qt = qweight{
			data:  e.addInitializer(onnx.RawTensor(base+"_quantized", onnx.Uint8, t.GetDims(), q.data)),
			scale: e.addInitializer(onnx.Float32Tensor(base+"_scale", nil, q.scales)),
			zero:  e.addInitializer(onnx.RawTensor(base+"_zero_point", onnx.Uint8, nil, q.zeros)),
		}
		cache["gather\x00"+t.GetName()] = qt
		rep.rewrote("Gather", t, qt.data, qt.scale, qt.zero)
	}
	out := firstOutput(n)
	axis := intAttr(n, "axis", 0)
	indices := graph.Value(in[1])
	err = e.replace(s, n, func(b *graph.Builder, base string) {
		g := b.AddNode(graph.Node{Op: "Gather", Name: base + "_quant", Inputs: []graph.Value{qt.data, indices}, Attrs: graph.Attrs{"axis": axis}})[0]
		b.AddNode(graph.Node{Op: "DequantizeLinear", Name: base + "_DequantizeLinear", Inputs: []graph.Value{g, qt.scale, qt.zero}, Outputs: []string{out}})
	})
	return err == nil, err
}
