// Package quant owns model variants: the names users type after a model
// reference (q8, q4, fp16...), the ONNX file each one names, which one
// suits a device when the user gives none, and the quantiser that makes
// them from a float32 model.
//
// # Variants
//
// [Variant] names follow transformers.js's dtypes and pick a file by a
// suffix on the graph's base name ([Variant.FileName], [SplitFileName]);
// [Choose] picks one for a device from those a repository offers.
//
// # Quantising
//
// [Quantize] rewrites an ONNX model in memory, [QuantizeFile] a file on
// disk (external data in and out), into one of the variants [Producible]
// lists, with the operator patterns ONNX Runtime's own tools emit so its
// optimised kernels run them:
//
//   - q8, int8, uint8 (dynamic.go): linear layers (MatMul, Gemm with a
//     constant weight) become DynamicQuantizeLinear → MatMulInteger → Cast
//     → Mul, which ONNX Runtime fuses into DynamicQuantizeMatMul; embedding
//     tables become uint8 with a DequantizeLinear after the Gather.
//   - q4 (nbits.go): linear layers become com.microsoft.MatMulNBits over
//     4-bit blocks; the LM head and embeddings stay float32 unless asked.
//   - fp16 (fp16.go): weights and arithmetic in half precision, the model's
//     inputs and outputs kept float32, and the operators that need float32
//     kept there with Casts around them.
//
// pattern.go finds what to rewrite (linear layers, their constant weights,
// LM heads) and edits every graph of the model, If and Loop bodies
// included; quantmath.go holds the arithmetic. Nodes it cannot rewrite are
// left as they were and listed, with the reason, in the [Report].
// Package validate, beside this one, runs a variant against its source in
// ONNX Runtime.
package quant
