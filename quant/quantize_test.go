package quant_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"runner/engine"
	"runner/internal/testenv"
	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
	"runner/quant"
	"runner/quant/validate"
)

// openRuntime loads ONNX Runtime for a test.
func openRuntime(t *testing.T) *engine.Runtime {
	t.Helper()
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// randn returns n values drawn from N(0, std²), the same for the same seed.
func randn(seed uint64, n int, std float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out
}

// build makes a model from a build function; opset 17 plus whatever the
// function's nodes need.
func build(t *testing.T, fn func(b *graph.Builder)) *onnxpb.ModelProto {
	t.Helper()
	b := graph.New("test")
	fn(b)
	m, err := b.Model(graph.ModelOptions{
		ProducerName: "runner-test",
		Metadata:     []onnx.MetadataEntry{{Key: "purpose", Value: "quant test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// save writes m into a temporary directory.
func save(t *testing.T, m *onnxpb.ModelProto, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := onnx.Save(m, p, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// quantizeFile quantises the model at src into a file beside it.
func quantizeFile(t *testing.T, src string, opts quant.Options) (string, *quant.Report) {
	t.Helper()
	dst := filepath.Join(filepath.Dir(src), opts.Variant.FileName(strings.TrimSuffix(filepath.Base(src), ".onnx")))
	rep, err := quant.QuantizeFile(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	return dst, rep
}

// census counts a model file's operators (contrib ones as
// "com.microsoft.OP").
func census(t *testing.T, path string) map[string]int {
	t.Helper()
	info, err := onnx.ReadInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Ops
}

// compare runs both models in ONNX Runtime and returns the lowest cosine
// over the outputs.
func compare(t *testing.T, rt *engine.Runtime, ref, cand string) float64 {
	t.Helper()
	res, err := validate.Compare(context.Background(), rt, ref, cand, validate.Options{Vocab: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outputs {
		if o.NaN > 0 {
			t.Errorf("%s: %d NaN or infinite values", o.Name, o.NaN)
		}
	}
	return res.MinCosine()
}

// mlpModel is x → [x@Wq, x@Wk] attention scores, and x@W1 → Relu → @W2 +
// bias: four linear layers (three reading x), one MatMul of activations.
func mlpModel(b *graph.Builder) {
	const d, h = 32, 64
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(d))
	q := b.Scope("attn").Scope("q").MatMul(x, b.Float32("wq", []int64{d, d}, randn(1, d*d, 0.2)))
	k := b.Scope("attn").Scope("k").MatMul(x, b.Float32("wk", []int64{d, d}, randn(2, d*d, 0.2)))
	scores := b.Scope("attn").MatMul(q, b.Transpose(k, 0, 2, 1))
	hidden := b.Op("Relu", b.Scope("mlp").Scope("up").MatMul(x, b.Float32("w1", []int64{d, h}, randn(3, d*h, 0.2))))
	y := b.Scope("mlp").Scope("down").Linear(hidden, b.Float32("w2", []int64{h, d}, randn(4, h*d, 0.2)), b.Float32("b2", []int64{d}, randn(5, d, 0.1)))
	b.Output("scores", scores, onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Sym("seq"))
	b.Output("y", y, onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(d))
}

func TestVariantsOfLinearLayers(t *testing.T) {
	rt := openRuntime(t)
	src := save(t, build(t, mlpModel), "model.onnx")
	tests := []struct {
		variant   quant.Variant
		ops       map[string]int // operators the result must hold, by count
		minCosine float64
	}{
		// x is quantised once for the three layers that read it.
		{quant.Q8, map[string]int{"MatMulInteger": 4, "DynamicQuantizeLinear": 2, "MatMul": 1}, 0.999},
		{quant.Int8, map[string]int{"MatMulInteger": 4, "DynamicQuantizeLinear": 2, "MatMul": 1}, 0.999},
		{quant.Uint8, map[string]int{"MatMulInteger": 4, "DynamicQuantizeLinear": 2, "MatMul": 1}, 0.999},
		{quant.Q4, map[string]int{"com.microsoft.MatMulNBits": 4, "MatMul": 1}, 0.99},
		{quant.FP16, map[string]int{"MatMul": 5, "Cast": 3}, 0.9999},
	}
	for _, tt := range tests {
		t.Run(string(tt.variant), func(t *testing.T) {
			dst, rep := quantizeFile(t, src, quant.DefaultOptions(tt.variant, "bert"))
			ops := census(t, dst)
			for op, n := range tt.ops {
				if ops[op] != n {
					t.Errorf("%d %s, want %d (census %v)", ops[op], op, n, ops)
				}
			}
			if cos := compare(t, rt, src, dst); cos < tt.minCosine {
				t.Errorf("cosine to float32 %.5f, want >= %g", cos, tt.minCosine)
			}
			if tt.variant == quant.FP16 {
				return
			}
			if rep.Quantized["MatMul"] != 4 || len(rep.Skipped) != 1 || rep.Skipped[0].Node != "/attn/MatMul" {
				t.Errorf("report: quantised %v, skipped %+v", rep.Quantized, rep.Skipped)
			}
		})
	}
}

func TestGemmWithTransposedWeightAndScaledBias(t *testing.T) {
	rt := openRuntime(t)
	src := save(t, build(t, func(b *graph.Builder) {
		x := b.Input("x", onnx.Float, graph.Sym("rows"), graph.Fixed(16))
		y := b.OpAttrs("Gemm", graph.Attrs{"transB": int64(1), "alpha": float32(0.5), "beta": float32(2)},
			x, b.Float32("w", []int64{24, 16}, randn(1, 24*16, 0.3)), b.Float32("c", []int64{24}, randn(2, 24, 0.5)))
		b.Output("y", y, onnx.Float, graph.Sym("rows"), graph.Fixed(24))
	}), "gemm.onnx")
	for _, v := range []quant.Variant{quant.Q8, quant.Q4} {
		dst, rep := quantizeFile(t, src, quant.DefaultOptions(v, ""))
		if ops := census(t, dst); ops["Gemm"] != 0 || rep.Quantized["Gemm"] != 1 {
			t.Errorf("%s: census %v, report %v", v, ops, rep.Quantized)
		}
		if cos := compare(t, rt, src, dst); cos < 0.99 {
			t.Errorf("%s: cosine %.5f", v, cos)
		}
	}
}

// tiedModel is a tiny language model whose head reads the token embeddings
// through a Transpose, as tied weights export.
func tiedModel(b *graph.Builder) {
	const vocab, d = 64, 32
	ids := b.Input("input_ids", onnx.Int64, graph.Sym("batch"), graph.Sym("seq"))
	embed := b.Float32("embed_tokens", []int64{vocab, d}, randn(1, vocab*d, 1))
	h := b.Scope("embed").Gather(embed, ids, 0)
	h = b.Op("Tanh", b.Scope("layer").MatMul(h, b.Float32("w", []int64{d, d}, randn(2, d*d, 0.3))))
	logits := b.Scope("lm_head").MatMul(h, b.Transpose(embed, 1, 0))
	b.Output("logits", logits, onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(vocab))
}

func TestTiedHeadAndEmbeddings(t *testing.T) {
	rt := openRuntime(t)
	src := save(t, build(t, tiedModel), "model.onnx")
	type want struct {
		nbits, matmul, transpose, dequantize int
		embedKept                            bool
	}
	tests := []struct {
		name string
		opts func(o *quant.Options)
		v    quant.Variant
		want want
	}{
		// q8 quantises the head (read through the Transpose) and the
		// Gather; the float32 table and its Transpose go away.
		{"q8", nil, quant.Q8, want{matmul: 0, transpose: 0, dequantize: 1}},
		{"q4 keeps head and table", nil, quant.Q4, want{nbits: 1, matmul: 1, transpose: 1, embedKept: true}},
		{"q4 with head", func(o *quant.Options) { o.Head = true }, quant.Q4, want{nbits: 2, embedKept: true}},
		{"q4 with head and embeddings", func(o *quant.Options) { o.Head, o.Embeddings = true, true }, quant.Q4, want{nbits: 2, dequantize: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := quant.DefaultOptions(tt.v, "llama")
			if tt.opts != nil {
				tt.opts(&opts)
			}
			dst, _ := quantizeFile(t, src, opts)
			ops := census(t, dst)
			got := want{
				nbits: ops["com.microsoft.MatMulNBits"], matmul: ops["MatMul"], transpose: ops["Transpose"],
				dequantize: ops["DequantizeLinear"], embedKept: hasInitializer(t, dst, "embed_tokens"),
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v (census %v)", got, tt.want, ops)
			}
			if cos := compare(t, rt, src, dst); cos < 0.98 {
				t.Errorf("cosine %.5f", cos)
			}
		})
	}
}

func hasInitializer(t *testing.T, path, name string) bool {
	t.Helper()
	m, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(m.GetGraph().GetInitializer(), func(x *onnxpb.TensorProto) bool { return x.GetName() == name })
}

func TestExclude(t *testing.T) {
	src := save(t, build(t, mlpModel), "model.onnx")
	opts := quant.DefaultOptions(quant.Q8, "")
	opts.Exclude = []string{"/mlp/*/MatMul"}
	dst, rep := quantizeFile(t, src, opts)
	if ops := census(t, dst); ops["MatMulInteger"] != 2 || ops["MatMul"] != 3 {
		t.Errorf("census %v: want only the attention projections quantised", ops)
	}
	excluded := 0
	for _, s := range rep.Skipped {
		if strings.Contains(s.Reason, "excluded") {
			excluded++
		}
	}
	if excluded != 2 {
		t.Errorf("%d nodes reported excluded, want 2: %+v", excluded, rep.Skipped)
	}
}

// ifModel runs one of two branches, each a linear layer reading the outer
// input and the outer weight: the weight must be quantised once, in the
// main graph.
func ifModel(b *graph.Builder) {
	b.Input("x", onnx.Float, graph.Sym("rows"), graph.Fixed(16))
	cond := b.Input("cond", onnx.Bool, graph.Fixed(1))
	b.Float32("w", []int64{16, 16}, randn(1, 256, 0.3))
	branch := func(name string, op string) *onnxpb.GraphProto {
		sb := graph.New(name)
		sb.DeclareOuter("x", "w")
		y := sb.Op(op, sb.Scope(name).MatMul("x", "w"))
		sb.Output(name+"_y", y, onnx.Float, graph.Sym("rows"), graph.Fixed(16))
		return sb.Graph()
	}
	y := b.AddNode(graph.Node{Op: "If", Inputs: []graph.Value{cond}, Attrs: graph.Attrs{
		"then_branch": branch("then", "Relu"), "else_branch": branch("else", "Tanh"),
	}})[0]
	b.Output("y", y, onnx.Float, graph.Sym("rows"), graph.Fixed(16))
}

func TestSubgraphsShareOuterWeights(t *testing.T) {
	rt := openRuntime(t)
	src := save(t, build(t, ifModel), "model.onnx")
	for _, v := range []quant.Variant{quant.Q8, quant.Q4, quant.FP16} {
		t.Run(string(v), func(t *testing.T) {
			dst, rep := quantizeFile(t, src, quant.DefaultOptions(v, ""))
			m, err := onnx.Read(dst)
			if err != nil {
				t.Fatal(err)
			}
			if v != quant.FP16 && rep.Quantized["MatMul"] != 2 {
				t.Errorf("quantised %v, want both branches' MatMul", rep.Quantized)
			}
			weights := 0
			for _, init := range m.GetGraph().GetInitializer() {
				if strings.HasPrefix(init.GetName(), "w") {
					weights++
				}
			}
			// q8: data, scale, zero point; q4: data and scales; fp16: w.
			if want := map[quant.Variant]int{quant.Q8: 3, quant.Q4: 2, quant.FP16: 1}[v]; weights != want {
				t.Errorf("%d weight initializers in the main graph, want %d", weights, want)
			}
			for _, cond := range []bool{true, false} {
				if cos := compareIf(t, rt, src, dst, cond); cos < 0.99 {
					t.Errorf("cond %v: cosine %.5f", cond, cos)
				}
			}
		})
	}
}

// compareIf runs ifModel's two files with one branch chosen.
func compareIf(t *testing.T, rt *engine.Runtime, ref, cand string, cond bool) float64 {
	t.Helper()
	ctx := context.Background()
	x, _ := engine.NewTensor([]int64{3, 16}, randn(9, 48, 1))
	c, _ := engine.NewTensor([]int64{1}, []bool{cond})
	var outs [][]float32
	for _, p := range []string{ref, cand} {
		s, err := rt.NewSession(ctx, p, engine.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Run(ctx, map[string]*engine.Tensor{"x": x, "cond": c}, nil)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		y, _ := res["y"].Float32s()
		outs = append(outs, y)
	}
	return cosine(outs[0], outs[1])
}

func cosine(a, b []float32) float64 {
	var dot, aa, bb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(aa*bb)
}

// rmsModel holds what fp16 conversion must treat with care: an RMSNorm
// (Pow, ReduceMean), rotary angles from integer positions, an additive
// mask of float32's lowest value, and float32 inputs and outputs.
func rmsModel(b *graph.Builder) {
	const d = 16
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(d))
	pos := b.Input("position_ids", onnx.Int64, graph.Sym("batch"), graph.Sym("seq"))
	mask := b.Input("attention_mask", onnx.Int64, graph.Sym("batch"), graph.Sym("seq"))
	h := b.RMSNorm(x, b.Float32("norm", []int64{d}, randn(1, d, 1)), 1e-5)
	angles := b.Mul(b.Unsqueeze(b.Cast(pos, onnx.Float), -1), b.Float32("inv_freq", []int64{d}, randn(2, d, 0.1)))
	h = b.Add(b.Mul(h, b.Op("Cos", angles)), b.Mul(h, b.Op("Sin", angles)))
	h = b.MatMul(h, b.Float32("w", []int64{d, d}, randn(3, d*d, 0.3)))
	bias := b.AdditiveMask(b.Cast(mask, onnx.Bool))
	scores := b.Add(b.ReduceMean(h, false, -1), bias)
	b.Output("h", h, onnx.Float, graph.Sym("batch"), graph.Sym("seq"), graph.Fixed(d))
	b.Output("scores", b.Softmax(scores, -1), onnx.Float, graph.Sym("batch"), graph.Sym("seq"))
}

func TestFloat16KeepsEdgesAndPrecision(t *testing.T) {
	rt := openRuntime(t)
	src := save(t, build(t, rmsModel), "model.onnx")
	dst, rep := quantizeFile(t, src, quant.DefaultOptions(quant.FP16, ""))
	info, err := onnx.ReadInfo(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(info.Inputs, info.Outputs...) {
		if v.Name != "position_ids" && v.Name != "attention_mask" && v.Elem != onnx.Float {
			t.Errorf("%s is %s; inputs and outputs stay float32", v.Name, v.Elem)
		}
	}
	if !slices.Equal([]string{info.Outputs[0].Name, info.Outputs[1].Name}, []string{"h", "scores"}) {
		t.Errorf("outputs %v", info.Outputs)
	}
	kept := map[string]int{}
	for _, s := range rep.Skipped {
		kept[s.Op]++
	}
	if kept["Pow"] != 1 || kept["Cos"] != 1 || kept["Sin"] != 1 || kept["MatMul"] != 0 {
		t.Errorf("kept in float32: %v", kept)
	}
	if rep.Quantized["MatMul"] != 1 {
		t.Errorf("float16: %v", rep.Quantized)
	}
	if cos := compare(t, rt, src, dst); cos < 0.999 {
		t.Errorf("cosine %.5f", cos)
	}
}

func TestRefusals(t *testing.T) {
	src := save(t, build(t, mlpModel), "model.onnx")
	q8, _ := quantizeFile(t, src, quant.DefaultOptions(quant.Q8, ""))
	fp16, _ := quantizeFile(t, src, quant.DefaultOptions(quant.FP16, ""))
	old := build(t, mlpModel)
	old.OpsetImport[0].Version = ptr(int64(10))
	oldPath := save(t, old, "old.onnx")
	dst := filepath.Join(t.TempDir(), "out.onnx")
	tests := []struct {
		name string
		src  string
		dst  string
		opts quant.Options
		want error
	}{
		{"already quantised", q8, dst, quant.DefaultOptions(quant.Q4, ""), quant.ErrUnsupported},
		{"already float16", fp16, dst, quant.DefaultOptions(quant.Q8, ""), quant.ErrUnsupported},
		{"variant not made", src, dst, quant.DefaultOptions(quant.Q4F16, ""), quant.ErrUnsupported},
		{"opset too old for DynamicQuantizeLinear", oldPath, dst, quant.DefaultOptions(quant.Q8, ""), quant.ErrUnsupported},
		{"block size", src, dst, quant.Options{Variant: quant.Q4, BlockSize: 48}, quant.ErrBadOptions},
		{"overwrite the source", src, src, quant.DefaultOptions(quant.Q8, ""), quant.ErrBadOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := quant.QuantizeFile(context.Background(), tt.src, tt.dst, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMetadataAndOpsetsKept(t *testing.T) {
	src := save(t, build(t, mlpModel), "model.onnx")
	dst, _ := quantizeFile(t, src, quant.DefaultOptions(quant.Q4, ""))
	info, err := onnx.ReadInfo(dst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Opset() != graph.DefaultOpset || info.ProducerName != "runner-test" {
		t.Errorf("opset %d, producer %q", info.Opset(), info.ProducerName)
	}
	if !slices.Contains(info.Opsets, onnx.Opset{Domain: "com.microsoft", Version: 1}) {
		t.Errorf("opsets %v lack com.microsoft", info.Opsets)
	}
	if len(info.Metadata) != 1 || info.Metadata[0] != (onnx.MetadataEntry{Key: "purpose", Value: "quant test"}) {
		t.Errorf("metadata %v", info.Metadata)
	}
}

func ptr[T any](v T) *T { return &v }
