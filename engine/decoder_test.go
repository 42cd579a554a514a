package engine_test

import (
	"context"
	"math"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
)

func llamaDecoder(t *testing.T) *engine.Decoder {
	t.Helper()
	return fixtureDecoder(t, fixtures.TinyLlama)
}

// fixtureDecoder opens one of the tiny Llama fixtures: tiny-llama, or
// tiny-llama-gqa, whose attention is one GroupQueryAttention node.
func fixtureDecoder(t *testing.T, name string) *engine.Decoder {
	t.Helper()
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewSession(context.Background(), fixtures.Dir(t, name)+"/onnx/model.onnx", engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sess.Close()
		rt.Close()
	})
	spec, err := engine.InspectDecoder(sess, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Layers != 2 || spec.KVHeads != 2 || spec.HeadDim != 16 || spec.Vocab != 32000 || !spec.HasPositionIDs ||
		spec.RightPaddedAttention != (name == fixtures.TinyLlamaGQA) {
		t.Fatalf("%s: spec = %+v", name, spec)
	}
	return engine.NewDecoder(sess, spec)
}

func step(t *testing.T, d *engine.Decoder, c *engine.KVCache, tokens ...[]int64) []float32 {
	t.Helper()
	logits, err := d.Step(context.Background(), c, tokens)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), logits...)
}

func maxDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
	}
	return worst
}

// prefill runs a prompt into a fresh one-row cache.
func prefill(t *testing.T, d *engine.Decoder, prompt []int64) (*engine.KVCache, []float32) {
	t.Helper()
	c := d.NewCache()
	if err := c.AddEmptyRows(1); err != nil {
		t.Fatal(err)
	}
	return c, step(t, d, c, prompt)
}

// The KV cache gives the same logits whether a prompt is fed at once or a
// token at a time.
func TestDecoderCacheMatchesFullPrompt(t *testing.T) {
	d := llamaDecoder(t)
	prompt := []int64{1, 415, 2936, 9060, 285, 1142, 461, 10575}
	_, whole := prefill(t, d, prompt)

	c := d.NewCache()
	c.AddEmptyRows(1)
	var last []float32
	for _, tok := range prompt {
		last = step(t, d, c, []int64{tok})
	}
	if diff := maxDiff(whole, last); diff > 1e-4 {
		t.Fatalf("token-by-token logits differ from the whole prompt's by %g", diff)
	}
	if c.Len() != len(prompt) || c.Seen(0) != len(prompt) {
		t.Fatalf("cache length %d, seen %d", c.Len(), c.Seen(0))
	}
}

// Sequences that join a batch (padded to a common length: on the left, or
// on the right for GroupQueryAttention), decode together, and leave it,
// get the logits they would get alone.
func TestDecoderBatchJoinAndLeave(t *testing.T) {
	for _, name := range []string{fixtures.TinyLlama, fixtures.TinyLlamaGQA} {
		t.Run(name, func(t *testing.T) { testBatchJoinAndLeave(t, fixtureDecoder(t, name)) })
	}
}

func testBatchJoinAndLeave(t *testing.T, d *engine.Decoder) {
	prompts := [][]int64{
		{1, 415, 2936, 9060},
		{1, 306, 763, 8062, 1135, 297, 278, 4566, 29889},
		{1, 29871},
	}
	next := []int64{450, 1576, 338}

	// Each alone: prefill, then one decode step, then another.
	var want1, want2 [][]float32
	for i, p := range prompts {
		c, _ := prefill(t, d, p)
		want1 = append(want1, step(t, d, c, []int64{next[i]}))
		want2 = append(want2, step(t, d, c, []int64{next[(i+1)%3]}))
	}

	// Together: the first two join, decode a step, the third joins, the
	// first leaves, and the other two decode again.
	batch := d.NewCache()
	for _, p := range prompts[:2] {
		c, _ := prefill(t, d, p)
		batch.Append(c)
	}
	got := step(t, d, batch, []int64{next[0]}, []int64{next[1]})
	V := len(want1[0])
	for r := range 2 {
		if diff := maxDiff(got[r*V:(r+1)*V], want1[r]); diff > 1e-4 {
			t.Fatalf("row %d first step differs by %g", r, diff)
		}
	}
	c, _ := prefill(t, d, prompts[2])
	batch.Append(c)
	third := step(t, d, batch, []int64{next[1]}, []int64{next[2]}, []int64{next[2]})
	// Rows: 0 = prompt 0 (second step), 1 = prompt 1 (second step), 2 = prompt 2 (first step).
	if diff := maxDiff(third[0:V], want2[0]); diff > 1e-4 {
		t.Fatalf("row 0 second step differs by %g", diff)
	}
	if diff := maxDiff(third[2*V:3*V], want1[2]); diff > 1e-4 {
		t.Fatalf("joined row differs by %g", diff)
	}
	lenBefore := batch.Len()
	batch.Remove(1) // the longest prompt leaves: its padding can go
	if batch.Rows() != 2 || batch.Len() >= lenBefore {
		t.Fatalf("after Remove: %d rows, length %d (was %d)", batch.Rows(), batch.Len(), lenBefore)
	}
	after := step(t, d, batch, []int64{next[0]}, []int64{next[0]})
	alone0, _ := prefill(t, d, prompts[0])
	step(t, d, alone0, []int64{next[0]})
	step(t, d, alone0, []int64{next[1]})
	want := step(t, d, alone0, []int64{next[0]})
	if diff := maxDiff(after[0:V], want); diff > 1e-4 {
		t.Fatalf("after a row left, row 0 differs by %g", diff)
	}
	batch.Remove(0, 1)
	if batch.Rows() != 0 || batch.Len() != 0 {
		t.Fatalf("empty cache has %d rows, length %d", batch.Rows(), batch.Len())
	}
}
