package quant

import "testing"

func TestSplitFileName(t *testing.T) {
	tests := []struct {
		name, base string
		v          Variant
		ok         bool
	}{
		{"model.onnx", "model", FP32, true},
		{"model_quantized.onnx", "model", Q8, true},
		{"model_q4f16.onnx", "model", Q4F16, true},
		{"model_q4.onnx", "model", Q4, true},
		{"model_uint8.onnx", "model", Uint8, true},
		{"model_int8.onnx", "model", Int8, true},
		{"decoder_model_merged_q4.onnx", "decoder_model_merged", Q4, true},
		{"encoder_model_fp16.onnx", "encoder_model", FP16, true},
		{"model_bnb4.onnx", "model", BNB4, true},
		{"model.onnx_data", "", "", false},
		{"_q4.onnx", "_q4", FP32, true},
		{".onnx", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, v, ok := SplitFileName(tt.name)
			if base != tt.base || v != tt.v || ok != tt.ok {
				t.Errorf("SplitFileName(%q) = %q, %q, %v; want %q, %q, %v", tt.name, base, v, ok, tt.base, tt.v, tt.ok)
			}
			if ok && v.FileName(base) != tt.name {
				t.Errorf("FileName round trip: %q", v.FileName(base))
			}
		})
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name      string
		available []Variant
		gpu       bool
		want      Variant
		ok        bool
	}{
		{"cpu prefers q8", []Variant{FP32, FP16, Q8, Q4}, false, Q8, true},
		{"cpu falls back to fp32", []Variant{FP32, FP16, Q4}, false, FP32, true},
		{"gpu prefers fp16", []Variant{FP32, FP16, Q8}, true, FP16, true},
		{"gpu falls back to fp32", []Variant{FP32, Q8}, true, FP32, true},
		{"only q4", []Variant{Q4}, false, Q4, true},
		{"none", nil, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Choose(tt.available, tt.gpu)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Choose = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Variant{"Q4": Q4, "quantized": Q8, "fp16": FP16, " q4f16 ": Q4F16} {
		if v, ok := Parse(in); !ok || v != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, v, ok, want)
		}
	}
	if _, ok := Parse("q3"); ok {
		t.Error("Parse(q3) accepted an unknown variant")
	}
}
