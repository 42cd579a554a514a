package pipeline

import (
	"fmt"
	"math"
)

// pool reduces one sequence's token vectors, hidden ([T, H] row-major, with
// the first n rows real and the rest padding), to one vector in dst ([H]).
func pool(mode Pooling, hidden []float32, h, n int, dst []float32) error {
	if n <= 0 || len(hidden) < n*h || len(dst) != h {
		return fmt.Errorf("pooling %d tokens of width %d from %d values into %d", n, h, len(hidden), len(dst))
	}
	switch mode {
	case PoolCLS:
		copy(dst, hidden[:h])
	case PoolLastToken:
		copy(dst, hidden[(n-1)*h:n*h])
	case PoolMax:
		copy(dst, hidden[:h])
		for t := 1; t < n; t++ {
			row := hidden[t*h : (t+1)*h]
			for i, v := range row {
				if v > dst[i] {
					dst[i] = v
				}
			}
		}
	case PoolMean, PoolMeanSqrt:
		// Accumulate in float64: long sequences lose precision in float32.
		acc := make([]float64, h)
		for t := range n {
			row := hidden[t*h : (t+1)*h]
			for i, v := range row {
				acc[i] += float64(v)
			}
		}
		div := float64(n)
		if mode == PoolMeanSqrt {
			div = math.Sqrt(div)
		}
		for i := range dst {
			dst[i] = float32(acc[i] / div)
		}
	default:
		return fmt.Errorf("unknown pooling %q", mode)
	}
	return nil
}

// normalize scales v to unit L2 length in place (a zero vector stays zero).
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	// sentence-transformers and transformers.js divide by max(norm, 1e-12).
	inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
