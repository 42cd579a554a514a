package validate

import (
	"context"
	"fmt"

	"runner/engine"
	"runner/onnx"
)

// Greedy generates n tokens after prompt with the decoder model at path,
// taking the most likely token at each step and feeding it back through
// the KV cache (engine.Decoder). kvHeads and headDim fill cache dimensions
// the graph leaves symbolic (0 when it fixes them). It is how decoders'
// variants are compared: the same prompt, the tokens each one picks.
func Greedy(ctx context.Context, rt *engine.Runtime, path string, prompt []int64, n, kvHeads, headDim int, opts engine.SessionOptions) ([]int64, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("greedy decoding needs a prompt")
	}
	sess, err := rt.NewSession(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	spec, err := engine.InspectDecoder(sess, kvHeads, headDim)
	if err != nil {
		return nil, err
	}
	dec := engine.NewDecoder(sess, spec)
	cache := dec.NewCache()
	if err := cache.AddEmptyRows(1); err != nil {
		return nil, err
	}
	out := make([]int64, 0, n)
	step := [][]int64{prompt}
	for range n {
		logits, err := dec.Step(ctx, cache, step)
		if err != nil {
			return out, fmt.Errorf("decode %s: %w", path, err)
		}
		next := argmax(logits)
		out = append(out, next)
		step = [][]int64{{next}}
	}
	return out, nil
}

func argmax(v []float32) int64 {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return int64(best)
}

// CommonPrefix returns how many leading tokens a and b share: how long two
// greedy generations agree before the first difference sends them apart.
func CommonPrefix(a, b []int64) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// NextTokens runs the decoder model at path once over ids (an empty KV
// cache, the whole sequence at once) and returns the most likely next
// token after each prefix: out[i] follows ids[:i+1]. Comparing two
// variants on the same ids (teacher forcing) counts how often they agree on
// the next token without one early difference sending the rest apart.
func NextTokens(ctx context.Context, rt *engine.Runtime, path string, ids []int64, kvHeads, headDim int, opts engine.SessionOptions) ([]int64, error) {
	sess, err := rt.NewSession(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	spec, err := engine.InspectDecoder(sess, kvHeads, headDim)
	if err != nil {
		return nil, err
	}
	S := int64(len(ids))
	in := map[string]*engine.Tensor{}
	set := func(name string) func(*engine.Tensor, error) error {
		return func(t *engine.Tensor, err error) error {
			in[name] = t
			return err
		}
	}
	ones, pos := make([]int64, S), make([]int64, S)
	for i := range ones {
		ones[i], pos[i] = 1, int64(i)
	}
	if err := set("input_ids")(engine.NewTensor([]int64{1, S}, ids)); err != nil {
		return nil, err
	}
	if err := set("attention_mask")(engine.NewTensor([]int64{1, S}, ones)); err != nil {
		return nil, err
	}
	if spec.HasPositionIDs {
		if err := set("position_ids")(engine.NewTensor([]int64{1, S}, pos)); err != nil {
			return nil, err
		}
	}
	if spec.HasUseCacheBranch {
		if err := set("use_cache_branch")(engine.NewTensor([]int64{1}, []bool{false})); err != nil {
			return nil, err
		}
	}
	empty := []int64{1, int64(spec.KVHeads), 0, int64(spec.HeadDim)}
	for i := range spec.Layers {
		for _, kind := range []string{"key", "value"} {
			name := fmt.Sprintf("past_key_values.%d.%s", i, kind)
			if spec.CacheType == onnx.Float16 {
				err = set(name)(engine.NewTensor(empty, []engine.Float16{}))
			} else {
				err = set(name)(engine.NewTensor(empty, []float32{}))
			}
			if err != nil {
				return nil, err
			}
		}
	}
	out, err := sess.Run(ctx, in, nil)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", path, err)
	}
	logits, err := out["logits"].Float32s()
	if err != nil {
		return nil, err
	}
	V := len(logits) / len(ids)
	next := make([]int64, len(ids))
	for i := range next {
		next[i] = argmax(logits[i*V : (i+1)*V])
	}
	return next, nil
}

// Agreement returns the fraction of positions where a and b hold the same
// token.
func Agreement(a, b []int64) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}
