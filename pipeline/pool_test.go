package pipeline

import (
	"math"
	"testing"
)

func TestPool(t *testing.T) {
	// Three real tokens of width 2, then one padding row that must be ignored.
	hidden := []float32{1, 2, 3, -4, 5, 0, 100, 100}
	cases := map[Pooling][]float32{
		PoolMean:      {3, -2.0 / 3},
		PoolCLS:       {1, 2},
		PoolLastToken: {5, 0},
		PoolMax:       {5, 2},
		PoolMeanSqrt:  {9 / float32(math.Sqrt(3)), -2 / float32(math.Sqrt(3))},
	}
	for mode, want := range cases {
		t.Run(string(mode), func(t *testing.T) {
			got := make([]float32, 2)
			if err := pool(mode, hidden, 2, 3, got); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
		})
	}
	if err := pool(PoolMean, hidden, 2, 5, make([]float32, 2)); err == nil {
		t.Fatal("pooling more tokens than given did not fail")
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	normalize(v)
	if math.Abs(float64(v[0])-0.6) > 1e-7 || math.Abs(float64(v[1])-0.8) > 1e-7 {
		t.Fatalf("normalize = %v", v)
	}
	z := []float32{0, 0}
	normalize(z)
	if z[0] != 0 || z[1] != 0 {
		t.Fatalf("zero vector became %v", z)
	}
}
