package engine

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"runner/onnx"
)

// DecoderSpec describes a decoder graph as Optimum and transformers.js export
// it: input_ids, attention_mask, optional position_ids,
// past_key_values.N.key/value → logits, present.N.key/value.
type DecoderSpec struct {
	Layers  int
	KVHeads int
	HeadDim int
	// CacheType is the element type of the cache (float32 or float16).
	CacheType onnx.ElemType
	// Vocab is the logits' last dimension, when the graph fixes it.
	Vocab int

	HasPositionIDs     bool
	HasUseCacheBranch  bool
	HasNumLogitsToKeep bool
	// RightPaddedAttention is set when the graph's attention (the
	// GroupQueryAttention that onnxruntime-genai exports use) reads each
	// row's length from the mask and assumes padding on the right; the
	// KVCache then right-pads its rows.
	RightPaddedAttention bool
}

var pastName = regexp.MustCompile(`^past_key_values\.(\d+)\.(key|value)$`)

// InspectDecoder reads the cache layout from a decoder session's inputs.
// kvHeads and headDim, from config.json, fill dimensions the graph leaves
// symbolic; pass 0 when unknown.
func InspectDecoder(s *Session, kvHeads, headDim int) (*DecoderSpec, error) {
	spec := &DecoderSpec{}
	layers := map[int]int{}
	for _, v := range s.info.Inputs {
		switch v.Name {
		case "input_ids", "attention_mask":
			continue
		case "position_ids":
			spec.HasPositionIDs = true
			continue
		case "use_cache_branch":
			spec.HasUseCacheBranch = true
			continue
		case "num_logits_to_keep":
			spec.HasNumLogitsToKeep = true
			continue
		}
		m := pastName.FindStringSubmatch(v.Name)
		if m == nil {
			return nil, fmt.Errorf("%w: decoder %s has input %q, which runner does not know how to fill", ErrBadModel, s.Name(), v.Name)
		}
		i, _ := strconv.Atoi(m[1])
		layers[i]++
		if len(v.Shape) != 4 {
			return nil, fmt.Errorf("%w: decoder %s: %s should have 4 dimensions, has %d", ErrBadModel, s.Name(), v.Name, len(v.Shape))
		}
		if spec.CacheType == 0 {
			spec.CacheType = v.Elem
		}
		if d := v.Shape[1]; d.Fixed() {
			kvHeads = int(d.Value)
		}
		if d := v.Shape[3]; d.Fixed() {
			headDim = int(d.Value)
		}
	}
	spec.Layers = len(layers)
	for i := range spec.Layers {
		if layers[i] != 2 {
			return nil, fmt.Errorf("%w: decoder %s lacks past_key_values.%d.key or .value", ErrBadModel, s.Name(), i)
		}
		for _, kind := range []string{"key", "value"} {
			if !s.hasOutput(fmt.Sprintf("present.%d.%s", i, kind)) {
				return nil, fmt.Errorf("%w: decoder %s has no output present.%d.%s", ErrBadModel, s.Name(), i, kind)
			}
		}
	}
	if spec.Layers == 0 || !s.HasInput("input_ids") || !s.HasInput("attention_mask") || !s.hasOutput("logits") {
		return nil, fmt.Errorf("%w: %s is not a decoder with a KV cache (input_ids, attention_mask, past_key_values.N.key/value → logits, present.N.key/value)", ErrBadModel, s.Name())
	}
	if spec.CacheType != onnx.Float && spec.CacheType != onnx.Float16 {
		return nil, fmt.Errorf("%w: decoder %s keeps its cache in %s; want float32 or float16", ErrBadModel, s.Name(), spec.CacheType)
	}
	if kvHeads <= 0 || headDim <= 0 {
		return nil, fmt.Errorf("%w: decoder %s: cannot tell the number of KV heads and head size from the graph or config.json", ErrBadModel, s.Name())
	}
	spec.KVHeads, spec.HeadDim = kvHeads, headDim
	spec.RightPaddedAttention = s.info.Ops["com.microsoft.GroupQueryAttention"] > 0
	if o, ok := s.info.Output("logits"); ok && len(o.Shape) == 3 && o.Shape[2].Fixed() {
		spec.Vocab = int(o.Shape[2].Value)
	}
	return spec, nil
}

// Decoder runs a decoder session step by step over a KVCache.
type Decoder struct {
	sess *Session
	spec *DecoderSpec
	// names, built once
	pastK, pastV, presK, presV []string

	// reused per-step buffers; a Decoder serves one generation loop
	ids, mask, pos []int64
	logits         []float32
}

// NewDecoder wraps a decoder session.
func NewDecoder(sess *Session, spec *DecoderSpec) *Decoder {
	d := &Decoder{sess: sess, spec: spec}
	for i := range spec.Layers {
		d.pastK = append(d.pastK, fmt.Sprintf("past_key_values.%d.key", i))
		d.pastV = append(d.pastV, fmt.Sprintf("past_key_values.%d.value", i))
		d.presK = append(d.presK, fmt.Sprintf("present.%d.key", i))
		d.presV = append(d.presV, fmt.Sprintf("present.%d.value", i))
	}
	return d
}

// Spec returns the decoder's layout.
func (d *Decoder) Spec() *DecoderSpec { return d.spec }

// NewCache makes an empty cache for rows sequences.
func (d *Decoder) NewCache() *KVCache {
	return newKVCache(d.spec)
}

// Step feeds each row of the cache its next tokens (tokens[r], the same count
// S for every row) and appends their keys and values to the cache. It
// returns the logits of each row's last position, [rows][vocab] flattened;
// the slice is reused by the next Step.
func (d *Decoder) Step(ctx context.Context, c *KVCache, tokens [][]int64) ([]float32, error) {
	rows := c.Rows()
	if len(tokens) != rows || rows == 0 {
		return nil, fmt.Errorf("%w: step of %d rows on a cache of %d", ErrBadInput, len(tokens), rows)
	}
	S := len(tokens[0])
	for _, t := range tokens {
		if len(t) != S || S == 0 {
			return nil, fmt.Errorf("%w: every row of a step needs the same number of tokens (>0)", ErrBadInput)
		}
	}
	P := c.length
	total := P + S
	d.ids = grow(d.ids, rows*S)
	d.mask = grow(d.mask, rows*total)
	for r, t := range tokens {
		copy(d.ids[r*S:], t)
		m := d.mask[r*total : (r+1)*total]
		for j := range m {
			if d.spec.RightPaddedAttention {
				m[j] = b2i(j < c.seen[r]+S)
			} else {
				m[j] = b2i(j >= c.pad[r])
			}
		}
	}
	in := make(map[string]*Tensor, 4+2*d.spec.Layers)
	var err error
	if in["input_ids"], err = NewTensor([]int64{int64(rows), int64(S)}, d.ids); err != nil {
		return nil, err
	}
	if in["attention_mask"], err = NewTensor([]int64{int64(rows), int64(total)}, d.mask); err != nil {
		return nil, err
	}
	if d.spec.HasPositionIDs {
		d.pos = grow(d.pos, rows*S)
		for r := range rows {
			for j := range S {
				d.pos[r*S+j] = int64(c.seen[r] + j)
			}
		}
		if in["position_ids"], err = NewTensor([]int64{int64(rows), int64(S)}, d.pos); err != nil {
			return nil, err
		}
	}
	if d.spec.HasUseCacheBranch {
		if in["use_cache_branch"], err = NewTensor([]int64{1}, []bool{P > 0}); err != nil {
			return nil, err
		}
	}
	keep := S
	if d.spec.HasNumLogitsToKeep {
		keep = 1
		if in["num_logits_to_keep"], err = NewTensor([]int64{}, []int64{1}); err != nil {
			return nil, err
		}
	}
	into := make(map[string]*Tensor, 1+2*d.spec.Layers)
	if err := c.bind(in, into, d, total); err != nil {
		return nil, err
	}
	if V := d.spec.Vocab; V > 0 {
		d.logits = grow(d.logits, rows*keep*V)
		if into["logits"], err = NewTensor([]int64{int64(rows), int64(keep), int64(V)}, d.logits); err != nil {
			return nil, err
		}
	}
	out, err := d.sess.Run(ctx, in, into)
	if err != nil {
		return nil, err
	}
	c.advance(out, d, S)
	return lastLogits(out["logits"], rows)
}

// lastLogits returns each row's logits at its last position.
func lastLogits(t *Tensor, rows int) ([]float32, error) {
	shape := t.Shape()
	if len(shape) != 3 || shape[0] != int64(rows) {
		return nil, fmt.Errorf("logits of shape %v, want [%d, positions, vocab]", shape, rows)
	}
	data, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	S, V := int(shape[1]), int(shape[2])
	if S == 1 {
		return data, nil
	}
	out := make([]float32, rows*V)
	for r := range rows {
		copy(out[r*V:(r+1)*V], data[(r*S+S-1)*V:(r*S+S)*V])
	}
	return out, nil
}
