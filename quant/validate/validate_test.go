package validate

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/onnx"
)

func TestSamplesOfADecoder(t *testing.T) {
	sym, fixed := func(s string) onnx.Dim { return onnx.Dim{Param: s} }, func(n int64) onnx.Dim { return onnx.Dim{Value: n} }
	inputs := []onnx.ValueInfo{
		{Name: "input_ids", Kind: "tensor", Elem: onnx.Int64, Shape: []onnx.Dim{sym("batch_size"), sym("sequence_length")}, HasShape: true},
		{Name: "attention_mask", Kind: "tensor", Elem: onnx.Int64, Shape: []onnx.Dim{sym("batch_size"), sym("total_sequence_length")}, HasShape: true},
		{Name: "position_ids", Kind: "tensor", Elem: onnx.Int64, Shape: []onnx.Dim{sym("batch_size"), sym("sequence_length")}, HasShape: true},
		{Name: "past_key_values.0.key", Kind: "tensor", Elem: onnx.Float, Shape: []onnx.Dim{sym("batch_size"), fixed(2), sym("past_sequence_length"), fixed(16)}, HasShape: true},
		{Name: "use_cache_branch", Kind: "tensor", Elem: onnx.Bool, Shape: []onnx.Dim{fixed(1)}, HasShape: true},
	}
	in, err := Samples(inputs, Options{Batch: 3, Sequence: 6, Vocab: 10})
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int64{
		"input_ids": {3, 6}, "attention_mask": {3, 6}, "position_ids": {3, 6},
		"past_key_values.0.key": {3, 2, 0, 16}, "use_cache_branch": {1},
	}
	for name, want := range shapes {
		if got := in[name].Shape(); !slices.Equal(got, want) {
			t.Errorf("%s: shape %v, want %v", name, got, want)
		}
	}
	for _, id := range engine.Data[int64](in["input_ids"]) {
		if id < 1 || id >= 10 {
			t.Fatalf("token id %d outside [1, 10)", id)
		}
	}
	mask := engine.Data[int64](in["attention_mask"])
	if !slices.Equal(mask[12:], []int64{1, 1, 1, 1, 0, 0}) || slices.Contains(mask[:12], 0) {
		t.Errorf("mask %v: want the last row right-padded by two", mask)
	}
	if pos := engine.Data[int64](in["position_ids"]); !slices.Equal(pos[6:12], []int64{0, 1, 2, 3, 4, 5}) {
		t.Errorf("positions %v", pos)
	}
	if _, err := Samples([]onnx.ValueInfo{{Name: "s", Kind: "tensor", Elem: onnx.String, HasShape: true}}, Options{}); err == nil {
		t.Error("sampled a string input")
	}
}

func TestCompareMeasures(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name      string
		want, got []float32
		cosine    float64
		maxDiff   float64
		nan       int
	}{
		{"same", []float32{1, 2, 3}, []float32{1, 2, 3}, 1, 0, 0},
		{"scaled", []float32{1, 2, 3}, []float32{2, 4, 6}, 1, 3, 0},
		{"opposite", []float32{1, -1}, []float32{-1, 1}, -1, 2, 0},
		{"candidate NaN", []float32{1, 2}, []float32{1, nan}, 0, 0, 1},
		{"both zero", []float32{0, 0}, []float32{0, 0}, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := compare("y", nil, tt.want, tt.got)
			if math.Abs(o.Cosine-tt.cosine) > 1e-9 || math.Abs(o.MaxAbsDiff-tt.maxDiff) > 1e-9 || o.NaN != tt.nan {
				t.Errorf("compare = %+v; want cosine %g, max diff %g, NaN %d", o, tt.cosine, tt.maxDiff, tt.nan)
			}
		})
	}
	if CommonPrefix([]int64{1, 2, 3}, []int64{1, 2, 4, 5}) != 2 || Agreement([]int64{1, 2, 3, 4}, []int64{1, 0, 3, 0}) != 0.5 {
		t.Error("CommonPrefix or Agreement")
	}
}

// TestGreedyMatchesFullRecompute checks engine.Decoder's step-by-step
// decoding with the KV cache against one pass over the whole sequence: the
// tokens Greedy picks must be the next tokens NextTokens finds after each
// prefix of the prompt followed by those tokens.
func TestGreedyMatchesFullRecompute(t *testing.T) {
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	path := filepath.Join(fixtures.Dir(t, fixtures.TinyLlama), "onnx", "model.onnx")
	ctx := context.Background()
	prompt := []int64{1, 450, 7483, 310, 3444}
	greedy, err := Greedy(ctx, rt, path, prompt, 12, 0, 0, engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next, err := NextTokens(ctx, rt, path, append(slices.Clone(prompt), greedy...), 0, 0, engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := next[len(prompt)-1 : len(prompt)-1+len(greedy)]; !slices.Equal(got, greedy) {
		t.Errorf("with the KV cache %v, in one pass %v", greedy, got)
	}
	if len(slices.Compact(slices.Clone(greedy))) < 3 {
		t.Errorf("greedy tokens %v barely vary: the check says little", greedy)
	}
}
