package graph_test

import (
	_ "embed"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"runner/internal/testenv"
	"runner/onnx"
	"runner/onnx/graph"
)

//go:embed testdata/run.mjs
var runScript string

type tensorJSON struct {
	Type string    `json:"type,omitempty"`
	Dims []int64   `json:"dims"`
	Data []float64 `json:"data"`
}

// runModel saves the builder's model and runs it in ONNX Runtime (through
// node), returning the outputs.
func runModel(t *testing.T, b *graph.Builder, inputs map[string]tensorJSON) map[string]tensorJSON {
	t.Helper()
	m, err := b.Model(graph.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]tensorJSON
	if err := json.Unmarshal(testenv.Node(t, runScript, in, path), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHelpersInONNXRuntime checks the sub-graph helpers against the same
// maths done here, on x [2, 3, 4].
func TestHelpersInONNXRuntime(t *testing.T) {
	const rows, seq, width = 2, 3, 4
	x := make([]float64, rows*seq*width)
	for i := range x {
		x[i] = 2 * math.Sin(float64(i)*0.7)
	}
	scale := []float32{1, 0.5, -1, 2}
	shift := []float32{0, 0.1, 0.2, -0.3}

	b := graph.New("helpers")
	dims := []onnx.Dim{graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(width)}
	in := b.Input("x", onnx.Float, dims...)
	s := b.Float32("scale", []int64{width}, scale)
	c := b.Float32("shift", []int64{width}, shift)
	causal := make([]bool, seq*seq)
	biasData := make([]float32, seq*seq)
	for i := range seq {
		for j := range seq {
			causal[i*seq+j] = j <= i
			if j > i {
				biasData[i*seq+j] = graph.MinFloat32
			}
		}
	}
	bias := b.Float32("bias", []int64{seq, seq}, biasData)
	b.Output("layer_norm", b.LayerNorm(in, s, c, 1e-5), onnx.Float, dims...)
	b.Output("rms_norm", b.RMSNorm(in, s, 1e-6), onnx.Float, dims...)
	b.Output("gelu", b.GELU(in), onnx.Float, dims...)
	b.Output("silu", b.SiLU(in), onnx.Float, dims...)
	b.Output("attention", b.Attention(in, in, in, bias, 3, 0.5), onnx.Float, dims...)
	b.Output("heads", b.MergeHeads(b.SplitHeads(in, 2, 2), 2, 2), onnx.Float, dims...)
	b.Output("seq_len", b.Dim(in, 1), onnx.Int64)
	b.Output("first_two", b.Slice(in, []int64{0}, []int64{2}, []int64{2}), onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(2))

	out := runModel(t, b, map[string]tensorJSON{"x": {Type: "float32", Dims: []int64{rows, seq, width}, Data: x}})

	// Expected values, row by row of width 4.
	want := map[string][]float64{}
	for r := range rows * seq {
		v := x[r*width : (r+1)*width]
		var mean, sq float64
		for _, e := range v {
			mean += e / width
			sq += e * e / width
		}
		var variance float64
		for _, e := range v {
			variance += (e - mean) * (e - mean) / width
		}
		for i, e := range v {
			want["layer_norm"] = append(want["layer_norm"], (e-mean)/math.Sqrt(variance+1e-5)*float64(scale[i])+float64(shift[i]))
			want["rms_norm"] = append(want["rms_norm"], e/math.Sqrt(sq+1e-6)*float64(scale[i]))
			want["gelu"] = append(want["gelu"], e*(1+math.Erf(e/math.Sqrt2))/2)
			want["silu"] = append(want["silu"], e/(1+math.Exp(-e)))
			want["heads"] = append(want["heads"], e)
			if i < 2 {
				want["first_two"] = append(want["first_two"], e)
			}
		}
	}
	for r := range rows {
		row := func(i int) []float64 { return x[(r*seq+i)*width : (r*seq+i+1)*width] }
		for i := range seq {
			var weights []float64
			var total float64
			for j := range seq {
				w := 0.0
				if causal[i*seq+j] {
					var dot float64
					for d := range width {
						dot += row(i)[d] * row(j)[d]
					}
					w = math.Exp(dot * 0.5)
				}
				weights = append(weights, w)
				total += w
			}
			for d := range width {
				var sum float64
				for j := range seq {
					sum += weights[j] / total * row(j)[d]
				}
				want["attention"] = append(want["attention"], sum)
			}
		}
	}
	want["seq_len"] = []float64{seq}

	for name, w := range want {
		got := out[name].Data
		if len(got) != len(w) {
			t.Errorf("%s: %d values, want %d", name, len(got), len(w))
			continue
		}
		for i := range w {
			if math.Abs(got[i]-w[i]) > 1e-4*(1+math.Abs(w[i])) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], w[i])
				break
			}
		}
	}
}
