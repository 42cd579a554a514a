package quant_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/internal/transformersjs"
	"runner/pipeline"
	"runner/quant"
	"runner/quant/validate"
)

var sentences = []string{
	"Hello world!",
	"The quick brown fox jumps over the lazy dog.",
	"Un café très chaud, s'il vous plaît.",
	"Quantised weights should keep the meaning of a sentence.",
}

// repoCopy makes a Hub-style repo of a fixture in a temporary directory
// (files linked, onnx/ a directory of its own for the variants), and
// returns the models directory and the repo's name in it.
func repoCopy(t *testing.T, name string) (models, repo string) {
	t.Helper()
	src := fixtures.Dir(t, name)
	models = t.TempDir()
	dir := filepath.Join(models, name)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		return os.Symlink(p, filepath.Join(dir, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	return models, name
}

// embed loads graph with the repo's tokenizer and pooling and embeds the
// sentences.
func embed(t *testing.T, rt *engine.Runtime, dir, graph string) [][]float32 {
	t.Helper()
	m, err := pipeline.Load(context.Background(), pipeline.LoadConfig{Name: filepath.Base(graph), Dir: dir, Graphs: []string{graph}, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := m.Embed(context.Background(), sentences, pipeline.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e.Vectors
}

func minCosine(a, b [][]float32) float64 {
	lowest := 1.0
	for i := range a {
		lowest = min(lowest, cosine(a[i], b[i]))
	}
	return lowest
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestEmbedderVariants quantises the tiny embedder into every variant and
// checks size, operators and what the embeddings (mean pooled,
// normalised) lose against float32.
func TestEmbedderVariants(t *testing.T) {
	rt := openRuntime(t)
	models, name := repoCopy(t, fixtures.TinyBERTEmbedder)
	dir := filepath.Join(models, name)
	src := filepath.Join(dir, "onnx", "model.onnx")
	want := embed(t, rt, dir, src)
	tests := []struct {
		variant quant.Variant
		// maxSize bounds the file size against float32's; for q4, the
		// linear weights' bytes (the tiny model is mostly embeddings,
		// which q4 keeps).
		maxSize   float64
		ops       map[string]int
		minCosine float64
	}{
		{quant.Q8, 0.3, map[string]int{"MatMulInteger": 12, "MatMul": 4, "DequantizeLinear": 3}, 0.99},
		{quant.Int8, 0.3, map[string]int{"MatMulInteger": 12, "MatMul": 4}, 0.99},
		{quant.Uint8, 0.3, map[string]int{"MatMulInteger": 12, "MatMul": 4}, 0.99},
		{quant.Q4, 0.2, map[string]int{"com.microsoft.MatMulNBits": 12, "MatMul": 4}, 0.97},
		{quant.FP16, 0.51, map[string]int{"MatMul": 16}, 0.999},
	}
	for _, tt := range tests {
		t.Run(string(tt.variant), func(t *testing.T) {
			dst := filepath.Join(dir, "onnx", tt.variant.FileName("model"))
			rep, err := quant.QuantizeFile(context.Background(), src, dst, quant.DefaultOptions(tt.variant, "bert"))
			if err != nil {
				t.Fatal(err)
			}
			ratio := float64(fileSize(t, dst)) / float64(fileSize(t, src))
			if tt.variant == quant.Q4 {
				ratio = rep.Rewritten["MatMul"].Ratio()
			}
			if ratio > tt.maxSize || ratio == 0 {
				t.Errorf("size ratio %.3f, want <= %g", ratio, tt.maxSize)
			}
			ops := census(t, dst)
			for op, n := range tt.ops {
				if ops[op] != n {
					t.Errorf("%d %s, want %d (census %v)", ops[op], op, n, ops)
				}
			}
			cos := minCosine(want, embed(t, rt, dir, dst))
			t.Logf("%s: size ratio %.3f, embedding cosine to float32 >= %.5f", tt.variant, ratio, cos)
			if cos < tt.minCosine {
				t.Errorf("embedding cosine to float32 %.5f, want >= %g", cos, tt.minCosine)
			}
		})
	}
}

// TestExternalDataSource quantises the embedder whose weights are in
// model.onnx_data; the small result is written whole.
func TestExternalDataSource(t *testing.T) {
	rt := openRuntime(t)
	models, name := repoCopy(t, fixtures.TinyBERTEmbedderExternal)
	dir := filepath.Join(models, name)
	src := filepath.Join(dir, "onnx", "model.onnx")
	dst := filepath.Join(dir, "onnx", "model_quantized.onnx")
	rep, err := quant.QuantizeFile(context.Background(), src, dst, quant.DefaultOptions(quant.Q8, "bert"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ExternalData) != 0 || rep.Quantized["MatMul"] != 12 {
		t.Errorf("external data %v, quantised %v", rep.ExternalData, rep.Quantized)
	}
	if cos := minCosine(embed(t, rt, dir, src), embed(t, rt, dir, dst)); cos < 0.99 {
		t.Errorf("embedding cosine %.5f", cos)
	}
}

// TestTransformersJSLoadsVariants puts the q8 and q4 files where
// transformers.js looks for dtype "q8" and "q4", and checks that it loads
// them and computes what runner computes from the same files.
func TestTransformersJSLoadsVariants(t *testing.T) {
	rt := openRuntime(t)
	models, name := repoCopy(t, fixtures.TinyBERTEmbedder)
	dir := filepath.Join(models, name)
	src := filepath.Join(dir, "onnx", "model.onnx")
	for _, v := range []quant.Variant{quant.Q8, quant.Q4} {
		t.Run(string(v), func(t *testing.T) {
			dst := filepath.Join(dir, "onnx", v.FileName("model"))
			if _, err := quant.QuantizeFile(context.Background(), src, dst, quant.DefaultOptions(v, "bert")); err != nil {
				t.Fatal(err)
			}
			js, err := transformersjs.Embed(context.Background(), testenv.NodeDir(t), models, name, string(v), sentences)
			if err != nil {
				t.Fatal(err)
			}
			ours := embed(t, rt, dir, dst)
			if len(js) != len(ours) {
				t.Fatalf("transformers.js gave %d vectors", len(js))
			}
			if cos := minCosine(ours, js); cos < 0.9999 {
				t.Errorf("transformers.js and runner differ on the %s file: cosine %.6f", v, cos)
			}
		})
	}
}

// prompt is a few Llama 2 tokens ("<s> The capital of France").
var prompt = []int64{1, 450, 7483, 310, 3444}

// TestDecoderVariants generates 20 tokens greedily with each variant of
// the tiny Llama and counts how many agree with float32 before the first
// difference; transformers.js, fed the same q4 file, must pick the same
// tokens as runner.
func TestDecoderVariants(t *testing.T) {
	rt := openRuntime(t)
	models, name := repoCopy(t, fixtures.TinyLlama)
	dir := filepath.Join(models, name)
	src := filepath.Join(dir, "onnx", "model.onnx")
	const n = 20
	ctx := context.Background()
	want, err := validate.Greedy(ctx, rt, src, prompt, n, 0, 0, engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		variant quant.Variant
		// minAgree is the shortest agreement accepted: random weights
		// make close logits, which 4-bit weights may swap.
		minAgree int
	}{
		{quant.FP16, n},
		{quant.Q8, 10},
		{quant.Q4, 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.variant), func(t *testing.T) {
			dst := filepath.Join(dir, "onnx", tt.variant.FileName("model"))
			rep, err := quant.QuantizeFile(ctx, src, dst, quant.DefaultOptions(tt.variant, "llama"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.variant == quant.Q4 {
				if r := rep.Rewritten["MatMul"].Ratio(); r > 0.2 || r == 0 {
					t.Errorf("q4 linear weights at %.3f of float32, want <= 0.2", r)
				}
			}
			got, err := validate.Greedy(ctx, rt, dst, prompt, n, 0, 0, engine.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			agree := validate.CommonPrefix(want, got)
			t.Logf("%s: %d/%d greedy tokens agree with float32", tt.variant, agree, n)
			if agree < tt.minAgree {
				t.Errorf("%s: %d tokens agree with float32 (%v vs %v), want >= %d", tt.variant, agree, got, want, tt.minAgree)
			}
			if tt.variant != quant.Q4 {
				return
			}
			js, err := transformersjs.Generate(ctx, testenv.NodeDir(t), models, name, "q4", prompt, n)
			if err != nil {
				t.Fatal(err)
			}
			if validate.CommonPrefix(js, got) != n {
				t.Errorf("transformers.js picks %v from the q4 file, runner %v", js, got)
			}
		})
	}
}

// TestReportNamesWhatItLeft: the report says what it left and why.
func TestReportNamesWhatItLeft(t *testing.T) {
	src := filepath.Join(fixtures.Dir(t, fixtures.TinyLlama), "onnx", "model.onnx")
	dst := filepath.Join(t.TempDir(), "model_q4.onnx")
	rep, err := quant.QuantizeFile(context.Background(), src, dst, quant.DefaultOptions(quant.Q4, "llama"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Write(&b, true)
	for _, want := range []string{"quantised (q4): 14 MatMul", "1 MatMul: LM head", "/lm_head/MatMul", "1 Gather: embedding table", "4 MatMul: its weight is computed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
