package quant

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"runner/engine"
	"runner/internal/testenv"
	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
	"runner/quant/validate"
)

// linearStack is x → three linear layers with odd sizes (K = 40 is not a
// multiple of the block), which q4 rewrites into MatMulNBits.
func linearStack(t *testing.T) *onnxpb.ModelProto {
	t.Helper()
	b := graph.New("stack")
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(40))
	h := x
	dims := []int64{40, 96, 64, 24}
	for i := range 3 {
		w := make([]float32, dims[i]*dims[i+1])
		for j := range w {
			w[j] = float32((j*7919+i*104729)%1000-500) / 1000
		}
		h = b.Op("Tanh", b.MatMul(h, b.Float32("w"+string(rune('0'+i)), []int64{dims[i], dims[i+1]}, w)))
	}
	b.Output("y", h, onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(24))
	m, err := b.Model(graph.ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dequantized replaces every linear weight of m by what its 4-bit blocks
// stand for, in float32: the model MatMulNBits must compute exactly.
func dequantized(t *testing.T, m *onnxpb.ModelProto, opts Options) {
	t.Helper()
	e := newEditor(m)
	for _, n := range e.main().g.GetNode() {
		l, why := e.main().matchLinear(n)
		if why != "" {
			continue
		}
		data, err := onnx.TensorFloat32s(l.w.init)
		if err != nil {
			t.Fatal(err)
		}
		K, N := l.w.shape()
		at := l.w.at(data)
		q := quantizeBlocks4(func(n, k int) float32 { return at(k, n) }, N, K, opts.BlockSize, !opts.Asymmetric)
		for k := range K {
			for n := range N {
				data[k*N+n] = q.dequantize(n, k, K, opts.BlockSize)
			}
		}
		l.w.init.RawData = onnx.EncodeFloat32s(data)
	}
}

// TestMatMulNBitsComputesTheDequantizedWeights: with accuracy level 0,
// ONNX Runtime's MatMulNBits must give what float32 MatMuls give on the
// weights quantized4.dequantize reads from the same bytes; with
// TestQuantizeBlocks4 (dequantize gives back the weights), this pins the
// packing, scales and zero points to what the operator expects.
func TestMatMulNBitsComputesTheDequantizedWeights(t *testing.T) {
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	for _, tc := range []struct {
		name       string
		block      int
		asymmetric bool
	}{
		{"symmetric 32", 32, false},
		{"asymmetric 32", 32, true},
		{"symmetric 16", 16, false},
		{"asymmetric 128", 128, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Variant: Q4, BlockSize: tc.block, Asymmetric: tc.asymmetric}
			q4 := linearStack(t)
			if _, err := Quantize(q4, opts); err != nil {
				t.Fatal(err)
			}
			ref := linearStack(t)
			dequantized(t, ref, opts)
			qPath, refPath := filepath.Join(dir, "q4.onnx"), filepath.Join(dir, "ref.onnx")
			for p, m := range map[string]*onnxpb.ModelProto{qPath: q4, refPath: ref} {
				if err := onnx.Save(m, p, onnx.SaveOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := validate.Compare(context.Background(), rt, refPath, qPath, validate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if o := res.Outputs[0]; o.MaxAbsDiff > 1e-4 || o.Cosine < 0.999999 {
				t.Errorf("MatMulNBits differs from the dequantised weights: max diff %g, cosine %.7f", o.MaxAbsDiff, o.Cosine)
			}
		})
	}
}

// TestSaveMovesLargeModelsToExternalData lowers the limit to see a model
// saved with external data, and loaded back whole.
func TestSaveMovesLargeModelsToExternalData(t *testing.T) {
	m := linearStack(t)
	dst := filepath.Join(t.TempDir(), "model_q4.onnx")
	// A stale data file of an earlier run is removed.
	if err := os.WriteFile(dst+"_data_1", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := save(m, dst, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != "model_q4.onnx_data" {
		t.Fatalf("external data files %v", files)
	}
	if _, err := os.Stat(dst + "_data_1"); !os.IsNotExist(err) {
		t.Errorf("stale data file left: %v", err)
	}
	back, err := onnx.Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := weightBytes(back.GetGraph()), weightBytes(linearStack(t).GetGraph()); got != want {
		t.Errorf("loaded back %d weight bytes, want %d", got, want)
	}
	// Small enough: inline, and no data file.
	files, err = save(linearStack(t), dst, inlineLimit)
	if err != nil || files != nil {
		t.Fatalf("inline save: %v %v", files, err)
	}
	if _, err := os.Stat(dst + "_data"); !os.IsNotExist(err) {
		t.Errorf("data file of the external save left beside an inline model")
	}
}
