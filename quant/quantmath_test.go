package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestInt8Range(t *testing.T) {
	tests := []struct {
		signed, symmetric, reduce bool
		want                      intRange
	}{
		{false, false, false, intRange{0, 255}},
		{false, false, true, intRange{0, 127}},
		{true, true, false, intRange{-127, 127}},
		{true, false, false, intRange{-128, 127}},
		{true, true, true, intRange{-64, 64}},
		{true, false, true, intRange{-64, 64}},
	}
	for _, tt := range tests {
		if got := int8Range(tt.signed, tt.symmetric, tt.reduce); got != tt.want {
			t.Errorf("int8Range(signed %v, symmetric %v, reduce %v) = %v, want %v", tt.signed, tt.symmetric, tt.reduce, got, tt.want)
		}
	}
}

func TestScaleZero(t *testing.T) {
	tests := []struct {
		name       string
		lo, hi     float32
		r          intRange
		symmetric  bool
		scale      float32
		zero       int32
		exactValue float32 // a value that must survive quantisation exactly
	}{
		{"symmetric int8 keeps zero at 0", -1, 0.5, intRange{-127, 127}, true, 1.0 / 127, 0, 0},
		{"reduced symmetric int8", -0.25, 2, intRange{-64, 64}, true, 2.0 / 64, 0, 2},
		{"asymmetric uint8 widens to hold 0", 1, 3, intRange{0, 255}, false, 3.0 / 255, 0, 0},
		// 1/scale is 127.49999 in float32, which rounds to 127.
		{"asymmetric uint8 across 0", -1, 1, intRange{0, 255}, false, 2.0 / 255, 127, 0},
		{"all zeros", 0, 0, intRange{0, 255}, false, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scale, zero := scaleZero(tt.lo, tt.hi, tt.r, tt.symmetric)
			if math.Abs(float64(scale-tt.scale)) > 1e-7 || zero != tt.zero {
				t.Fatalf("scaleZero = %g, %d; want %g, %d", scale, zero, tt.scale, tt.zero)
			}
			q := quantizeValue(tt.exactValue, scale, zero, tt.r)
			if back := float32(q-zero) * scale; math.Abs(float64(back-tt.exactValue)) > 1e-6 {
				t.Errorf("%g quantises to %d, back to %g", tt.exactValue, q, back)
			}
		})
	}
}

func TestQuantizeMatrix8PerColumn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 64, 5
	w := make([]float32, rows*cols)
	for i := range w {
		// Columns of very different magnitudes: per-column scales matter.
		w[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(i%cols-2)))
	}
	for _, tt := range []struct {
		name                      string
		signed, symmetric, reduce bool
	}{
		{"int8 symmetric reduced", true, true, true},
		{"int8 symmetric", true, true, false},
		{"uint8 asymmetric", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := quantizeMatrix8(w, rows, cols, true, tt.signed, tt.symmetric, tt.reduce)
			if len(q.scales) != cols || len(q.zeros) != cols || len(q.data) != len(w) {
				t.Fatalf("%d scales, %d zeros, %d values", len(q.scales), len(q.zeros), len(q.data))
			}
			for i, v := range w {
				c := i % cols
				level := int32(q.data[i])
				zero := int32(q.zeros[c])
				if tt.signed {
					level, zero = int32(int8(q.data[i])), int32(int8(q.zeros[c]))
				}
				if tt.symmetric && zero != 0 {
					t.Fatalf("column %d: zero point %d, want 0", c, zero)
				}
				back := float32(level-zero) * q.scales[c]
				if err := math.Abs(float64(back - v)); err > float64(q.scales[c])/2+1e-9 {
					t.Fatalf("w[%d] = %g comes back as %g (scale %g)", i, v, back, q.scales[c])
				}
			}
			// The small column's scale is far below the large one's.
			if q.scales[0] > q.scales[4]/1000 {
				t.Errorf("scales %v are not per column", q.scales)
			}
		})
	}
}

func TestQuantizeBlocks4(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const N, K, block = 3, 80, 32 // K is not a multiple of the block: padded
	w := make([]float32, N*K)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	at := func(n, k int) float32 { return w[n*K+k] }
	for _, symmetric := range []bool{true, false} {
		q := quantizeBlocks4(at, N, K, block, symmetric)
		blocks := (K + block - 1) / block
		if len(q.data) != N*blocks*block/2 || len(q.scales) != N*blocks {
			t.Fatalf("symmetric %v: %d bytes, %d scales", symmetric, len(q.data), len(q.scales))
		}
		if symmetric != (q.zeros == nil) {
			t.Fatalf("symmetric %v: zero points %v", symmetric, q.zeros)
		}
		if !symmetric && len(q.zeros) != N*((blocks+1)/2) {
			t.Fatalf("%d zero point bytes, want %d", len(q.zeros), N*((blocks+1)/2))
		}
		for n := range N {
			for b := range blocks {
				extreme := float32(0)
				for k := b * block; k < min(K, (b+1)*block); k++ {
					if abs32(at(n, k)) > abs32(extreme) {
						extreme = at(n, k)
					}
				}
				scale := abs32(q.scales[n*blocks+b])
				for k := b * block; k < min(K, (b+1)*block); k++ {
					got := q.dequantize(n, k, K, block)
					if err := abs32(got - at(n, k)); err > scale/2+1e-6 {
						t.Fatalf("symmetric %v: (%d,%d) = %g comes back as %g (scale %g)", symmetric, n, k, at(n, k), got, scale)
					}
					if symmetric && at(n, k) == extreme && got != extreme {
						t.Errorf("the block's extreme %g comes back as %g; symmetric blocks keep it exactly", extreme, got)
					}
				}
			}
		}
	}
}

func TestQuantizeBlocks4Layout(t *testing.T) {
	// One column of 16 weights 8, 7 ... -7: the extreme, 8, maps onto
	// level 0, so the scale is -1 and level = 8 - value = the index.
	vals := make([]float32, 16)
	for i := range vals {
		vals[i] = float32(8 - i) // 8, 7, ... -7
	}
	q := quantizeBlocks4(func(_, k int) float32 { return vals[k] }, 1, 16, 16, true)
	if q.scales[0] != -1 {
		t.Fatalf("scale %g, want -1 (8 / -8)", q.scales[0])
	}
	// Levels are 0, 1, ... 15; bytes hold pairs, the even index low.
	for i := range 8 {
		want := byte(2*i) | byte(2*i+1)<<4
		if q.data[i] != want {
			t.Errorf("byte %d = %#x, want %#x", i, q.data[i], want)
		}
	}
}
