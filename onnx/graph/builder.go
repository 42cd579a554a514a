// Package graph builds ONNX graphs op by op, for the fixture models and for
// the quantiser's rewrites.
//
// # Building
//
// A [Builder] collects inputs, initializers, nodes and outputs; every method
// returns the [Value] it defines, so a model reads like the code of its
// forward pass:
//
//	b := graph.New("tiny")
//	x := b.Input("x", onnx.Float, graph.Sym("batch_size"), graph.Fixed(4))
//	w := b.Float32("w", []int64{4, 2}, weights)
//	b.Output("y", b.MatMul(x, w), onnx.Float, graph.Sym("batch_size"), graph.Fixed(2))
//	model, err := b.Model(graph.ModelOptions{})
//
// Methods never fail on their own: the first mistake (an unknown input, a
// name defined twice, an attribute of an unsupported type) is remembered and
// returned by [Builder.Model] or [Builder.Err], as bufio.Writer does.
//
// Node names follow the exporters' style: [Builder.Scope] opens a path such
// as "/model/layers.0/self_attn", nodes are named "/model/layers.0/MatMul"
// and their outputs "/model/layers.0/MatMul_output_0".
//
// # Editing
//
// [Edit] wraps an existing graph, so new nodes and initializers can be
// appended to it with names that do not clash with the ones it has.
package graph

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"runner/onnx"
	"runner/onnx/onnxpb"
)

// Errors of building a graph.
var (
	// ErrUnknownValue is returned when a node reads a value that no input,
	// initializer or earlier node defines.
	ErrUnknownValue = errors.New("unknown value")
	// ErrDuplicate is returned when a name is defined twice.
	ErrDuplicate = errors.New("name already defined")
	// ErrBadArgument is returned for malformed arguments: data that does
	// not fit its shape, attributes of an unsupported type.
	ErrBadArgument = errors.New("bad argument")
)

// Value names a tensor of the graph: an input, an initializer or a node
// output. The empty Value stands for an omitted optional input.
type Value string

// Sym returns a symbolic dimension, sized at run time ("batch_size").
func Sym(name string) onnx.Dim { return onnx.Dim{Param: name} }

// Fixed returns a dimension of a fixed size.
func Fixed(n int64) onnx.Dim { return onnx.Dim{Value: n} }

// Builder adds to one graph. Builders made by Scope share the graph and
// differ only in the prefix of the node names they make. A Builder is not
// safe for concurrent use.
type Builder struct {
	st    *state
	scope string
}

// state is what the builders of one graph share.
type state struct {
	graph    *onnxpb.GraphProto
	defined  map[string]bool // every value name in use
	nodes    map[string]bool // node names in use
	suffix   map[string]int  // next number to try after a node name
	producer map[string]*onnxpb.NodeProto
	consts   map[string]Value // constants made by the Const helpers, by content
	domains  map[string]bool  // operator domains the nodes use
	err      error
}

// New returns a Builder for an empty graph with the given name.
func New(name string) *Builder {
	return Edit(&onnxpb.GraphProto{Name: &name})
}

// Edit returns a Builder that appends to g in place. The names g already
// uses are taken into account, so nothing new clashes with them.
func Edit(g *onnxpb.GraphProto) *Builder {
	st := &state{
		graph:    g,
		defined:  map[string]bool{},
		nodes:    map[string]bool{},
		suffix:   map[string]int{},
		producer: map[string]*onnxpb.NodeProto{},
		consts:   map[string]Value{},
		domains:  map[string]bool{},
	}
	for _, v := range g.GetInput() {
		st.defined[v.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		st.defined[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		st.nodes[n.GetName()] = true
		st.domains[n.GetDomain()] = true
		for _, o := range n.GetOutput() {
			st.defined[o] = true
			st.producer[o] = n
		}
	}
	return &Builder{st: st}
}

// DeclareOuter declares values defined outside the graph, by the graphs
// that enclose it (for a builder that edits an If or Loop body): nodes may
// read them, and nothing new takes their names.
func (b *Builder) DeclareOuter(names ...string) {
	for _, n := range names {
		if n != "" {
			b.st.defined[n] = true
		}
	}
}

// RemoveNode takes n out of the graph and frees its name and the names of
// its outputs, so that a replacement may define them. Readers of its outputs
// are left as they are: the replacement must define what they read.
func (b *Builder) RemoveNode(n *onnxpb.NodeProto) {
	nodes := b.st.graph.Node
	for i, m := range nodes {
		if m == n {
			b.st.graph.Node = append(nodes[:i:i], nodes[i+1:]...)
			break
		}
	}
	delete(b.st.nodes, n.GetName())
	for _, o := range n.GetOutput() {
		if b.st.producer[o] == n {
			delete(b.st.producer, o)
			delete(b.st.defined, o)
		}
	}
}

// Graph returns the graph being built. Changing it directly bypasses the
// builder's bookkeeping of names.
func (b *Builder) Graph() *onnxpb.GraphProto { return b.st.graph }

// Err returns the first mistake made while building, if any.
func (b *Builder) Err() error { return b.st.err }

// fail records the first error.
func (b *Builder) fail(err error) {
	if b.st.err == nil {
		b.st.err = err
	}
}

// Scope returns a Builder for the same graph whose nodes are named under
// name, nested in b's own scope ("/model" then "layers.0" gives
// "/model/layers.0").
func (b *Builder) Scope(name string) *Builder {
	return &Builder{st: b.st, scope: b.scope + "/" + name}
}

// define claims a value name, failing on a duplicate.
func (b *Builder) define(name string) bool {
	if name == "" {
		b.fail(fmt.Errorf("%w: empty value name", ErrBadArgument))
		return false
	}
	if b.st.defined[name] {
		b.fail(fmt.Errorf("%w: %q", ErrDuplicate, name))
		return false
	}
	b.st.defined[name] = true
	return true
}

// Has reports whether a value of that name is defined.
func (b *Builder) Has(name string) bool { return b.st.defined[name] }

// Input adds a graph input.
func (b *Builder) Input(name string, elem onnx.ElemType, dims ...onnx.Dim) Value {
	if b.define(name) {
		b.st.graph.Input = append(b.st.graph.Input, ValueInfo(name, elem, dims...))
	}
	return Value(name)
}

// Output declares v as a graph output called name. When v is a node output
// of another name, the node's output is renamed (with every reader of it);
// an input or initializer is passed through an Identity node.
func (b *Builder) Output(name string, v Value, elem onnx.ElemType, dims ...onnx.Dim) {
	if !b.known(v) {
		return
	}
	if string(v) != name {
		if n := b.st.producer[string(v)]; n != nil && b.define(name) {
			b.rename(n, string(v), name)
		} else {
			b.AddNode(Node{Op: "Identity", Inputs: []Value{v}, Outputs: []string{name}})
		}
	}
	b.st.graph.Output = append(b.st.graph.Output, ValueInfo(name, elem, dims...))
}

// rename changes the output old of n to name, in its readers too.
func (b *Builder) rename(n *onnxpb.NodeProto, old, name string) {
	for i, o := range n.Output {
		if o == old {
			n.Output[i] = name
		}
	}
	for _, m := range b.st.graph.Node {
		for i, in := range m.Input {
			if in == old {
				m.Input[i] = name
			}
		}
	}
	for _, o := range b.st.graph.Output {
		if o.GetName() == old {
			o.Name = &name
		}
	}
	delete(b.st.defined, old)
	delete(b.st.producer, old)
	b.st.producer[name] = n
}

// ValueInfo returns the description of a tensor value: element type and
// shape, with symbolic or fixed dimensions.
func ValueInfo(name string, elem onnx.ElemType, dims ...onnx.Dim) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d.Param != "" {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: &name,
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)),
			Shape:    shape,
		}}},
	}
}

// Initializer adds t, whose name must be new, as an initializer.
func (b *Builder) Initializer(t *onnxpb.TensorProto) Value {
	if n := onnx.NumElements(t.GetDims()); t.GetRawData() != nil && n >= 0 {
		if size := onnx.ElemType(t.GetDataType()).Size(); size > 0 && int64(len(t.GetRawData())) != n*int64(size) {
			b.fail(fmt.Errorf("%w: initializer %q has %d bytes for shape %v", ErrBadArgument, t.GetName(), len(t.GetRawData()), t.GetDims()))
		}
	}
	if b.define(t.GetName()) {
		b.st.graph.Initializer = append(b.st.graph.Initializer, t)
	}
	return Value(t.GetName())
}

// Float32 adds a float32 initializer.
func (b *Builder) Float32(name string, dims []int64, data []float32) Value {
	if !b.fits(name, dims, len(data)) {
		return Value(name)
	}
	return b.Initializer(onnx.Float32Tensor(name, dims, data))
}

// Float16 adds a float16 initializer, rounding data to half precision.
func (b *Builder) Float16(name string, dims []int64, data []float32) Value {
	if !b.fits(name, dims, len(data)) {
		return Value(name)
	}
	return b.Initializer(onnx.Float16Tensor(name, dims, data))
}

// Int64 adds an int64 initializer.
func (b *Builder) Int64(name string, dims []int64, data []int64) Value {
	if !b.fits(name, dims, len(data)) {
		return Value(name)
	}
	return b.Initializer(onnx.Int64Tensor(name, dims, data))
}

func (b *Builder) fits(name string, dims []int64, n int) bool {
	if onnx.NumElements(dims) != int64(n) {
		b.fail(fmt.Errorf("%w: initializer %q has %d values for shape %v", ErrBadArgument, name, n, dims))
		return false
	}
	return true
}

// ConstInt64s returns a 1-D int64 constant (shapes, axes, indices). Equal
// constants are made once and shared.
func (b *Builder) ConstInt64s(vals ...int64) Value {
	return b.constant(fmt.Sprint("i64", vals), func(name string) Value {
		return b.Int64(name, []int64{int64(len(vals))}, vals)
	})
}

// ScalarInt64 returns an int64 scalar constant.
func (b *Builder) ScalarInt64(v int64) Value {
	return b.constant(fmt.Sprint("i64 scalar ", v), func(name string) Value {
		return b.Int64(name, nil, []int64{v})
	})
}

// ScalarFloat32 returns a float32 scalar constant.
func (b *Builder) ScalarFloat32(v float32) Value {
	return b.constant(fmt.Sprint("f32 scalar ", v), func(name string) Value {
		return b.Float32(name, nil, []float32{v})
	})
}

// ConstFloat32s returns a 1-D float32 constant.
func (b *Builder) ConstFloat32s(vals ...float32) Value {
	return b.constant(fmt.Sprint("f32", vals), func(name string) Value {
		return b.Float32(name, []int64{int64(len(vals))}, vals)
	})
}

func (b *Builder) constant(key string, build func(name string) Value) Value {
	if v, ok := b.st.consts[key]; ok {
		return v
	}
	name := ""
	for i := len(b.st.consts); ; i++ {
		name = "const_" + strconv.Itoa(i)
		if !b.st.defined[name] {
			break
		}
	}
	v := build(name)
	b.st.consts[key] = v
	return v
}

// known reports whether v is defined, recording an error when not.
func (b *Builder) known(v Value) bool {
	if !b.st.defined[string(v)] {
		b.fail(fmt.Errorf("%w: %q", ErrUnknownValue, v))
		return false
	}
	return true
}

// Attrs are a node's attributes by name. Values may be int, int64,
// float32, float64, string, []int, []int64, []float32, []string,
// *onnxpb.TensorProto or *onnxpb.GraphProto.
type Attrs map[string]any

// Node describes a node to add.
type Node struct {
	Op string
	// Domain is the operator set's domain: "" for ONNX's own,
	// "com.microsoft" for ONNX Runtime's contrib operators.
	Domain string
	// Name is the node's name within the builder's scope; empty means Op.
	// A number is appended when the name is taken.
	Name   string
	Inputs []Value
	// Outputs names the outputs; when empty, NumOutputs (at least 1)
	// outputs are named after the node.
	Outputs    []string
	NumOutputs int
	Attrs      Attrs
}

// AddNode adds a node and returns its outputs.
func (b *Builder) AddNode(n Node) []Value {
	for _, in := range n.Inputs {
		if in != "" && !b.known(in) {
			return b.placeholders(n)
		}
	}
	attrs, err := attributes(n.Attrs)
	if err != nil {
		b.fail(fmt.Errorf("node %s: %w", n.Op, err))
		return b.placeholders(n)
	}
	name := b.nodeName(n)
	outs := n.Outputs
	if len(outs) == 0 {
		for i := range max(n.NumOutputs, 1) {
			outs = append(outs, name+"_output_"+strconv.Itoa(i))
		}
	}
	node := &onnxpb.NodeProto{
		Name:      &name,
		OpType:    &n.Op,
		Input:     make([]string, len(n.Inputs)),
		Output:    outs,
		Attribute: attrs,
	}
	if n.Domain != "" {
		node.Domain = &n.Domain
	}
	for i, in := range n.Inputs {
		node.Input[i] = string(in)
	}
	values := make([]Value, len(outs))
	for i, o := range outs {
		values[i] = Value(o)
		if o != "" && b.define(o) {
			b.st.producer[o] = node
		}
	}
	b.st.graph.Node = append(b.st.graph.Node, node)
	b.st.domains[n.Domain] = true
	return values
}

// placeholders returns output values for a node that could not be added,
// so that building goes on (and fails at Model).
func (b *Builder) placeholders(n Node) []Value {
	out := make([]Value, max(n.NumOutputs, len(n.Outputs), 1))
	for i := range out {
		out[i] = Value("invalid")
	}
	return out
}

func (b *Builder) nodeName(n Node) string {
	base := n.Name
	if base == "" {
		base = n.Op
	}
	base = b.scope + "/" + base
	k := b.st.suffix[base]
	if !b.st.nodes[base] {
		k = 0 // free again (RemoveNode)
	}
	name := base
	for ; ; k++ {
		if k > 0 {
			name = base + "_" + strconv.Itoa(k)
		}
		if !b.st.nodes[name] {
			break
		}
	}
	b.st.suffix[base] = k + 1
	b.st.nodes[name] = true
	return name
}

// Op adds a node with one output and no attributes.
func (b *Builder) Op(op string, inputs ...Value) Value {
	return b.AddNode(Node{Op: op, Inputs: inputs})[0]
}

// OpAttrs adds a node with one output and attributes.
func (b *Builder) OpAttrs(op string, attrs Attrs, inputs ...Value) Value {
	return b.AddNode(Node{Op: op, Inputs: inputs, Attrs: attrs})[0]
}

// attributes converts attrs, sorted by name so that models are the same
// bytes on every run.
func attributes(attrs Attrs) ([]*onnxpb.AttributeProto, error) {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]*onnxpb.AttributeProto, 0, len(names))
	for _, k := range names {
		a, err := Attribute(k, attrs[k])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Attribute returns the attribute proto for one value; see Attrs for the
// types accepted.
func Attribute(name string, v any) (*onnxpb.AttributeProto, error) {
	a := &onnxpb.AttributeProto{Name: &name}
	typ := func(t onnxpb.AttributeProto_AttributeType) { a.Type = t.Enum() }
	switch v := v.(type) {
	case int:
		a.I = proto.Int64(int64(v))
		typ(onnxpb.AttributeProto_INT)
	case int64:
		a.I = proto.Int64(v)
		typ(onnxpb.AttributeProto_INT)
	case float32:
		a.F = &v
		typ(onnxpb.AttributeProto_FLOAT)
	case float64:
		f := float32(v)
		a.F = &f
		typ(onnxpb.AttributeProto_FLOAT)
	case string:
		a.S = []byte(v)
		typ(onnxpb.AttributeProto_STRING)
	case []int:
		for _, x := range v {
			a.Ints = append(a.Ints, int64(x))
		}
		typ(onnxpb.AttributeProto_INTS)
	case []int64:
		a.Ints = append([]int64(nil), v...)
		typ(onnxpb.AttributeProto_INTS)
	case []float32:
		a.Floats = append([]float32(nil), v...)
		typ(onnxpb.AttributeProto_FLOATS)
	case []string:
		for _, s := range v {
			a.Strings = append(a.Strings, []byte(s))
		}
		typ(onnxpb.AttributeProto_STRINGS)
	case *onnxpb.TensorProto:
		a.T = v
		typ(onnxpb.AttributeProto_TENSOR)
	case *onnxpb.GraphProto:
		a.G = v
		typ(onnxpb.AttributeProto_GRAPH)
	default:
		return nil, fmt.Errorf("%w: attribute %s has unsupported type %T", ErrBadArgument, name, v)
	}
	return a, nil
}

// ModelOptions describe the model around the graph.
type ModelOptions struct {
	// Opsets the model imports. Without an entry for ONNX's own domain
	// (""), opset 17 is imported; other domains the nodes use and that are
	// not listed are imported at version 1.
	Opsets []onnx.Opset
	// IRVersion defaults to 8 (ONNX 1.12), which ONNX Runtime accepts.
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	DocString       string
	// Metadata become the model's metadata_props, in this order.
	Metadata []onnx.MetadataEntry
}

// DefaultOpset is the ONNX operator set Model imports unless told.
const DefaultOpset = 17

// Model returns the model holding the graph, or the first error made while
// building it. The graph is not copied: further building changes it.
func (b *Builder) Model(opts ModelOptions) (*onnxpb.ModelProto, error) {
	if b.st.err != nil {
		return nil, b.st.err
	}
	ir := opts.IRVersion
	if ir == 0 {
		ir = 8
	}
	m := &onnxpb.ModelProto{IrVersion: &ir, Graph: b.st.graph}
	if opts.ProducerName != "" {
		m.ProducerName = &opts.ProducerName
	}
	if opts.ProducerVersion != "" {
		m.ProducerVersion = &opts.ProducerVersion
	}
	if opts.DocString != "" {
		m.DocString = &opts.DocString
	}
	listed := map[string]bool{}
	for _, o := range opts.Opsets {
		domain := o.Domain
		if domain == "ai.onnx" {
			domain = ""
		}
		listed[domain] = true
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(o.Version)})
	}
	if !listed[""] {
		m.OpsetImport = append([]*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(DefaultOpset)}}, m.OpsetImport...)
	}
	var extra []string
	for d := range b.st.domains {
		if d != "" && d != "ai.onnx" && !listed[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(extra)
	for _, d := range extra {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(d), Version: proto.Int64(1)})
	}
	for _, e := range opts.Metadata {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(e.Key), Value: proto.String(e.Value)})
	}
	return m, nil
}
