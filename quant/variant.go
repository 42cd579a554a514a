package quant

import (
	"slices"
	"strings"
)

// Variant is a weight format of one model, named as transformers.js names its
// dtypes. Each picks an ONNX file by a suffix on the graph's base name:
// fp32 model.onnx, q8 model_quantized.onnx, q4 model_q4.onnx and so on.
type Variant string

// The variants runner knows, with their file suffixes.
const (
	FP32  Variant = "fp32"  // model.onnx
	FP16  Variant = "fp16"  // model_fp16.onnx
	Q8    Variant = "q8"    // model_quantized.onnx (8-bit dynamic quantisation)
	Int8  Variant = "int8"  // model_int8.onnx
	Uint8 Variant = "uint8" // model_uint8.onnx
	Q4    Variant = "q4"    // model_q4.onnx (4-bit weights, MatMulNBits)
	Q4F16 Variant = "q4f16" // model_q4f16.onnx (4-bit weights, fp16 activations)
	BNB4  Variant = "bnb4"  // model_bnb4.onnx
	Q2    Variant = "q2"    // model_q2.onnx
	Q2F16 Variant = "q2f16" // model_q2f16.onnx
	Q1    Variant = "q1"    // model_q1.onnx
	Q1F16 Variant = "q1f16" // model_q1f16.onnx
)

var suffixes = map[Variant]string{
	FP32: "", FP16: "_fp16", Q8: "_quantized", Int8: "_int8", Uint8: "_uint8",
	Q4: "_q4", Q4F16: "_q4f16", BNB4: "_bnb4",
	Q2: "_q2", Q2F16: "_q2f16", Q1: "_q1", Q1F16: "_q1f16",
}

// Variants returns every known variant, most common first.
func Variants() []Variant {
	return []Variant{FP32, FP16, Q8, Int8, Uint8, Q4, Q4F16, BNB4, Q2, Q2F16, Q1, Q1F16}
}

// Suffix returns what the variant appends to a graph's base name
// ("_quantized" for q8, "" for fp32).
func (v Variant) Suffix() string { return suffixes[v] }

// FileName returns the ONNX file name of the graph base in this variant:
// FileName("decoder_model_merged") for q4 is "decoder_model_merged_q4.onnx".
func (v Variant) FileName(base string) string { return base + v.Suffix() + ".onnx" }

// Known reports whether v is a variant runner knows.
func (v Variant) Known() bool {
	_, ok := suffixes[v]
	return ok
}

// Parse turns what a user typed into a variant. Case does not matter and
// "quantized" means q8. ok is false for an unknown name.
func Parse(s string) (v Variant, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "quantized" {
		return Q8, true
	}
	v = Variant(s)
	return v, v.Known()
}

// SplitFileName splits an ONNX file name (without directory) into the graph's
// base name and its variant: "decoder_model_merged_q4.onnx" gives
// ("decoder_model_merged", q4). ok is false when the name does not end in
// ".onnx".
func SplitFileName(name string) (base string, v Variant, ok bool) {
	stem, found := strings.CutSuffix(name, ".onnx")
	if !found || stem == "" {
		return "", "", false
	}
	for _, cand := range Variants() {
		sfx := cand.Suffix()
		if sfx != "" && len(stem) > len(sfx) && strings.HasSuffix(stem, sfx) {
			return strings.TrimSuffix(stem, sfx), cand, true
		}
	}
	return stem, FP32, true
}

// Preference lists variants from best to worst for a device: on a CPU q8 is
// fastest where it exists, then full precision; on a GPU fp16, then fp32.
// The rest follow so that a repo offering only unusual variants still works.
func Preference(gpu bool) []Variant {
	if gpu {
		return []Variant{FP16, FP32, Q4F16, Q4, Q8, Int8, Uint8, BNB4, Q2F16, Q2, Q1F16, Q1}
	}
	return []Variant{Q8, FP32, Int8, Uint8, Q4, BNB4, Q4F16, FP16, Q2, Q2F16, Q1, Q1F16}
}

// Choose picks the best of the available variants for the device, or
// reports false when none is available.
func Choose(available []Variant, gpu bool) (Variant, bool) {
	for _, v := range Preference(gpu) {
		if slices.Contains(available, v) {
			return v, true
		}
	}
	return "", false
}
