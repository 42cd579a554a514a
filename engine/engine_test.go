package engine

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/internal/testenv"
	"runner/onnx"
	"runner/onnx/graph"
)

// openRuntime loads ONNX Runtime for a test.
func openRuntime(t *testing.T) *Runtime {
	t.Helper()
	rt, err := Open(Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Error(err)
		}
	})
	return rt
}

// saveModel writes a model built by build into dir/name.
func saveModel(t *testing.T, dir, name string, build func(b *graph.Builder), save onnx.SaveOptions) string {
	t.Helper()
	b := graph.New(strings.TrimSuffix(name, ".onnx"))
	build(b)
	m, err := b.Model(graph.ModelOptions{ProducerName: "runner-test", Metadata: []onnx.MetadataEntry{{Key: "purpose", Value: "engine test"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := onnx.Save(m, path, save); err != nil {
		t.Fatal(err)
	}
	return path
}

func newSession(t *testing.T, rt *Runtime, path string) *Session {
	t.Helper()
	s, err := rt.NewSession(context.Background(), path, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// identityModel passes one input of each element type through Identity.
func identityModel(b *graph.Builder) {
	for _, et := range []onnx.ElemType{onnx.Float, onnx.Float16, onnx.Int64, onnx.Int32, onnx.Int8, onnx.Uint8, onnx.Bool} {
		in := b.Input("x_"+et.String(), et, graph.Sym("batch"), graph.Fixed(3))
		b.Output("y_"+et.String(), b.Op("Identity", in), et, graph.Sym("batch"), graph.Fixed(3))
	}
}

func TestTypedTensorsRoundTrip(t *testing.T) {
	rt := openRuntime(t)
	s := newSession(t, rt, saveModel(t, t.TempDir(), "identity.onnx", identityModel, onnx.SaveOptions{}))
	shape := []int64{2, 3}
	in := map[string]*Tensor{}
	add := func(name string, tt *Tensor, err error) {
		if err != nil {
			t.Fatal(err)
		}
		in[name] = tt
	}
	halves := []Float16{ToFloat16(1.5), ToFloat16(-2), ToFloat16(0.099975586), ToFloat16(65504), ToFloat16(6e-8), ToFloat16(0)}
	t0, err := NewTensor(shape, []float32{1.5, -2, 3.25, 0, 1e-8, -7})
	add("x_float32", t0, err)
	t1, err := NewTensor(shape, halves)
	add("x_float16", t1, err)
	t2, err := NewTensor(shape, []int64{1, -2, 1 << 40, 0, 5, -1 << 50})
	add("x_int64", t2, err)
	t3, err := NewTensor(shape, []int32{1, -2, 1 << 30, 0, 5, -7})
	add("x_int32", t3, err)
	t4, err := NewTensor(shape, []int8{1, -2, 127, -128, 5, 0})
	add("x_int8", t4, err)
	t5, err := NewTensor(shape, []uint8{1, 2, 255, 0, 5, 9})
	add("x_uint8", t5, err)
	t6, err := NewTensor(shape, []bool{true, false, true, true, false, false})
	add("x_bool", t6, err)

	out, err := s.Run(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range in {
		got := out["y"+strings.TrimPrefix(name, "x")]
		if got == nil {
			t.Fatalf("no output for %s", name)
		}
		if got.Type() != want.Type() || !equalShape(got.Shape(), want.Shape()) {
			t.Fatalf("%s: got %s, want %s", name, got, want)
		}
		if !equalData(got, want) {
			t.Errorf("%s: data changed: %v -> %v", name, want.data, got.data)
		}
	}
	if f, _ := out["y_float16"].Float32s(); f[0] != 1.5 || f[1] != -2 || f[3] != 65504 {
		t.Errorf("float16 as float32: %v", f)
	}
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalData(a, b *Tensor) bool {
	switch x := a.data.(type) {
	case []float32:
		return equalSlices(x, b.data.([]float32))
	case []Float16:
		return equalSlices(x, b.data.([]Float16))
	case []int64:
		return equalSlices(x, b.data.([]int64))
	case []int32:
		return equalSlices(x, b.data.([]int32))
	case []int8:
		return equalSlices(x, b.data.([]int8))
	case []uint8:
		return equalSlices(x, b.data.([]uint8))
	case []bool:
		return equalSlices(x, b.data.([]bool))
	}
	return false
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// matmulModel computes y = x · W with W (4×2) stored in the model.
func matmulModel(b *graph.Builder) {
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Fixed(4))
	w := b.Float32("W", []int64{4, 2}, []float32{1, 0, 0, 1, 1, 1, 2, -1})
	b.Output("y", b.MatMul(x, w), onnx.Float, graph.Sym("batch"), graph.Fixed(2))
}

func TestExternalData(t *testing.T) {
	rt := openRuntime(t)
	dir := t.TempDir()
	path := saveModel(t, dir, "model.onnx", matmulModel, onnx.SaveOptions{ExternalDataThreshold: 1})
	if _, err := os.Stat(filepath.Join(dir, "model.onnx_data")); err != nil {
		t.Fatalf("no external data file: %v", err)
	}
	s := newSession(t, rt, path)
	if !s.Info().Weights.External {
		t.Error("Info does not report external data")
	}
	x, _ := NewTensor([]int64{1, 4}, []float32{1, 2, 3, 4})
	out, err := s.Run(context.Background(), map[string]*Tensor{"x": x}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// [1 2 3 4] · [[1 0] [0 1] [1 1] [2 -1]] = [1+3+8, 2+3-4]
	if got := Data[float32](out["y"]); got[0] != 12 || got[1] != 1 {
		t.Fatalf("y = %v, want [12 1]", got)
	}
}

func TestIntrospection(t *testing.T) {
	rt := openRuntime(t)
	s := newSession(t, rt, saveModel(t, t.TempDir(), "identity.onnx", identityModel, onnx.SaveOptions{}))
	info := s.Info()
	if info.Opset() != graph.DefaultOpset || info.ProducerName != "runner-test" {
		t.Errorf("opset %d producer %q", info.Opset(), info.ProducerName)
	}
	in, ok := info.Input("x_float16")
	if !ok || in.Elem != onnx.Float16 || len(in.Shape) != 2 || in.Shape[0].Param != "batch" || in.Shape[1].Value != 3 {
		t.Errorf("x_float16 = %+v", in)
	}
	if len(info.Metadata) != 1 || info.Metadata[0].Value != "engine test" {
		t.Errorf("metadata = %+v", info.Metadata)
	}
	if s.Device() != CPU {
		t.Errorf("device %s", s.Device())
	}
}

func TestBadInputsAreErrors(t *testing.T) {
	rt := openRuntime(t)
	s := newSession(t, rt, saveModel(t, t.TempDir(), "matmul.onnx", matmulModel, onnx.SaveOptions{}))
	f, _ := NewTensor([]int64{1, 4}, []float32{1, 2, 3, 4})
	i, _ := NewTensor([]int64{1, 4}, []int64{1, 2, 3, 4})
	wide, _ := NewTensor([]int64{1, 5}, make([]float32, 5))
	flat, _ := NewTensor([]int64{4}, make([]float32, 4))
	cases := map[string]struct {
		in   map[string]*Tensor
		want string
	}{
		"missing":      {map[string]*Tensor{}, "needs input x"},
		"unknown":      {map[string]*Tensor{"x": f, "z": f}, "has no input z"},
		"wrong type":   {map[string]*Tensor{"x": i}, "must be float32, got int64"},
		"wrong dim":    {map[string]*Tensor{"x": wide}, "dimension 1 must be 4"},
		"wrong rank":   {map[string]*Tensor{"x": flat}, "must have 2 dimensions"},
		"nil tensor":   {map[string]*Tensor{"x": nil}, "needs input x"},
		"nothing else": {map[string]*Tensor{"x": f}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Run(context.Background(), c.in, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "matmul.onnx") {
				t.Fatalf("err = %v, want ErrBadInput naming the model and %q", err, c.want)
			}
		})
	}
}

func TestBadModelsAreErrors(t *testing.T) {
	rt := openRuntime(t)
	dir := t.TempDir()
	good := saveModel(t, dir, "good.onnx", matmulModel, onnx.SaveOptions{})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownOp := saveModel(t, dir, "unknown-op.onnx", func(b *graph.Builder) {
		x := b.Input("x", onnx.Float, graph.Fixed(1))
		b.Output("y", b.Op("NoSuchOperator", x), onnx.Float, graph.Fixed(1))
	}, onnx.SaveOptions{})
	missingData := saveModel(t, dir, "missing-data.onnx", matmulModel, onnx.SaveOptions{ExternalDataThreshold: 1})
	if err := os.Remove(missingData + "_data"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"truncated":    write("truncated.onnx", data[:len(data)/2]),
		"garbage":      write("garbage.onnx", []byte("this is not a model, just text")),
		"empty":        write("empty.onnx", nil),
		"unknown op":   unknownOp,
		"missing data": missingData,
		"no file":      filepath.Join(dir, "absent.onnx"),
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := rt.NewSession(context.Background(), path, SessionOptions{})
			if err == nil {
				s.Close()
				t.Fatal("loaded a broken model")
			}
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), filepath.Base(path)) {
				t.Fatalf("err = %v, want ErrBadModel naming %s", err, filepath.Base(path))
			}
		})
	}
}

func TestRuntimeCloseWithOpenSessions(t *testing.T) {
	rt := openRuntime(t)
	s, err := rt.NewSession(context.Background(), saveModel(t, t.TempDir(), "m.onnx", matmulModel, onnx.SaveOptions{}), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err == nil {
		t.Fatal("closed the runtime under an open session")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	x, _ := NewTensor([]int64{1, 4}, make([]float32, 4))
	if _, err := s.Run(context.Background(), map[string]*Tensor{"x": x}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestFindLibrary(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "libonnxruntime.so.1")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		sources []LibrarySource
		want    string
		err     string
	}{
		"flag first": {[]LibrarySource{{"--ort-lib", lib}, {"RUNNER_ORT_LIB", "/nope"}}, lib, ""},
		"env missing": {[]LibrarySource{{"--ort-lib", ""}, {"RUNNER_ORT_LIB", "/nope/lib.so"}}, "",
			"RUNNER_ORT_LIB=/nope/lib.so"},
		"directory":        {[]LibrarySource{{"RUNNER_ORT_LIB", dir}}, "", "is a directory"},
		"default fallback": {[]LibrarySource{{DefaultOrigin, "/nope/lib.so"}, {DefaultOrigin, lib}}, lib, ""},
		"none":             {[]LibrarySource{{DefaultOrigin, "/nope/lib.so"}}, "", "make deps"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := FindLibrary(c.sources...)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to mention %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("FindLibrary = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// Asking for CUDA where it is missing runs on the CPU and says so once.
func TestDeviceFallsBackToCPU(t *testing.T) {
	rt := openRuntime(t)
	path := saveModel(t, t.TempDir(), "m.onnx", matmulModel, onnx.SaveOptions{})
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, d := range []Device{CUDA, Auto} {
		s, err := rt.NewSession(context.Background(), path, SessionOptions{Device: d, Logger: log})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if s.Device() != CPU {
			t.Skipf("this machine has %s", s.Device())
		}
		s.Close()
	}
	if n := strings.Count(logs.String(), "running on CPU"); n != 1 {
		t.Fatalf("want one fallback line for the explicit cuda request, got %d:\n%s", n, logs.String())
	}
	if _, err := ParseDevice("tpu"); err == nil {
		t.Fatal("ParseDevice accepted tpu")
	}
}
