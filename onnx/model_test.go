package onnx_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// smallModel returns y = x @ w + b with a 64x64 weight and a small bias.
func smallModel(t *testing.T) *onnxpb.ModelProto {
	t.Helper()
	b := graph.New("small")
	x := b.Input("x", onnx.Float, graph.Sym("batch"), graph.Fixed(64))
	w := make([]float32, 64*64)
	for i := range w {
		w[i] = float32(i) / 100
	}
	wv := b.Float32("w", []int64{64, 64}, w)
	w2 := b.Float32("w2", []int64{64, 64}, w[:64*64])
	bias := b.Float32("b", []int64{64}, w[:64])
	b.Output("y", b.Linear(b.MatMul(x, wv), w2, bias), onnx.Float, graph.Sym("batch"), graph.Fixed(64))
	m, err := b.Model(graph.ModelOptions{ProducerName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSaveLoadInline(t *testing.T) {
	m := smallModel(t)
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "_data"); !os.IsNotExist(err) {
		t.Errorf("external data file written without a threshold")
	}
	got, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Error("loaded model differs from the saved one")
	}
}

func TestSaveLoadExternal(t *testing.T) {
	m := smallModel(t)
	before := proto.Clone(m)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	// Each 64x64 float weight is 16 KiB: with 20 KiB files, the two go to
	// model.onnx_data and model.onnx_data_1; the 256-byte bias stays inline.
	err := onnx.Save(m, path, onnx.SaveOptions{ExternalDataThreshold: 1024, MaxExternalFileSize: 20 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, before) {
		t.Error("Save changed the model it was given")
	}
	for _, name := range []string{"model.onnx_data", "model.onnx_data_1"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() != 16<<10 {
			t.Errorf("%s: %v, size %d; want 16 KiB", name, err, st.Size())
		}
	}
	info, err := onnx.ReadInfo(path)
	if err != nil || !info.Weights.External || info.Weights.Params != 2*64*64+64 {
		t.Fatalf("ReadInfo = %+v, %v", info, err)
	}

	raw, err := onnx.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	w := raw.GetGraph().GetInitializer()[0]
	if w.GetDataLocation() != onnxpb.TensorProto_EXTERNAL || w.RawData != nil {
		t.Errorf("Read resolved external data: %v", w.GetDataLocation())
	}
	if _, err := onnx.TensorFloat32s(w); !errors.Is(err, onnx.ErrTensorData) {
		t.Errorf("decoding an unloaded tensor: %v", err)
	}
	loaded, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(loaded, before) {
		t.Error("model loaded with its external data differs from the original")
	}
	// A model still pointing at external data cannot be saved elsewhere.
	if err := onnx.Save(raw, filepath.Join(t.TempDir(), "m.onnx"), onnx.SaveOptions{}); !errors.Is(err, onnx.ErrExternalData) {
		t.Errorf("saving unloaded external data: %v", err)
	}
}

func TestLoadRejectsBadExternalData(t *testing.T) {
	for _, tc := range []struct {
		name           string
		location       string
		offset, length string
	}{
		{"escapes the directory", "../outside", "0", "16"},
		{"absolute", "/etc/hostname", "0", "16"},
		{"past the end", "weights.bin", "8", "16"},
		{"wrong length", "weights.bin", "0", "8"},
		{"bad offset", "weights.bin", "x", "16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 16), 0o644); err != nil {
				t.Fatal(err)
			}
			b := graph.New("g")
			tensor := onnx.RawTensor("w", onnx.Float, []int64{4}, nil)
			tensor.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			for _, kv := range [][2]string{{"location", tc.location}, {"offset", tc.offset}, {"length", tc.length}} {
				tensor.ExternalData = append(tensor.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
			}
			b.Output("y", b.Op("Neg", b.Initializer(tensor)), onnx.Float, graph.Fixed(4))
			m, err := b.Model(graph.ModelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := onnx.Load(path); !errors.Is(err, onnx.ErrExternalData) {
				t.Errorf("Load = %v, want ErrExternalData", err)
			}
		})
	}
}

func TestReadRejectsNonModels(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{"garbage": []byte("\xff\xff\xff"), "empty": nil} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := onnx.Read(p); !errors.Is(err, onnx.ErrNotONNX) {
			t.Errorf("%s: Read = %v, want ErrNotONNX", name, err)
		}
	}
}

func TestTensorCodecs(t *testing.T) {
	f := []float32{1.5, -2, 0, 3.25}
	got, err := onnx.TensorFloat32s(onnx.Float32Tensor("f", []int64{2, 2}, f))
	if err != nil || !slices.Equal(got, f) {
		t.Errorf("float32 raw: %v, %v", got, err)
	}
	got, err = onnx.TensorFloat32s(&onnxpb.TensorProto{Dims: []int64{4}, DataType: proto.Int32(int32(onnx.Float)), FloatData: f})
	if err != nil || !slices.Equal(got, f) {
		t.Errorf("float32 typed: %v, %v", got, err)
	}
	got, err = onnx.TensorFloat32s(onnx.Float16Tensor("h", []int64{4}, f))
	if err != nil || !slices.Equal(got, f) { // all exact in half precision
		t.Errorf("float16: %v, %v", got, err)
	}
	ints := []int64{-1, 0, 1 << 40}
	gotInts, err := onnx.TensorInt64s(onnx.Int64Tensor("i", []int64{3}, ints))
	if err != nil || !slices.Equal(gotInts, ints) {
		t.Errorf("int64: %v, %v", gotInts, err)
	}
	for name, bad := range map[string]*onnxpb.TensorProto{
		"short raw":     onnx.RawTensor("s", onnx.Float, []int64{3}, make([]byte, 8)),
		"not float":     onnx.Int64Tensor("i", []int64{1}, []int64{1}),
		"negative dim":  onnx.Float32Tensor("n", []int64{-1}, nil),
		"typed too few": {Dims: []int64{2}, DataType: proto.Int32(int32(onnx.Float)), FloatData: []float32{1}},
	} {
		if _, err := onnx.TensorFloat32s(bad); !errors.Is(err, onnx.ErrTensorData) {
			t.Errorf("%s: %v, want ErrTensorData", name, err)
		}
	}
}

func TestFloat16(t *testing.T) {
	// Every half value converts to float32 and back unchanged.
	for h := range 1 << 16 {
		f := onnx.Float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := onnx.Float32ToFloat16(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
	for _, tc := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},
		{65520, 0x7c00},                              // rounds up past the largest half
		{float32(math.Inf(-1)), 0xfc00},              //
		{1 + 1.0/2048, 0x3c00},                       // tie: to even (down)
		{1 + 3.0/2048, 0x3c02},                       // tie: to even (up)
		{5.960464477539063e-08, 0x0001},              // smallest subnormal
		{2.9802322387695312e-08, 0x0000},             // half of it: tie to even zero
		{float32(math.Ldexp(1, -14)) * 0.75, 0x0300}, // subnormal
		{1e-10, 0},
	} {
		if got := onnx.Float32ToFloat16(tc.in); got != tc.want {
			t.Errorf("Float32ToFloat16(%v) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	if h := onnx.Float32ToFloat16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}
