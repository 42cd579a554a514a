package engine_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
)

// embedderSession loads the tiny embedder for a test.
func embedderSession(t *testing.T) *engine.Session {
	t.Helper()
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewSession(context.Background(), fixtures.Dir(t, fixtures.TinyBERTEmbedder)+"/onnx/model.onnx", engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sess.Close()
		rt.Close()
	})
	return sess
}

// randomSequences makes n token sequences of 1 to maxLen tokens.
func randomSequences(seed uint64, n, maxLen int) []engine.Sequence {
	rng := rand.New(rand.NewPCG(seed, 1))
	seqs := make([]engine.Sequence, n)
	for i := range seqs {
		l := 1 + rng.IntN(maxLen)
		ids := make([]int64, l)
		for j := range ids {
			ids[j] = 1000 + rng.Int64N(20000)
		}
		seqs[i] = engine.Sequence{IDs: ids, TypeIDs: make([]int64, l)}
	}
	return seqs
}

// meanVector is a row callback's work: mean of the real tokens' vectors.
func meanVector(row engine.Row) ([]float32, error) {
	data, shape, err := row.Output("last_hidden_state")
	if err != nil {
		return nil, err
	}
	h := int(shape[1])
	v := make([]float32, h)
	for t := range row.Len {
		for i := range h {
			v[i] += data[t*h+i] / float32(row.Len)
		}
	}
	return v, nil
}

func submit(ctx context.Context, b *engine.Batcher, seqs []engine.Sequence) ([][]float32, error) {
	out := make([][]float32, len(seqs))
	err := b.Submit(ctx, seqs, func(i int, row engine.Row) error {
		v, err := meanVector(row)
		out[i] = v
		return err
	})
	return out, err
}

// Sequences batched with others (padded, grouped by length, from many
// concurrent requests) give the same vectors as each run alone.
func TestBatchedEqualsSingle(t *testing.T) {
	sess := embedderSession(t)
	seqs := randomSequences(1, 48, 40)

	alone, err := engine.NewBatcher(sess, engine.BatchConfig{MaxBatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	want := make([][]float32, len(seqs))
	for i, s := range seqs {
		v, err := submit(context.Background(), alone, []engine.Sequence{s})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[0]
	}

	b, err := engine.NewBatcher(sess, engine.BatchConfig{MaxBatchTokens: 600})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make([][]float32, len(seqs))
	var wg sync.WaitGroup
	for start := 0; start < len(seqs); start += 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := min(start+3, len(seqs))
			v, err := submit(context.Background(), b, seqs[start:end])
			if err != nil {
				t.Error(err)
				return
			}
			copy(got[start:end], v)
		}()
	}
	wg.Wait()
	worst := 0.0
	for i := range want {
		for j := range want[i] {
			worst = math.Max(worst, math.Abs(float64(got[i][j]-want[i][j])))
		}
	}
	st := b.Stats()
	t.Logf("%d sequences in %d batches, %d tokens padded to %d; max difference %.2g", st.Sequences, st.Batches, st.Tokens, st.PaddedTokens, worst)
	if worst > 1e-5 {
		t.Fatalf("batched vectors differ from single ones by %g", worst)
	}
	if st.Batches >= int64(len(seqs)) {
		t.Errorf("%d batches for %d sequences: nothing was batched", st.Batches, len(seqs))
	}
	if st.PaddedTokens > int64(600*st.Batches) {
		t.Errorf("a batch went over the token budget: %d padded tokens in %d batches", st.PaddedTokens, st.Batches)
	}
}

func TestQueueFullIsImmediate(t *testing.T) {
	sess := embedderSession(t)
	b, err := engine.NewBatcher(sess, engine.BatchConfig{MaxQueue: 1, MaxBatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	block := make(chan struct{})
	started := make(chan struct{})
	go func() {
		b.Submit(context.Background(), randomSequences(2, 1, 8), func(int, engine.Row) error {
			close(started)
			<-block
			return nil
		})
	}()
	<-started
	_, err = submit(context.Background(), b, randomSequences(3, 1, 8))
	close(block)
	if !errors.Is(err, engine.ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
	if b.Stats().Rejected != 1 {
		t.Errorf("rejected = %d", b.Stats().Rejected)
	}
}

// A request whose context ends returns at once; its sequences are dropped,
// and the others are served.
func TestCancelledRequestIsDropped(t *testing.T) {
	sess := embedderSession(t)
	b, err := engine.NewBatcher(sess, engine.BatchConfig{MaxBatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	block := make(chan struct{})
	started := make(chan struct{})
	go func() {
		b.Submit(context.Background(), randomSequences(4, 1, 8), func(int, engine.Row) error {
			close(started)
			<-block
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	called := make(chan int, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Submit(ctx, randomSequences(5, 5, 8), func(i int, _ engine.Row) error {
			called <- i
			return nil
		})
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(block)
	if _, err := submit(context.Background(), b, randomSequences(6, 2, 8)); err != nil {
		t.Fatal(err)
	}
	if len(called) != 0 {
		t.Fatalf("the cancelled request's callback ran %d times", len(called))
	}
}

func TestRowCallbackPanicIsAnError(t *testing.T) {
	sess := embedderSession(t)
	b, err := engine.NewBatcher(sess, engine.BatchConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Submit(context.Background(), randomSequences(7, 2, 8), func(i int, _ engine.Row) error {
		if i == 1 {
			panic("boom")
		}
		return nil
	})
	if err == nil {
		t.Fatal("a panicking callback did not fail the request")
	}
	if _, err := submit(context.Background(), b, randomSequences(8, 2, 8)); err != nil {
		t.Fatalf("batcher broken after a panic: %v", err)
	}
}

func TestBatcherRejectsBadInput(t *testing.T) {
	sess := embedderSession(t)
	b, err := engine.NewBatcher(sess, engine.BatchConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(context.Background(), []engine.Sequence{{}}, nil); !errors.Is(err, engine.ErrBadInput) {
		t.Fatalf("empty sequence: %v", err)
	}
	b.Close()
	if _, err := submit(context.Background(), b, randomSequences(9, 1, 8)); !errors.Is(err, engine.ErrBatcherClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
