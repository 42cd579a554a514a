// Package validate checks a quantised or converted model against the model
// it was made from: both load in ONNX Runtime and run on the same sample
// inputs, and each float output is compared (cosine similarity and largest
// difference).
//
// It sits beside package quant rather than in it because it needs the
// engine, while quant itself only rewrites ONNX graphs.
package validate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"runner/engine"
	"runner/onnx"
)

// ErrMismatch is returned when the two models do not take the same inputs
// or make the same outputs.
var ErrMismatch = errors.New("models do not have the same interface")

// Options shape the sample inputs.
type Options struct {
	// Batch and Sequence size the samples: batch rows of Sequence tokens
	// (2 and 8 when zero). The last row is right-padded by two tokens in
	// attention_mask, so masking is exercised too.
	Batch, Sequence int
	// Vocab bounds the token ids sampled for input_ids (exclusive); zero
	// means 100, which every text model's vocabulary holds.
	Vocab int
	// Seed makes the samples; the same seed gives the same inputs.
	Seed uint64
	// Session configures both sessions (CPU, all optimisations by
	// default).
	Session engine.SessionOptions
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 2
	}
	if o.Sequence <= 0 {
		o.Sequence = 8
	}
	if o.Vocab <= 1 {
		o.Vocab = 100
	}
}

// Output compares one output of the two models.
type Output struct {
	Name string
	// Shape is the output's shape on the sample inputs.
	Shape []int64
	// Cosine is the cosine similarity of the two outputs, flattened.
	Cosine float64
	// MaxAbsDiff is the largest absolute difference between them.
	MaxAbsDiff float64
	// NaN counts the candidate's values that are NaN or infinite where
	// the reference's are finite.
	NaN int
}

// Result is the comparison of every float output.
type Result struct {
	Outputs []Output
}

// MinCosine returns the lowest cosine similarity over the outputs (1 when
// there are none).
func (r *Result) MinCosine() float64 {
	lowest := 1.0
	for _, o := range r.Outputs {
		lowest = min(lowest, o.Cosine)
	}
	return lowest
}

// Output returns the comparison of the named output.
func (r *Result) Output(name string) (Output, bool) {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// Compare loads reference and candidate (paths of .onnx files) and runs
// both on the same sample inputs, made from the reference's declared
// inputs; it returns how close each float output of the candidate is to the
// reference's. A candidate that cannot load or run is an error.
func Compare(ctx context.Context, rt *engine.Runtime, reference, candidate string, opts Options) (*Result, error) {
	opts.defaults()
	ref, err := rt.NewSession(ctx, reference, opts.Session)
	if err != nil {
		return nil, err
	}
	defer ref.Close()
	cand, err := rt.NewSession(ctx, candidate, opts.Session)
	if err != nil {
		return nil, err
	}
	defer cand.Close()
	if !slices.Equal(sorted(ref.InputNames()), sorted(cand.InputNames())) {
		return nil, fmt.Errorf("%w: %s takes %v, %s takes %v", ErrMismatch, ref.Name(), ref.InputNames(), cand.Name(), cand.InputNames())
	}
	in, err := Samples(ref.Info().Inputs, opts)
	if err != nil {
		return nil, err
	}
	want, err := ref.Run(ctx, in, nil)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", reference, err)
	}
	got, err := cand.Run(ctx, in, nil)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", candidate, err)
	}
	res := &Result{}
	for _, name := range ref.OutputNames() {
		w, g := want[name], got[name]
		if g == nil {
			return nil, fmt.Errorf("%w: %s makes no output %q", ErrMismatch, candidate, name)
		}
		wf, err := w.Float32s()
		if err != nil {
			continue // integer and bool outputs are not compared
		}
		gf, err := g.Float32s()
		if err != nil || len(gf) != len(wf) {
			return nil, fmt.Errorf("%w: output %q is %v in %s and %v in %s", ErrMismatch, name, w, reference, g, candidate)
		}
		res.Outputs = append(res.Outputs, compare(name, w.Shape(), wf, gf))
	}
	return res, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// compare measures how close got is to want.
func compare(name string, shape []int64, want, got []float32) Output {
	o := Output{Name: name, Shape: shape}
	var dot, ww, gg float64
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if isBad(g) && !isBad(w) {
			o.NaN++
			continue
		}
		if isBad(w) || isBad(g) {
			continue
		}
		dot += w * g
		ww += w * w
		gg += g * g
		o.MaxAbsDiff = max(o.MaxAbsDiff, math.Abs(w-g))
	}
	switch {
	case ww == 0 && gg == 0:
		o.Cosine = 1
	case ww == 0 || gg == 0:
		o.Cosine = 0
	default:
		o.Cosine = dot / math.Sqrt(ww*gg)
	}
	if o.NaN > 0 {
		o.Cosine = 0
	}
	return o
}

func isBad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// Samples makes inputs for a model from its declared inputs, the way a
// text model is fed: input_ids in [1, Vocab), attention_mask of ones (the
// last row right-padded), token_type_ids of zeros, position_ids counting
// from zero, an empty KV cache (past_key_values.* with no positions), other
// float inputs drawn from a normal distribution and other integer inputs
// zero. Symbolic dimensions take Batch, Sequence, or 0 for past lengths.
func Samples(inputs []onnx.ValueInfo, opts Options) (map[string]*engine.Tensor, error) {
	opts.defaults()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	out := map[string]*engine.Tensor{}
	for _, v := range inputs {
		if v.Kind != "tensor" {
			return nil, fmt.Errorf("input %q is a %s; only tensors can be sampled", v.Name, v.Kind)
		}
		shape := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = dimSize(v.Name, i, d, opts)
		}
		n := 1
		for _, d := range shape {
			n *= int(d)
		}
		t, err := sample(v, shape, n, opts, rng)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", v.Name, err)
		}
		out[v.Name] = t
	}
	return out, nil
}

// dimSize sizes dimension i of an input.
func dimSize(input string, i int, d onnx.Dim, opts Options) int64 {
	name := strings.ToLower(d.Param)
	switch {
	case d.Fixed():
		return d.Value
	case input == "attention_mask" && i == 1:
		return int64(opts.Sequence)
	case strings.Contains(name, "batch"):
		return int64(opts.Batch)
	case strings.Contains(name, "past") && !strings.Contains(name, "+"):
		return 0
	case strings.HasPrefix(input, "past_key_values") && i == 2:
		return 0
	case i == 0:
		return int64(opts.Batch)
	}
	return int64(opts.Sequence)
}

func sample(v onnx.ValueInfo, shape []int64, n int, opts Options, rng *rand.Rand) (*engine.Tensor, error) {
	switch v.Elem {
	case onnx.Int64:
		data := make([]int64, n)
		last := int64(1)
		if len(shape) > 0 {
			last = max(shape[len(shape)-1], 1)
		}
		for i := range data {
			switch v.Name {
			case "input_ids":
				data[i] = 1 + rng.Int64N(int64(opts.Vocab-1))
			case "attention_mask":
				data[i] = 1
				if len(shape) == 2 && shape[0] > 1 && shape[1] > 4 && int64(i) >= int64(n)-2 {
					data[i] = 0 // right padding of the last row
				}
			case "position_ids":
				data[i] = int64(i) % last
			}
		}
		return engine.NewTensor(shape, data)
	case onnx.Int32:
		return engine.NewTensor(shape, make([]int32, n))
	case onnx.Bool:
		return engine.NewTensor(shape, make([]bool, n))
	case onnx.Float:
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return engine.NewTensor(shape, data)
	case onnx.Float16:
		data := make([]engine.Float16, n)
		for i := range data {
			data[i] = engine.ToFloat16(float32(rng.NormFloat64()))
		}
		return engine.NewTensor(shape, data)
	}
	return nil, fmt.Errorf("cannot sample %s inputs", v.Elem)
}
