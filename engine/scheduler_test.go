package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingModel records how often it was closed.
type countingModel struct {
	name   string
	closed atomic.Int32
}

func (m *countingModel) Close() error {
	m.closed.Add(1)
	return nil
}

type loadRecorder struct {
	mu     sync.Mutex
	loads  map[string]int
	models []*countingModel
	delay  time.Duration
	fail   map[string]error
}

func (r *loadRecorder) load(ctx context.Context, name string) (Model, int64, error) {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loads == nil {
		r.loads = map[string]int{}
	}
	r.loads[name]++
	if err := r.fail[name]; err != nil {
		return nil, 0, err
	}
	m := &countingModel{name: name}
	r.models = append(r.models, m)
	return m, 100, nil
}

func (r *loadRecorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loads[name]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSchedulerConcurrentFirstRequestsShareOneLoad(t *testing.T) {
	rec := &loadRecorder{delay: 20 * time.Millisecond}
	s := NewScheduler(SchedulerConfig{Load: rec.load, KeepAlive: time.Minute})
	var wg sync.WaitGroup
	leases := make([]*Lease, 8)
	for i := range leases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.Acquire(context.Background(), "m")
			if err != nil {
				t.Error(err)
				return
			}
			leases[i] = l
		}()
	}
	wg.Wait()
	if n := rec.count("m"); n != 1 {
		t.Fatalf("loaded %d times, want 1", n)
	}
	for _, l := range leases {
		if l.Model != leases[0].Model {
			t.Fatal("requests got different models")
		}
		l.Release(nil)
	}
	if got := s.Loaded(); len(got) != 1 || got[0].ExpiresAt.IsZero() {
		t.Fatalf("Loaded() = %+v, want one model with an expiry", got)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := rec.models[0].closed.Load(); c != 1 {
		t.Fatalf("closed %d times, want 1", c)
	}
}

func TestSchedulerKeepAlive(t *testing.T) {
	rec := &loadRecorder{}
	s := NewScheduler(SchedulerConfig{Load: rec.load, KeepAlive: time.Hour})
	defer s.Close(context.Background())

	zero := time.Duration(0)
	l, err := s.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	l.Release(&zero)
	waitFor(t, "unload on keep_alive 0", func() bool { return len(rec.models) == 1 && rec.models[0].closed.Load() == 1 })
	if len(s.Loaded()) != 0 {
		t.Fatal("model still listed after keep_alive 0")
	}

	short := 30 * time.Millisecond
	l, _ = s.Acquire(context.Background(), "b")
	l.Release(&short)
	waitFor(t, "idle unload", func() bool { return len(rec.models) == 2 && rec.models[1].closed.Load() == 1 })

	forever := time.Duration(-1)
	l, _ = s.Acquire(context.Background(), "c")
	l.Release(&forever)
	if st := s.Loaded(); len(st) != 1 || !st[0].ExpiresAt.IsZero() {
		t.Fatalf("forever model: %+v", st)
	}
	// A second release of the same lease does nothing.
	l.Release(&zero)
	if len(s.Loaded()) != 1 {
		t.Fatal("double release unloaded the model")
	}
}

func TestSchedulerEvictsLeastRecentlyUsedIdleModel(t *testing.T) {
	rec := &loadRecorder{}
	s := NewScheduler(SchedulerConfig{Load: rec.load, MaxLoaded: 2, KeepAlive: time.Hour})
	defer s.Close(context.Background())
	ctx := context.Background()

	a, _ := s.Acquire(ctx, "a")
	b, _ := s.Acquire(ctx, "b")
	b.Release(nil)
	// a is busy, b idle: loading c evicts b.
	c, err := s.Acquire(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, st := range s.Loaded() {
		names[st.Name] = true
	}
	if !names["a"] || !names["c"] || names["b"] {
		t.Fatalf("loaded %v, want a and c", names)
	}
	// Both busy: loading d waits until one is released.
	got := make(chan error, 1)
	go func() {
		d, err := s.Acquire(ctx, "d")
		if err == nil {
			d.Release(nil)
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("d loaded while both models were busy (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.Release(nil)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	c.Release(nil)
	if rec.count("a") != 1 || rec.count("d") != 1 {
		t.Fatalf("loads: %v", rec.loads)
	}
}

func TestSchedulerLoadFailureIsNotCached(t *testing.T) {
	boom := errors.New("boom")
	rec := &loadRecorder{fail: map[string]error{"bad": boom}}
	s := NewScheduler(SchedulerConfig{Load: rec.load})
	defer s.Close(context.Background())
	for i := range 2 {
		if _, err := s.Acquire(context.Background(), "bad"); !errors.Is(err, boom) {
			t.Fatalf("try %d: err %v, want boom", i, err)
		}
	}
	if n := rec.count("bad"); n != 2 {
		t.Fatalf("loaded %d times, want 2 (failures are retried)", n)
	}
}

func TestSchedulerCloseWaitsForRequests(t *testing.T) {
	rec := &loadRecorder{}
	s := NewScheduler(SchedulerConfig{Load: rec.load, KeepAlive: time.Hour})
	l, _ := s.Acquire(context.Background(), "a")
	done := make(chan error, 1)
	go func() { done <- s.Close(context.Background()) }()
	select {
	case <-done:
		t.Fatal("Close returned while a request held the model")
	case <-time.After(30 * time.Millisecond):
	}
	if _, err := s.Acquire(context.Background(), "b"); !errors.Is(err, ErrSchedulerClosed) {
		t.Fatalf("Acquire during shutdown: %v", err)
	}
	l.Release(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.models[0].closed.Load() != 1 {
		t.Fatal("model not closed on shutdown")
	}
}

func TestSchedulerCancelledWaiter(t *testing.T) {
	rec := &loadRecorder{delay: 50 * time.Millisecond}
	s := NewScheduler(SchedulerConfig{Load: rec.load, KeepAlive: time.Hour})
	defer s.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	// The load finishes for the next caller.
	l, err := s.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	l.Release(nil)
	if n := rec.count("a"); n != 1 {
		t.Fatal(fmt.Sprintf("loaded %d times, want 1", n))
	}
}

// memoryModels loads models of given sizes from a machine of total bytes,
// reporting as free what the models not yet closed leave.
type memoryModels struct {
	total int64
	sizes map[string]int64
	mu    sync.Mutex
	live  map[*countingModel]int64
	all   map[string][]*countingModel
}

func (mm *memoryModels) load(ctx context.Context, name string) (Model, int64, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	m := &countingModel{name: name}
	mm.live[m] = mm.sizes[name]
	mm.all[name] = append(mm.all[name], m)
	return m, mm.sizes[name], nil
}

func (mm *memoryModels) free() (int64, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	used := int64(0)
	for m, size := range mm.live {
		if m.closed.Load() == 0 {
			used += size
		}
	}
	return mm.total - used, nil
}

func (mm *memoryModels) closed(name string) int {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	n := 0
	for _, m := range mm.all[name] {
		n += int(m.closed.Load())
	}
	return n
}

func TestSchedulerMakesRoomInMemory(t *testing.T) {
	mm := &memoryModels{total: 100, sizes: map[string]int64{"a": 40, "b": 30, "c": 50, "big": 90, "huge": 200},
		live: map[*countingModel]int64{}, all: map[string][]*countingModel{}}
	s := NewScheduler(SchedulerConfig{Load: mm.load, KeepAlive: time.Hour, FreeMemory: mm.free,
		Estimate: func(_ context.Context, name string) int64 { return mm.sizes[name] }})
	defer s.Close(context.Background())
	ctx := context.Background()
	use := func(name string) *Lease {
		t.Helper()
		l, err := s.Acquire(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	loaded := func() (names []string) {
		for _, st := range s.Loaded() {
			names = append(names, st.Name)
		}
		return names
	}
	use("a").Release(nil)
	use("b").Release(nil)
	if got := loaded(); len(got) != 2 {
		t.Fatalf("loaded %v, want a and b (70 of 100)", got)
	}
	// c (50) fits once the least recently used idle model (a) goes.
	c := use("c")
	waitFor(t, "a to be unloaded", func() bool { return mm.closed("a") == 1 })
	if mm.closed("b") != 0 {
		t.Fatal("b was unloaded too")
	}
	// big (90) needs every idle model gone; c is in use, so it stays and
	// big loads anyway.
	use("big").Release(nil)
	waitFor(t, "b to be unloaded", func() bool { return mm.closed("b") == 1 })
	if mm.closed("c") != 0 {
		t.Fatal("a model in use was unloaded")
	}
	c.Release(nil)
	// A model that cannot fit at all still loads, after the idle ones go.
	use("huge").Release(nil)
	waitFor(t, "big and c to be unloaded", func() bool { return mm.closed("big") == 1 && mm.closed("c") == 1 })
	if got := loaded(); len(got) != 1 || got[0] != "huge" {
		t.Fatalf("loaded %v, want only huge", got)
	}
}

func TestSchedulerMemoryUnknown(t *testing.T) {
	rec := &loadRecorder{}
	s := NewScheduler(SchedulerConfig{Load: rec.load, KeepAlive: time.Hour,
		FreeMemory: func() (int64, error) { return 0, ErrMemoryUnknown },
		Estimate:   func(context.Context, string) int64 { return 1 << 40 }})
	defer s.Close(context.Background())
	for _, name := range []string{"a", "b", "c"} {
		l, err := s.Acquire(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		l.Release(nil)
	}
	if n := len(s.Loaded()); n != 3 {
		t.Fatalf("%d models loaded; with memory unknown, none should be unloaded", n)
	}
}
