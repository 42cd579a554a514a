package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// float32Ops run in float32 in an fp16 model: ONNX gives them no float16
// form (Range, the quantisation operators), transformers.js's conversion
// keeps them (Resize, TopK, CumSum, Min, Max...), or their float16 result
// loses too much: squares and their means overflow half precision for
// activations above 256, as an RMSNorm computes them.
var float32Ops = []string{
	"Range", "Resize", "Upsample", "RoiAlign", "NonMaxSuppression", "TopK", "CumSum", "Min", "Max",
	"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
	"DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear",
	"Pow", "ReduceMean", "ReduceSumSquare", "ReduceL2", "ReduceLogSumExp",
}

// anyFloatInput are operator inputs that take any element type, so they
// need no cast: input 0 of Cast, Shape and Size.
var anyFloatInput = []string{"Cast", "Shape", "Size"}

// float32Inputs are operator inputs typed float32 whatever the data's
// type (Resize's roi and scales, Upsample's scales).
var float32Inputs = map[string][]int{"Resize": {1, 2}, "Upsample": {1}}

// rotaryOps are the operators that compute rotary position embeddings'
// angles from integer positions; such chains stay float32, since half
// precision cannot tell positions above 2048 apart.
var rotaryOps = []string{
	"Cast", "Mul", "Add", "Sub", "Div", "MatMul", "Unsqueeze", "Squeeze", "Reshape", "Transpose",
	"Concat", "Expand", "Slice", "Gather", "Identity", "Neg", "Tile", "Cos", "Sin",
}

// Half-precision conversion of constants: values beyond ±maxHalf become
// ±maxHalf (so that attention masks stay finite when scores are added to
// them), non-zero values nearer zero than minHalf become ±minHalf, as
// transformers.js's conversion does.
const (
	maxHalf = 1e4
	minHalf = 1e-7
)

type precision int8

const (
	half precision = iota + 1
	single
	anyPrecision
)

// fp16 is the state of one fp16 conversion.
type fp16 struct {
	e     *editor
	opts  Options
	rep   *Report
	types map[string]onnx.ElemType
	// node is the precision each node computes in.
	node map[*onnxpb.NodeProto]precision
	// value is the precision of each float value after conversion.
	value map[string]precision
	// constant marks initializers and Constant outputs, whose precision
	// follows their readers.
	constant map[string]bool
	// input marks the model's float32 inputs, cast to half precision
	// where read.
	input map[string]bool
}

// convertFloat16 makes the fp16 variant: weights and computation in half
// precision, the model's float32 inputs and outputs kept float32 with a
// Cast at each edge, and the operators float32Ops names (with what follows
// from them alone) kept in float32 with Casts around them.
func convertFloat16(e *editor, opts Options, rep *Report) error {
	c := &fp16{
		e: e, opts: opts, rep: rep, types: elemTypes(e),
		node: map[*onnxpb.NodeProto]precision{}, value: map[string]precision{}, constant: map[string]bool{},
		input: map[string]bool{},
	}
	for _, s := range e.scopes {
		for _, t := range s.g.GetInitializer() {
			c.constant[t.GetName()] = true
		}
		for _, n := range s.g.GetNode() {
			if n.GetOpType() == "Constant" {
				c.constant[firstOutput(n)] = true
			}
		}
	}
	c.decide()
	c.decideConstants()
	if err := c.rewrite(); err != nil {
		return err
	}
	return nil
}

func (c *fp16) isFloat(v string) bool { return v != "" && c.types[v] == onnx.Float }

// decide chooses each node's precision, in graph order.
func (c *fp16) decide() {
	rotary := c.rotaryChains()
	for i, s := range c.e.scopes {
		for _, v := range s.g.GetInput() {
			if c.isFloat(v.GetName()) {
				c.value[v.GetName()] = half
				if i == 0 {
					c.value[v.GetName()] = single // kept float32
					c.input[v.GetName()] = true
				}
			}
		}
		for _, n := range s.g.GetNode() {
			p, why := c.nodePrecision(n, rotary)
			c.node[n] = p
			hasFloat := false
			for _, o := range n.GetOutput() {
				if c.isFloat(o) {
					hasFloat = true
					if !c.constant[o] {
						c.value[o] = p
					}
				}
			}
			for _, in := range n.GetInput() {
				hasFloat = hasFloat || c.isFloat(in)
			}
			switch {
			case !hasFloat || n.GetOpType() == "Constant":
			case p == single:
				c.rep.skip(n, why)
			default:
				c.rep.quantized(n.GetOpType())
			}
		}
	}
}

// nodePrecision decides one node: float32 for the operators kept so, the
// rotary chains, and nodes whose computed float inputs are all float32.
func (c *fp16) nodePrecision(n *onnxpb.NodeProto, rotary map[*onnxpb.NodeProto]bool) (precision, string) {
	op := n.GetOpType()
	switch {
	case excluded(n, c.opts.Exclude):
		return single, reasonExcluded
	case n.GetDomain() != "" && n.GetDomain() != "ai.onnx" && n.GetDomain() != contribDomain:
		return single, reasonUnknownDomain
	case slices.Contains(float32Ops, op) || slices.Contains(c.opts.KeepFloat32, op):
		return single, reasonBlockedOp
	case rotary[n]:
		return single, "computes rotary position angles (half precision cannot tell positions above 2048 apart)"
	}
	computed, allSingle := 0, true
	for _, in := range n.GetInput() {
		if !c.isFloat(in) || c.constant[in] {
			continue
		}
		computed++
		// The model's inputs are float32 only at the edge: they count as
		// half precision.
		allSingle = allSingle && c.value[in] == single && !c.input[in]
	}
	if computed > 0 && allSingle && !slices.Contains(anyFloatInput, op) {
		return single, "its inputs come from float32 operators"
	}
	return half, ""
}

// rotaryChains finds the nodes that turn integer positions into the angles
// Cos and Sin take: walking back from each Cos and Sin through arithmetic
// and shape operators to Casts from integers and constants. A chain that
// reaches anything else (activations) is not one.
func (c *fp16) rotaryChains() map[*onnxpb.NodeProto]bool {
	out := map[*onnxpb.NodeProto]bool{}
	for _, s := range c.e.scopes {
		for _, n := range s.g.GetNode() {
			if op := n.GetOpType(); (op != "Cos" && op != "Sin") || n.GetDomain() != "" {
				continue
			}
			chain := map[*onnxpb.NodeProto]bool{}
			if c.walkRotary(s, n, chain) {
				for m := range chain {
					out[m] = true
				}
			}
		}
	}
	return out
}

func (c *fp16) walkRotary(s *scope, n *onnxpb.NodeProto, chain map[*onnxpb.NodeProto]bool) bool {
	if chain[n] {
		return true
	}
	if n.GetDomain() != "" || !slices.Contains(rotaryOps, n.GetOpType()) {
		return false
	}
	chain[n] = true
	if n.GetOpType() == "Cast" {
		// The source: a Cast from integers.
		in := n.GetInput()[0]
		return !c.isFloat(in) && c.types[in] != onnx.Float16 && c.types[in] != onnx.Undefined
	}
	for _, in := range n.GetInput() {
		if !c.isFloat(in) || c.constant[in] {
			continue
		}
		p := s.producerOf(in)
		if p == nil || !c.walkRotary(s, p, chain) {
			return false
		}
	}
	return true
}

// want returns the precision node n needs on input slot i.
func (c *fp16) want(n *onnxpb.NodeProto, i int) precision {
	op := n.GetOpType()
	switch {
	case i == 0 && slices.Contains(anyFloatInput, op) && n.GetDomain() == "":
		return anyPrecision
	case slices.Contains(float32Inputs[op], i) && n.GetDomain() == "":
		return single
	}
	return c.node[n]
}

// decideConstants makes each float constant half precision when any reader
// computes in half precision, else leaves it float32.
func (c *fp16) decideConstants() {
	for name := range c.constant {
		if c.isFloat(name) {
			c.value[name] = single
		}
	}
	for _, s := range c.e.scopes {
		for _, n := range s.g.GetNode() {
			for i, in := range n.GetInput() {
				if c.constant[in] && c.isFloat(in) && c.want(n, i) == half {
					c.value[in] = half
				}
			}
		}
	}
}

// rewrite changes the model as decided: constants and value types to half
// precision, Casts where a reader needs the other precision, and Casts
// back to float32 before the model's outputs.
func (c *fp16) rewrite() error {
	for _, s := range c.e.scopes {
		for _, t := range s.g.GetInitializer() {
			if c.isFloat(t.GetName()) && c.value[t.GetName()] == half {
				if err := toHalf(t); err != nil {
					return err
				}
			}
		}
		for _, n := range s.g.GetNode() {
			if err := c.rewriteNode(n); err != nil {
				return err
			}
		}
		for _, list := range [][]*onnxpb.ValueInfoProto{s.g.GetValueInfo(), s.g.GetInput()} {
			for _, v := range list {
				c.retype(v)
			}
		}
		if s != c.e.main() {
			for _, v := range s.g.GetOutput() {
				c.retype(v)
			}
		}
	}
	for _, s := range c.e.scopes {
		for _, n := range slices.Clone(s.g.GetNode()) {
			for i, in := range n.GetInput() {
				if !c.isFloat(in) {
					continue
				}
				want := c.want(n, i)
				if want == anyPrecision || c.value[in] == want {
					continue
				}
				cast, err := c.castOf(s, n, in, want)
				if err != nil {
					return err
				}
				n.Input[i] = string(cast)
			}
		}
	}
	return c.fixOutputs()
}

// rewriteNode converts what a node computes in half precision makes:
// Casts to float, constants, ConstantOfShape's value.
func (c *fp16) rewriteNode(n *onnxpb.NodeProto) error {
	out := firstOutput(n)
	if n.GetDomain() != "" || !c.isFloat(out) || c.value[out] != half {
		return nil
	}
	switch n.GetOpType() {
	case "Cast":
		attr(n, "to").I = ptr(int64(onnx.Float16))
	case "Constant":
		if a := attr(n, "value"); a != nil && a.GetT() != nil {
			return toHalf(a.GetT())
		}
		if a := attr(n, "value_float"); a != nil {
			t := onnx.Float32Tensor("", nil, []float32{a.GetF()})
			n.Attribute = []*onnxpb.AttributeProto{{Name: ptr("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}}
			return toHalf(t)
		}
		if a := attr(n, "value_floats"); a != nil {
			t := onnx.Float32Tensor("", []int64{int64(len(a.GetFloats()))}, a.GetFloats())
			n.Attribute = []*onnxpb.AttributeProto{{Name: ptr("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}}
			return toHalf(t)
		}
	case "ConstantOfShape":
		if a := attr(n, "value"); a != nil && a.GetT() != nil {
			return toHalf(a.GetT())
		}
		a, _ := graph.Attribute("value", onnx.Float16Tensor("", []int64{1}, []float32{0}))
		n.Attribute = append(n.Attribute, a)
	case "EyeLike":
		if a := attr(n, "dtype"); a != nil {
			a.I = ptr(int64(onnx.Float16))
		}
	}
	return nil
}

// retype sets a declared value's type to float16 where it became so.
func (c *fp16) retype(v *onnxpb.ValueInfoProto) {
	if tt := v.GetType().GetTensorType(); tt != nil && c.isFloat(v.GetName()) && c.value[v.GetName()] == half {
		tt.ElemType = ptr(int32(onnx.Float16))
	}
}

// castOf returns v cast to precision p for node n of s, adding the Cast
// before n the first time this graph needs it.
func (c *fp16) castOf(s *scope, n *onnxpb.NodeProto, v string, p precision) (graph.Value, error) {
	to, suffix := onnx.Float16, "_fp16"
	if p == single {
		to, suffix = onnx.Float, "_fp32"
	}
	key := "cast\x00" + v + suffix
	if made, ok := s.made[key]; ok {
		return made[0], nil
	}
	name := c.e.freshName(v + suffix)
	err := c.e.insertBefore(s, n, func(b *graph.Builder) {
		b.AddNode(graph.Node{Op: "Cast", Name: trimSlash(name), Inputs: []graph.Value{graph.Value(v)}, Outputs: []string{name}, Attrs: graph.Attrs{"to": int64(to)}})
	})
	if err != nil {
		return "", fmt.Errorf("cast %s: %w", v, err)
	}
	s.made[key] = []graph.Value{graph.Value(name)}
	return graph.Value(name), nil
}

// fixOutputs keeps the model's float32 outputs float32: a half-precision
// output is renamed and cast back under its own name. Subgraph outputs
// take the precision their enclosing node computes in (half).
func (c *fp16) fixOutputs() error {
	for i, s := range c.e.scopes {
		want := half
		if i == 0 {
			want = single
		}
		for _, o := range s.g.GetOutput() {
			name := o.GetName()
			if !c.isFloat(name) || c.value[name] == want {
				continue
			}
			p := s.producer[name]
			if p == nil {
				return fmt.Errorf("%w: output %q is not made by a node of its graph", ErrUnsupported, name)
			}
			inner := c.e.freshName(name + map[precision]string{half: "_fp16", single: "_fp32"}[c.value[name]])
			for _, sc := range c.e.scopes {
				for _, n := range sc.g.GetNode() {
					for j, in := range n.GetInput() {
						if in == name {
							n.Input[j] = inner
						}
					}
				}
			}
			for j, out := range p.Output {
				if out == name {
					p.Output[j] = inner
				}
			}
			s.producer[inner] = p
			c.e.claim(inner)
			to := onnx.Float
			if want == half {
				to = onnx.Float16
			}
			at := slices.Index(s.g.Node, p) + 1
			start := len(s.g.Node)
			s.g.Node = append(s.g.Node, &onnxpb.NodeProto{
				Name: ptr(trimSlash(name) + "_cast"), OpType: ptr("Cast"), Input: []string{inner}, Output: []string{name},
				Attribute: []*onnxpb.AttributeProto{{Name: ptr("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: ptr(int64(to))}},
			})
			c.e.placeNew(s, start, at)
			c.value[inner] = c.value[name]
			c.types[inner] = onnx.Float
			c.value[name] = want
		}
	}
	return nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}

// toHalf converts a float32 tensor to float16 in place, clamping as
// maxHalf and minHalf say.
func toHalf(t *onnxpb.TensorProto) error {
	if onnx.ElemType(t.GetDataType()) != onnx.Float {
		return nil
	}
	data, err := onnx.TensorFloat32s(t)
	if err != nil {
		return err
	}
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		switch {
		case math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v == 0:
		case v > maxHalf:
			v = maxHalf
		case v < -maxHalf:
			v = -maxHalf
		case v > 0 && v < minHalf:
			v = minHalf
		case v < 0 && v > -minHalf:
			v = -minHalf
		}
		binary.LittleEndian.PutUint16(raw[2*i:], onnx.Float32ToFloat16(v))
	}
	t.DataType = ptr(int32(onnx.Float16))
	t.RawData = raw
	t.FloatData = nil
	return nil
}

func ptr[T any](v T) *T { return &v }
