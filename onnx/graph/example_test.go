package graph_test

import (
	"fmt"

	"runner/onnx"
	"runner/onnx/graph"
)

// A linear layer with a GELU, as an exporter would name it.
func Example() {
	b := graph.New("mlp")
	x := b.Input("x", onnx.Float, graph.Sym("batch_size"), graph.Fixed(2))
	w := b.Float32("fc.weight", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	bias := b.Float32("fc.bias", []int64{3}, []float32{0.1, 0.2, 0.3})
	fc := b.Scope("fc")
	y := fc.GELU(fc.Linear(x, w, bias))
	b.Output("y", y, onnx.Float, graph.Sym("batch_size"), graph.Fixed(3))

	m, err := b.Model(graph.ModelOptions{ProducerName: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.GetGraph().GetNode() {
		fmt.Println(n.GetOpType(), n.GetName(), "->", n.GetOutput())
	}
	// Output:
	// MatMul /fc/MatMul -> [/fc/MatMul_output_0]
	// Add /fc/Add -> [/fc/Add_output_0]
	// Div /fc/Div -> [/fc/Div_output_0]
	// Erf /fc/Erf -> [/fc/Erf_output_0]
	// Add /fc/Add_1 -> [/fc/Add_1_output_0]
	// Mul /fc/Mul -> [/fc/Mul_output_0]
	// Mul /fc/Mul_1 -> [y]
}
