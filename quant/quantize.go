package quant

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"runner/onnx"
	"runner/onnx/graph"
	"runner/onnx/onnxpb"
)

// Errors of quantisation.
var (
	// ErrUnsupported is returned for what the quantiser cannot make: a
	// variant it does not produce, a model too old or already quantised.
	ErrUnsupported = errors.New("cannot quantise")
	// ErrBadOptions is returned for options that contradict each other or
	// are out of range.
	ErrBadOptions = errors.New("bad quantisation options")
)

// Options say how to quantise. Start from DefaultOptions, which fills in
// what transformers.js's own conversion scripts choose.
type Options struct {
	// Variant is what to make: q8, int8, uint8 (8-bit dynamic
	// quantisation), q4 (4-bit weights) or fp16.
	Variant Variant
	// Exclude names nodes to leave as they are: exact node names, or
	// path.Match patterns such as "/lm_head/*".
	Exclude []string

	// SignedWeights stores 8-bit weights as int8 (else uint8). q8 takes
	// int8 unless the model has operators whose quantised kernels want
	// uint8 (Conv and the fused attention operators).
	SignedWeights bool
	// PerChannel gives each output channel of an 8-bit weight its own
	// scale and zero point.
	PerChannel bool
	// ReduceRange quantises 8-bit weights to 7 bits, which keeps the
	// integer sums of CPUs without VNNI from saturating.
	ReduceRange bool
	// SkipGather leaves embedding tables (Gather of a constant matrix)
	// in float32 under 8-bit quantisation; by default they are stored as
	// uint8 and dequantised after the Gather, as ONNX Runtime's dynamic
	// quantiser does.
	SkipGather bool

	// BlockSize is the number of weights sharing a scale in 4-bit
	// quantisation: 16, 32, 64 or 128. Zero means 32.
	BlockSize int
	// Asymmetric gives 4-bit blocks a zero point each, instead of
	// centring them on zero.
	Asymmetric bool
	// AccuracyLevel is MatMulNBits' accuracy_level: 0 leaves it to ONNX
	// Runtime (float32 arithmetic on the CPU), 4 lets it quantise the
	// activations to int8 (fastest on CPUs).
	AccuracyLevel int
	// Head quantises a language model's head too under q4 (its logits
	// MatMul, which often shares the embeddings' weights).
	Head bool
	// Embeddings quantises embedding tables under q4, to 8 bits.
	Embeddings bool

	// KeepFloat32 adds operator types that fp16 conversion runs in
	// float32, to those it always keeps there.
	KeepFloat32 []string
}

// decoderTypes are the model types for which transformers.js's conversion
// script turns per-channel and reduced-range 8-bit quantisation off.
var decoderTypes = []string{
	"codegen", "gpt2", "gpt_bigcode", "gptj", "gpt-neo", "gpt-neox", "mpt", "bloom", "llama", "opt",
	"mistral", "falcon", "whisper", "vision-encoder-decoder",
}

// uint8WeightOps are operators whose presence makes q8 store uint8
// weights, as transformers.js's script does: ONNX Runtime Web lacks int8
// ConvInteger, and the fused attention operators run faster with uint8.
var uint8WeightOps = []string{"Conv", "GroupQueryAttention", "MultiHeadAttention"}

// DefaultOptions returns the options transformers.js's conversion uses for
// a variant of a model of config.json's model_type: 8-bit weights per
// channel with reduced range (except for the decoder types its script
// lists), signed for q8 and int8; 4-bit symmetric blocks of 32.
func DefaultOptions(v Variant, modelType string) Options {
	o := Options{Variant: v, BlockSize: 32}
	switch v {
	case Q8, Int8:
		o.SignedWeights = true
	}
	o.PerChannel = !slices.Contains(decoderTypes, modelType)
	o.ReduceRange = o.PerChannel
	return o
}

// Producible lists the variants Quantize makes.
func Producible() []Variant { return []Variant{Q8, Int8, Uint8, Q4, FP16} }

func (o *Options) check() error {
	if !slices.Contains(Producible(), o.Variant) {
		return fmt.Errorf("%w: variant %q (runner makes %v)", ErrUnsupported, o.Variant, Producible())
	}
	if o.BlockSize == 0 {
		o.BlockSize = 32
	}
	if !slices.Contains([]int{16, 32, 64, 128}, o.BlockSize) {
		return fmt.Errorf("%w: block size %d (want 16, 32, 64 or 128)", ErrBadOptions, o.BlockSize)
	}
	if !slices.Contains([]int{0, 1, 2, 3, 4}, o.AccuracyLevel) {
		return fmt.Errorf("%w: accuracy level %d (want 0 to 4)", ErrBadOptions, o.AccuracyLevel)
	}
	return nil
}

// Skipped is a node that quantisation left as it was, with the reason.
type Skipped struct {
	Node, Op, Reason string
}

// Report says what Quantize did.
type Report struct {
	Variant Variant
	// Quantized counts the nodes rewritten, by operator: MatMul, Gemm,
	// Gather; for fp16, every node now computing in float16 counts under
	// its operator.
	Quantized map[string]int
	// Skipped lists the candidate nodes left as they were (for fp16, the
	// nodes kept in float32), and why.
	Skipped []Skipped
	// WeightBytes is the size of the model's initializers before and after.
	WeightBytesBefore, WeightBytesAfter int64
	// Rewritten sums, by operator, the bytes of the weights quantisation
	// replaced and of what replaced them (data, scales and zero points),
	// counting a weight shared by several nodes once.
	Rewritten map[string]ByteCount
	// Options are the options used, defaults filled in.
	Options Options
	// Path is the file written, and ExternalData its external data files
	// (set by QuantizeFile).
	Path         string
	ExternalData []string

	afterNames []opValue // new initializers, sized when done
}

// ByteCount is a size before and after quantisation.
type ByteCount struct{ Before, After int64 }

// Ratio returns After/Before (0 when nothing was counted).
func (b ByteCount) Ratio() float64 {
	if b.Before == 0 {
		return 0
	}
	return float64(b.After) / float64(b.Before)
}

// rewrote records that a weight of before bytes, read by op, was replaced
// by tensors of after bytes.
func (r *Report) rewrote(op string, before *onnxpb.TensorProto, after ...graph.Value) {
	if r.Rewritten == nil {
		r.Rewritten = map[string]ByteCount{}
	}
	c := r.Rewritten[op]
	c.Before += tensorBytes(before)
	r.Rewritten[op] = c
	r.afterNames = append(r.afterNames, opValue{op, after})
}

type opValue struct {
	op     string
	values []graph.Value
}

func (r *Report) quantized(op string) {
	if r.Quantized == nil {
		r.Quantized = map[string]int{}
	}
	r.Quantized[op]++
}

func (r *Report) skip(n *onnxpb.NodeProto, reason string) {
	r.Skipped = append(r.Skipped, Skipped{Node: n.GetName(), Op: n.GetOpType(), Reason: reason})
}

// Total returns the number of nodes rewritten.
func (r *Report) Total() int {
	n := 0
	for _, c := range r.Quantized {
		n += c
	}
	return n
}

// Write prints the report for people: what was rewritten, what was left
// and why (grouped by reason; every node when verbose).
func (r *Report) Write(w io.Writer, verbose bool) {
	ops := make([]string, 0, len(r.Quantized))
	for op := range r.Quantized {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var done []string
	for _, op := range ops {
		done = append(done, fmt.Sprintf("%d %s", r.Quantized[op], op))
	}
	verb := "quantised"
	if r.Variant == FP16 {
		verb = "float16"
	}
	if len(done) == 0 {
		done = []string{"nothing"}
	}
	fmt.Fprintf(w, "%s (%s): %s\n", verb, r.Variant, strings.Join(done, ", "))
	type group struct {
		op, reason string
	}
	groups := map[group][]string{}
	var order []group
	for _, s := range r.Skipped {
		g := group{s.Op, s.Reason}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], s.Node)
	}
	kept := "left as they were"
	if r.Variant == FP16 {
		kept = "kept in float32"
	}
	if len(order) > 0 {
		fmt.Fprintf(w, "%s:\n", kept)
	}
	for _, g := range order {
		nodes := groups[g]
		fmt.Fprintf(w, "  %d %s: %s\n", len(nodes), g.op, g.reason)
		if verbose {
			for _, n := range nodes {
				fmt.Fprintf(w, "      %s\n", n)
			}
		}
	}
	for _, op := range sortedKeys(r.Rewritten) {
		c := r.Rewritten[op]
		fmt.Fprintf(w, "%s weights: %s → %s (%.2fx)\n", op, humanBytes(c.Before), humanBytes(c.After), c.Ratio())
	}
	if r.WeightBytesBefore > 0 {
		fmt.Fprintf(w, "all weights: %s → %s (%.2fx)\n", humanBytes(r.WeightBytesBefore), humanBytes(r.WeightBytesAfter),
			float64(r.WeightBytesAfter)/float64(r.WeightBytesBefore))
	}
}

// Quantize rewrites m, a float32 model with its weights loaded (see
// onnx.Load), into the variant opts names, in place. Operator patterns it
// does not know are left as they were and listed in the report.
func Quantize(m *onnxpb.ModelProto, opts Options) (*Report, error) {
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("%w: no graph", onnx.ErrNotONNX)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkFloatModel(m); err != nil {
		return nil, err
	}
	if opts.Variant == Q8 && hasAnyOp(m.GetGraph(), uint8WeightOps) {
		opts.SignedWeights = false
	}
	rep := &Report{Variant: opts.Variant, Options: opts, WeightBytesBefore: weightBytes(m.GetGraph())}
	e := newEditor(m)
	var err error
	switch opts.Variant {
	case Q8, Int8, Uint8:
		err = quantizeDynamic(e, opts, rep)
	case Q4:
		err = quantizeNBits(e, opts, rep)
	case FP16:
		err = convertFloat16(e, opts, rep)
	}
	if err != nil {
		return nil, err
	}
	e.finish()
	rep.WeightBytesAfter = weightBytes(m.GetGraph())
	for _, ov := range rep.afterNames {
		c := rep.Rewritten[ov.op]
		for _, v := range ov.values {
			if t := e.main().inits[string(v)]; t != nil {
				c.After += tensorBytes(t)
			}
		}
		rep.Rewritten[ov.op] = c
	}
	rep.afterNames = nil
	return rep, nil
}

// checkFloatModel refuses models that are already quantised or converted,
// whose rewrite would make no sense.
func checkFloatModel(m *onnxpb.ModelProto) error {
	quantOps := []string{"MatMulInteger", "DynamicQuantizeLinear", "MatMulNBits", "MatMulBnb4", "QLinearMatMul",
		"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "GatherBlockQuantized", "ConvInteger", "QLinearConv"}
	if hasAnyOp(m.GetGraph(), quantOps) {
		return fmt.Errorf("%w: the model is already quantised", ErrUnsupported)
	}
	floats, halves := 0, 0
	walkGraphs(m.GetGraph(), func(g *onnxpb.GraphProto) {
		for _, t := range g.GetInitializer() {
			switch onnx.ElemType(t.GetDataType()) {
			case onnx.Float:
				floats++
			case onnx.Float16, onnx.BFloat16:
				halves++
			}
		}
	})
	if halves > floats {
		return fmt.Errorf("%w: the model's weights are already 16-bit; start from the float32 model", ErrUnsupported)
	}
	return nil
}

// hasAnyOp reports whether g or its subgraphs use one of the operators.
func hasAnyOp(g *onnxpb.GraphProto, ops []string) bool {
	found := false
	walkGraphs(g, func(g *onnxpb.GraphProto) {
		for _, n := range g.GetNode() {
			found = found || slices.Contains(ops, n.GetOpType())
		}
	})
	return found
}

// walkGraphs calls fn for g and every subgraph in it.
func walkGraphs(g *onnxpb.GraphProto, fn func(*onnxpb.GraphProto)) {
	fn(g)
	for _, n := range g.GetNode() {
		for _, sub := range subgraphs(n) {
			walkGraphs(sub, fn)
		}
	}
}

// weightBytes sums the data of the initializers of g and its subgraphs.
func weightBytes(g *onnxpb.GraphProto) int64 {
	var n int64
	walkGraphs(g, func(g *onnxpb.GraphProto) {
		for _, t := range g.GetInitializer() {
			n += tensorBytes(t)
		}
	})
	return n
}

func tensorBytes(t *onnxpb.TensorProto) int64 {
	if raw := t.GetRawData(); raw != nil {
		return int64(len(raw))
	}
	if size := onnx.ElemType(t.GetDataType()).Size(); size > 0 {
		if n := onnx.NumElements(t.GetDims()); n > 0 {
			return n * int64(size)
		}
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// humanBytes formats a size as 1.5 MB (powers of 1000).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
