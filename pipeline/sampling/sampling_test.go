package sampling

import (
	"math"
	"testing"
)

func logitsOf(ps ...float64) []float32 {
	out := make([]float32, len(ps))
	for i, p := range ps {
		out[i] = float32(math.Log(p))
	}
	return out
}

func seed(n int64) *int64 { return &n }

func TestGreedyPicksLargestAndIgnoresSeed(t *testing.T) {
	s := New(Options{Temperature: 0})
	if got := s.Sample([]float32{0.1, 3, -2, 3}, nil, nil); got != 1 {
		t.Fatalf("greedy = %d, want 1 (first of the tied maxima)", got)
	}
	if got := s.Sample([]float32{0.1, 3, -2, 3}, nil, allowOnly(0, 2, 3)); got != 3 {
		t.Fatalf("greedy with 1 disallowed = %d, want 3", got)
	}
}

// allowSet is a Constraint that allows a fixed set of tokens and counts
// how it was asked.
type allowSet struct {
	ids           map[int]bool
	allows, masks int
}

func allowOnly(ids ...int) *allowSet {
	a := &allowSet{ids: map[int]bool{}}
	for _, id := range ids {
		a.ids[id] = true
	}
	return a
}

func (a *allowSet) Allows(id int) bool { a.allows++; return a.ids[id] }

func (a *allowSet) Mask(mask []bool) bool {
	a.masks++
	any := false
	for id := range mask {
		mask[id] = a.ids[id]
		any = any || mask[id]
	}
	return any
}

func TestConstrainedSampling(t *testing.T) {
	// The allowed tokens are the least likely: the sampler gives up
	// asking pick by pick and masks.
	logits := make([]float32, 40)
	for i := range logits {
		logits[i] = float32(i)
	}
	for _, temp := range []float32{0, 0.8} {
		s := New(Options{Temperature: temp, Seed: seed(7)})
		counts := map[int]int{}
		for range 200 {
			c := allowOnly(0, 1)
			counts[s.Sample(append([]float32(nil), logits...), nil, c)]++
			if c.masks != 1 {
				t.Fatalf("temperature %v: Mask called %d times, want 1", temp, c.masks)
			}
		}
		if counts[0]+counts[1] != 200 || temp == 0 && counts[1] != 200 || temp > 0 && counts[0] == 0 {
			t.Fatalf("temperature %v: picks %v, want only 0 and 1 (only 1 when greedy)", temp, counts)
		}
	}
	// A likely allowed token needs no mask.
	c := allowOnly(39)
	if got := New(Options{Temperature: 0}).Sample(append([]float32(nil), logits...), nil, c); got != 39 || c.masks != 0 || c.allows != 1 {
		t.Fatalf("got %d after %d Allows and %d Masks, want 39 after 1 and 0", got, c.allows, c.masks)
	}
	if got := New(Options{Temperature: 1}).Sample(append([]float32(nil), logits...), nil, allowOnly()); got != -1 {
		t.Fatalf("nothing allowed: got %d, want -1", got)
	}
}

func TestSameSeedSameTokens(t *testing.T) {
	opts := Options{Temperature: 1, Seed: seed(42)}
	draw := func() []int {
		s := New(opts)
		var out []int
		for range 50 {
			out = append(out, s.Sample(logitsOf(0.2, 0.3, 0.1, 0.4), nil, nil))
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs: %d vs %d", i, a[i], b[i])
		}
	}
	opts.Seed = seed(43)
	c := draw()
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("a different seed gave the same 50 tokens")
	}
}

func TestDistributionFollowsProbabilities(t *testing.T) {
	probs := []float64{0.1, 0.2, 0.3, 0.4}
	s := New(Options{Temperature: 1, Seed: seed(7)})
	counts := make([]int, len(probs))
	const n = 40000
	for range n {
		counts[s.Sample(logitsOf(probs...), nil, nil)]++
	}
	for i, p := range probs {
		got := float64(counts[i]) / n
		if math.Abs(got-p) > 0.015 {
			t.Errorf("token %d drawn %.3f of the time, want %.2f", i, got, p)
		}
	}
}

func TestTruncations(t *testing.T) {
	probs := logitsOf(0.05, 0.15, 0.3, 0.5)
	cases := map[string]struct {
		opts Options
		want map[int]bool
	}{
		"top_k 2":    {Options{Temperature: 1, TopK: 2}, map[int]bool{2: true, 3: true}},
		"top_p 0.6":  {Options{Temperature: 1, TopP: 0.6}, map[int]bool{2: true, 3: true}},
		"top_p 0.5":  {Options{Temperature: 1, TopP: 0.5}, map[int]bool{3: true}},
		"min_p 0.5":  {Options{Temperature: 1, MinP: 0.5}, map[int]bool{2: true, 3: true}},
		"min_p 0.25": {Options{Temperature: 1, MinP: 0.25}, map[int]bool{1: true, 2: true, 3: true}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			c.opts.Seed = seed(1)
			s := New(c.opts)
			seen := map[int]bool{}
			for range 2000 {
				logits := append([]float32(nil), probs...)
				seen[s.Sample(logits, nil, nil)] = true
			}
			for id := range seen {
				if !c.want[id] {
					t.Errorf("drew %d, outside %v", id, c.want)
				}
			}
			for id := range c.want {
				if !seen[id] {
					t.Errorf("never drew %d", id)
				}
			}
		})
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -2, 1, 1}
	s := New(Options{Temperature: 0, RepeatPenalty: 2, RepeatLastN: 3, PresencePenalty: 0.1, FrequencyPenalty: 0.05})
	// history: token 0 is outside the last 3; token 1 seen twice, token 2 once.
	s.penalise(logits, []int{0, 1, 1, 2})
	want := []float32{2, -4 - 0.1 - 0.1, 0.5 - 0.1 - 0.05, 1}
	for i := range want {
		if math.Abs(float64(logits[i]-want[i])) > 1e-6 {
			t.Errorf("logit %d = %v, want %v", i, logits[i], want[i])
		}
	}
	// The penalty changes the greedy choice.
	if got := New(Options{Temperature: 0, RepeatPenalty: 4, RepeatLastN: 64}).Sample([]float32{2, 1}, []int{0}, nil); got != 1 {
		t.Fatalf("greedy after repeat penalty = %d, want 1", got)
	}
}

func TestTopKKeepsTheLargest(t *testing.T) {
	var c []candidate
	for i, l := range []float32{5, 1, 9, 3, 7, 9, 0} {
		c = append(c, candidate{id: i, logit: l})
	}
	got := topK(c, 3)
	want := []float32{9, 9, 7}
	for i := range want {
		if got[i].logit != want[i] {
			t.Fatalf("topK = %+v", got)
		}
	}
}
