package validate

import (
	"context"
	"fmt"

	"runner/engine"
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
