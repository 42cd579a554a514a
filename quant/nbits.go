package quant

import (
	"fmt"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// contribDomain is ONNX Runtime's own operator domain.
const contribDomain = "com.microsoft"

// quantizeNBits makes the q4 variant: each linear layer's weight is stored
// in 4 bits, in blocks of opts.BlockSize weights along the input dimension
// with a float32 scale each (and a 4-bit zero point each when asymmetric),
// and the layer becomes one com.microsoft.MatMulNBits, which dequantises
// as it multiplies. A language model's head and its embedding tables stay
// in float32 unless opts asks for them (embeddings then take 8 bits, as
// under q8).
func quantizeNBits(e *editor, opts Options, rep *Report) error {
	if err := e.requireOpset(contribDomain, 1); err != nil {
		return err
	}
	if opts.Embeddings {
		if err := e.requireOpset("", 10); err != nil { // DequantizeLinear
			return err
		}
	}
	weights := map[string]qweight{}
	var linears []*linear
	var gathers []*onnxpb.NodeProto
	owner := map[*onnxpb.NodeProto]*scope{}
	// Find the candidates first: whether a layer is the head depends on
	// the Gathers, which are rewritten after.
	for _, s := range e.scopes {
		for _, n := range s.g.GetNode() {
			op := n.GetOpType()
			if n.GetDomain() != "" || (op != "MatMul" && op != "Gemm" && op != "Gather") {
				continue
			}
			if excluded(n, opts.Exclude) {
				rep.skip(n, reasonExcluded)
				continue
			}
			owner[n] = s
			if op == "Gather" {
				gathers = append(gathers, n)
				continue
			}
			l, why := s.matchLinear(n)
			switch {
			case why != "":
				rep.skip(n, why)
			case !opts.Head && e.isHead(l):
				rep.skip(n, reasonHead)
			default:
				linears = append(linears, l)
			}
		}
	}
	for _, l := range linears {
		if err := quantizeLinear4(e, owner[l.node], l, opts, weights, rep); err != nil {
			return err
		}
		rep.quantized(l.node.GetOpType())
	}
	for _, n := range gathers {
		if t := owner[n].initializer(n.GetInput()[0]); t == nil || onnx.ElemType(t.GetDataType()) != onnx.Float {
			continue // a Gather of shapes or indices: no table
		}
		if !opts.Embeddings {
			rep.skip(n, reasonEmbedding)
			continue
		}
		ok, err := quantizeGather(e, owner[n], n, weights, rep)
		if err != nil {
			return err
		}
		if ok {
			rep.quantized("Gather")
		} else {
			rep.skip(n, reasonTableRank)
		}
	}
	return nil
}

// quantizeLinear4 rewrites one linear layer into MatMulNBits (plus its
// Gemm bias, if any).
func quantizeLinear4(e *editor, s *scope, l *linear, opts Options, cache map[string]qweight, rep *Report) error {
	K, N := l.w.shape()
	key := fmt.Sprintf("nbits\x00%s\x00%g", l.w.key(), l.alpha)
	qw, ok := cache[key]
	if !ok {
		data, err := onnx.TensorFloat32s(l.w.init)
		if err != nil {
			return fmt.Errorf("quantise %s: %w", l.node.GetName(), err)
		}
		at := l.w.at(data)
		// MatMulNBits stores the weight transposed: row n holds the K
		// weights of output n.
		q := quantizeBlocks4(func(n, k int) float32 { return at(k, n) * l.alpha }, N, K, opts.BlockSize, !opts.Asymmetric)
		blocks := int64((K + opts.BlockSize - 1) / opts.BlockSize)
		base := l.w.init.GetName()
		qw = qweight{
			data:  e.addInitializer(onnx.RawTensor(base+"_Q4", onnx.Uint8, []int64{int64(N), blocks, int64(opts.BlockSize / 2)}, q.data)),
			scale: e.addInitializer(onnx.Float32Tensor(base+"_scales", []int64{int64(N) * blocks}, q.scales)),
		}
		if q.zeros != nil {
			qw.zero = e.addInitializer(onnx.RawTensor(base+"_zero_points", onnx.Uint8, []int64{int64(len(q.zeros))}, q.zeros))
		}
		cache[key] = qw
		rep.rewrote(l.node.GetOpType(), l.w.init, qw.data, qw.scale, qw.zero)
	}
	inputs := []graph.Value{graph.Value(l.x), qw.data, qw.scale}
	if qw.zero != "" {
		inputs = append(inputs, qw.zero)
	}
	attrs := graph.Attrs{"K": int64(K), "N": int64(N), "bits": int64(4), "block_size": int64(opts.BlockSize)}
	if opts.AccuracyLevel > 0 {
		attrs["accuracy_level"] = int64(opts.AccuracyLevel)
	}
	out := firstOutput(l.node)
	bias, beta := l.bias, l.beta
	return e.replace(s, l.node, func(b *graph.Builder, base string) {
		node := graph.Node{Op: "MatMulNBits", Domain: contribDomain, Name: base + "_Q4", Inputs: inputs, Attrs: attrs}
		if bias == "" || beta == 0 {
			node.Outputs = []string{out}
			b.AddNode(node)
			return
		}
		y := b.AddNode(node)[0]
		c := graph.Value(bias)
		if beta != 1 {
			c = b.AddNode(graph.Node{Op: "Mul", Name: base + "_bias_beta", Inputs: []graph.Value{c, b.ScalarFloat32(beta)}})[0]
		}
		b.AddNode(graph.Node{Op: "Add", Name: base + "_bias_add", Inputs: []graph.Value{y, c}, Outputs: []string{out}})
	})
}
