package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"runner/onnx"
	"runner/onnx/graph"
)

// rss returns the process's resident set size in bytes (Linux only).
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm on this system")
	}
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// Loading and failing to load a model 1000 times leaves memory flat: every
// ONNX Runtime object made on the way is destroyed.
func TestLoadsLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	rt := openRuntime(t)
	dir := t.TempDir()
	good := saveModel(t, dir, "good.onnx", matmulModel, onnx.SaveOptions{})
	badForORT := saveModel(t, dir, "bad-op.onnx", func(b *graph.Builder) {
		x := b.Input("x", onnx.Float, graph.Fixed(1))
		b.Output("y", b.Op("NoSuchOperator", x), onnx.Float, graph.Fixed(1))
	}, onnx.SaveOptions{})
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("\x08\x07garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	x, _ := NewTensor([]int64{1, 4}, []float32{1, 2, 3, 4})
	cycle := func() {
		s, err := rt.NewSession(context.Background(), good, SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(context.Background(), map[string]*Tensor{"x": x}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{badForORT, garbage} {
			if s, err := rt.NewSession(context.Background(), p, SessionOptions{}); err == nil {
				s.Close()
				t.Fatalf("%s loaded", p)
			}
		}
	}
	for range 100 {
		cycle()
	}
	runtime.GC()
	before := rss(t)
	for range 1000 {
		cycle()
	}
	runtime.GC()
	after := rss(t)
	t.Logf("RSS before %d MiB, after 1000 loads %d MiB", before>>20, after>>20)
	if grown := after - before; grown > 32<<20 {
		t.Fatalf("RSS grew by %d MiB over 1000 load cycles", grown>>20)
	}
}

// heavyModel multiplies a 1024×1024 input by itself 40 times: tens of
// seconds of work, so a run that returns early was cancelled.
func heavyModel(b *graph.Builder) {
	x := b.Input("x", onnx.Float, graph.Fixed(1024), graph.Fixed(1024))
	y := x
	for range 40 {
		y = b.MatMul(y, x)
	}
	b.Output("y", y, onnx.Float, graph.Fixed(1024), graph.Fixed(1024))
}

func TestCancelTerminatesRun(t *testing.T) {
	rt := openRuntime(t)
	s := newSession(t, rt, saveModel(t, t.TempDir(), "heavy.onnx", heavyModel, onnx.SaveOptions{}))
	x, _ := Zeros[float32](1024, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := s.Run(ctx, map[string]*Tensor{"x": x}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The session still works after a terminated run.
	small, _ := NewTensor([]int64{1024, 1024}, make([]float32, 1024*1024))
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := s.Run(ctx2, map[string]*Tensor{"x": small}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("already-cancelled context: %v", err)
	}
}

// Close waits for a run in flight instead of destroying the session under it.
func TestCloseWaitsForRun(t *testing.T) {
	rt := openRuntime(t)
	path := saveModel(t, t.TempDir(), "heavy.onnx", heavyModel, onnx.SaveOptions{})
	s, err := rt.NewSession(context.Background(), path, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := Zeros[float32](1024, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, map[string]*Tensor{"x": x}, nil)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a run was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}
