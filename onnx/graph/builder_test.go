package graph_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

func nodeNames(g *onnxpb.GraphProto) []string {
	var names []string
	for _, n := range g.GetNode() {
		names = append(names, n.GetName())
	}
	return names
}

func TestScopesNamesAndOutputs(t *testing.T) {
	b := graph.New("g")
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Fixed(2))
	w := b.Float32("w", []int64{2, 2}, []float32{1, 0, 0, 1})
	layer := b.Scope("model").Scope("layers.0")
	y := layer.MatMul(x, w)
	z := layer.MatMul(y, w)
	if y != "/model/layers.0/MatMul_output_0" || z != "/model/layers.0/MatMul_1_output_0" {
		t.Errorf("outputs named %q, %q", y, z)
	}
	b.Output("out", z, onnx.Float, graph.Sym("batch"), graph.Fixed(2))
	b.Output("passthrough", x, onnx.Float, graph.Sym("batch"), graph.Fixed(2))
	if b.ConstInt64s(1, 2) != b.ConstInt64s(1, 2) || b.ConstInt64s(1, 2) == b.ConstInt64s(2, 1) {
		t.Error("equal constants should be shared, different ones not")
	}
	m, err := b.Model(graph.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	if want := []string{"/model/layers.0/MatMul", "/model/layers.0/MatMul_1", "/Identity"}; !slices.Equal(nodeNames(g), want) {
		t.Errorf("nodes %v, want %v", nodeNames(g), want)
	}
	// The second MatMul's output was renamed to the graph output.
	if out := g.GetNode()[1].GetOutput()[0]; out != "out" {
		t.Errorf("last MatMul writes %q, want out", out)
	}
	if in := g.GetNode()[2].GetInput()[0]; in != "x" {
		t.Errorf("Identity reads %q", in)
	}
	if len(g.GetInitializer()) != 3 {
		t.Errorf("%d initializers, want w and two constants", len(g.GetInitializer()))
	}
	var outs []string
	for _, o := range g.GetOutput() {
		outs = append(outs, o.GetName())
	}
	if !slices.Equal(outs, []string{"out", "passthrough"}) {
		t.Errorf("outputs %v", outs)
	}
}

func TestRenameUpdatesReaders(t *testing.T) {
	b := graph.New("g")
	x := b.Input("x", onnx.Float, graph.Fixed(1))
	y := b.Neg(x)
	z := b.Neg(y) // reads y before y becomes an output
	b.Output("y", y, onnx.Float, graph.Fixed(1))
	b.Output("z", z, onnx.Float, graph.Fixed(1))
	m, err := b.Model(graph.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in := m.GetGraph().GetNode()[1].GetInput()[0]; in != "y" {
		t.Errorf("second Neg reads %q, want y", in)
	}
}

func TestBuilderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *graph.Builder)
		want  error
	}{
		{"unknown input", func(b *graph.Builder) { b.Neg("nowhere") }, graph.ErrUnknownValue},
		{"unknown output", func(b *graph.Builder) { b.Output("y", "nowhere", onnx.Float) }, graph.ErrUnknownValue},
		{"duplicate input", func(b *graph.Builder) {
			b.Input("x", onnx.Float)
			b.Input("x", onnx.Float)
		}, graph.ErrDuplicate},
		{"input clashes with initializer", func(b *graph.Builder) {
			b.Float32("x", []int64{1}, []float32{1})
			b.Input("x", onnx.Float)
		}, graph.ErrDuplicate},
		{"data does not fit shape", func(b *graph.Builder) { b.Float32("w", []int64{2, 2}, []float32{1}) }, graph.ErrBadArgument},
		{"raw data does not fit shape", func(b *graph.Builder) {
			b.Initializer(onnx.RawTensor("w", onnx.Float, []int64{2}, make([]byte, 4)))
		}, graph.ErrBadArgument},
		{"unsupported attribute", func(b *graph.Builder) {
			x := b.Input("x", onnx.Float)
			b.OpAttrs("Softmax", graph.Attrs{"axis": []bool{true}}, x)
		}, graph.ErrBadArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.New("g")
			tc.build(b)
			if _, err := b.Model(graph.ModelOptions{}); !errors.Is(err, tc.want) {
				t.Errorf("Model = %v, want %v", err, tc.want)
			}
			if !errors.Is(b.Err(), tc.want) {
				t.Errorf("Err = %v", b.Err())
			}
		})
	}
}

func TestModelOptions(t *testing.T) {
	b := graph.New("g")
	x := b.Input("x", onnx.Float, graph.Fixed(4))
	y := b.AddNode(graph.Node{Op: "FastGelu", Domain: "com.microsoft", Inputs: []graph.Value{x}})[0]
	b.Output("y", y, onnx.Float, graph.Fixed(4))
	m, err := b.Model(graph.ModelOptions{
		ProducerName: "p",
		Metadata:     []onnx.MetadataEntry{{Key: "k", Value: "v"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var opsets []string
	for _, o := range m.GetOpsetImport() {
		opsets = append(opsets, fmt.Sprintf("%s:%d", o.GetDomain(), o.GetVersion()))
	}
	if want := []string{":17", "com.microsoft:1"}; !slices.Equal(opsets, want) {
		t.Errorf("opsets %v, want %v", opsets, want)
	}
	if m.GetIrVersion() != 8 || m.GetProducerName() != "p" || m.GetMetadataProps()[0].GetValue() != "v" {
		t.Errorf("model fields: %v", m)
	}

	m, err = graph.New("h").Model(graph.ModelOptions{Opsets: []onnx.Opset{{Domain: "ai.onnx", Version: 21}}})
	if err != nil || len(m.GetOpsetImport()) != 1 || m.GetOpsetImport()[0].GetVersion() != 21 {
		t.Errorf("explicit opset: %v, %v", m.GetOpsetImport(), err)
	}
}

func TestEditExistingGraph(t *testing.T) {
	b := graph.New("g")
	x := b.Input("x", onnx.Float, graph.Fixed(1))
	b.Output("y", b.Neg(x), onnx.Float, graph.Fixed(1))
	m, err := b.Model(graph.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := graph.Edit(m.GetGraph())
	if !e.Has("x") || !e.Has("y") {
		t.Fatal("Edit does not know the graph's names")
	}
	z := e.Neg("y")
	if z != "/Neg_1_output_0" {
		t.Errorf("new node output %q, want a fresh name", z)
	}
	e.Input("x", onnx.Float)
	if !errors.Is(e.Err(), graph.ErrDuplicate) {
		t.Errorf("redefining x: %v", e.Err())
	}
}

func TestRemoveNodeFreesNames(t *testing.T) {
	b := graph.New("g")
	x := b.Input("x", onnx.Float, graph.Fixed(2))
	y := b.Neg(x)
	b.Output("y", y, onnx.Float, graph.Fixed(2))
	g := b.Graph()
	neg := g.GetNode()[0]
	b.RemoveNode(neg)
	if len(g.GetNode()) != 0 || b.Has("y") {
		t.Fatalf("after RemoveNode: %d nodes, y defined %v", len(g.GetNode()), b.Has("y"))
	}
	// The replacement defines the same output under the freed node name.
	out := b.AddNode(graph.Node{Op: "Abs", Name: "Neg", Inputs: []graph.Value{x}, Outputs: []string{"y"}})
	if err := b.Err(); err != nil || out[0] != "y" || g.GetNode()[0].GetName() != "/Neg" {
		t.Fatalf("replacement: %v %v %v", err, out, nodeNames(g))
	}
}

func TestDeclareOuter(t *testing.T) {
	body := graph.New("then_branch")
	body.DeclareOuter("outer_w")
	y := body.Neg("outer_w")
	body.Output("y", y, onnx.Float)
	if err := body.Err(); err != nil {
		t.Fatal(err)
	}
	body.Float32("outer_w", []int64{1}, []float32{1})
	if err := body.Err(); !errors.Is(err, graph.ErrDuplicate) {
		t.Errorf("defining an outer name: %v, want ErrDuplicate", err)
	}
}
