package engine

import "runner/onnx"

// batchBuffers are the batcher's input and output memory, grown to the
// largest batch seen and reused for every batch after it. Only the run
// goroutine touches them.
type batchBuffers struct {
	ids, mask, types, pos []int64
	hasMask, hasTypes     bool
	hasPos                bool

	// batchDim and seqDim are the symbolic names of input_ids' dimensions,
	// used to work out the shapes of outputs before a run.
	batchDim, seqDim string
	outPlans         []outputPlan
	outBufs          map[string][]float32
}

// outputPlan says how to size an output buffer before a run; outputs whose
// shape cannot be known ahead are allocated by ONNX Runtime instead.
type outputPlan struct {
	name string
	dims []onnx.Dim
}

func (bb *batchBuffers) init(s *Session) {
	bb.hasMask = s.HasInput("attention_mask")
	bb.hasTypes = s.HasInput("token_type_ids")
	bb.hasPos = s.HasInput("position_ids")
	bb.outBufs = map[string][]float32{}
	spec := s.inSpec["input_ids"]
	if len(spec.Shape) != 2 || spec.Shape[0].Param == "" || spec.Shape[1].Param == "" {
		return
	}
	bb.batchDim, bb.seqDim = spec.Shape[0].Param, spec.Shape[1].Param
	for _, o := range s.info.Outputs {
		if o.Elem != onnx.Float || !o.HasShape || !bb.sizable(o.Shape) {
			continue
		}
		bb.outPlans = append(bb.outPlans, outputPlan{name: o.Name, dims: o.Shape})
	}
}

// sizable reports whether every dimension is fixed, the batch or the
// sequence.
func (bb *batchBuffers) sizable(dims []onnx.Dim) bool {
	for _, d := range dims {
		if !d.Fixed() && d.Param != bb.batchDim && d.Param != bb.seqDim {
			return false
		}
	}
	return true
}

// grow returns buf resliced to n elements, reallocating only to grow.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n, n+n/4)
	}
	return buf[:n]
}

// inputs pads the batch's sequences (right padding) into the input buffers.
func (bb *batchBuffers) inputs(bt *batch, pad int64) (map[string]*Tensor, error) {
	B, T := len(bt.items), bt.maxLen
	n := B * T
	bb.ids = grow(bb.ids, n)
	if bb.hasMask {
		bb.mask = grow(bb.mask, n)
	}
	if bb.hasTypes {
		bb.types = grow(bb.types, n)
	}
	if bb.hasPos {
		bb.pos = grow(bb.pos, n)
	}
	for r, it := range bt.items {
		row := bb.ids[r*T : (r+1)*T]
		l := copy(row, it.seq.IDs)
		for j := l; j < T; j++ {
			row[j] = pad
		}
		if bb.hasMask {
			m := bb.mask[r*T : (r+1)*T]
			for j := range m {
				m[j] = b2i(j < l)
			}
		}
		if bb.hasTypes {
			tt := bb.types[r*T : (r+1)*T]
			k := copy(tt, it.seq.TypeIDs)
			clear(tt[k:])
		}
		if bb.hasPos {
			p := bb.pos[r*T : (r+1)*T]
			for j := range p {
				p[j] = int64(j)
			}
		}
	}
	shape := []int64{int64(B), int64(T)}
	in := make(map[string]*Tensor, 4)
	add := func(name string, data []int64) error {
		t, err := NewTensor(shape, data)
		in[name] = t
		return err
	}
	if err := add("input_ids", bb.ids); err != nil {
		return nil, err
	}
	if bb.hasMask {
		if err := add("attention_mask", bb.mask); err != nil {
			return nil, err
		}
	}
	if bb.hasTypes {
		if err := add("token_type_ids", bb.types); err != nil {
			return nil, err
		}
	}
	if bb.hasPos {
		if err := add("position_ids", bb.pos); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// outputs returns reused buffers for the outputs whose shape is known for a
// batch of B sequences of T tokens.
func (bb *batchBuffers) outputs(B, T int) map[string]*Tensor {
	if len(bb.outPlans) == 0 {
		return nil
	}
	out := make(map[string]*Tensor, len(bb.outPlans))
	for _, p := range bb.outPlans {
		shape := make([]int64, len(p.dims))
		n := 1
		for i, d := range p.dims {
			switch {
			case d.Fixed():
				shape[i] = d.Value
			case d.Param == bb.batchDim:
				shape[i] = int64(B)
			default:
				shape[i] = int64(T)
			}
			n *= int(shape[i])
		}
		buf := grow(bb.outBufs[p.name], n)
		bb.outBufs[p.name] = buf
		t, err := NewTensor(shape, buf)
		if err != nil {
			continue // let ONNX Runtime allocate it
		}
		out[p.name] = t
	}
	return out
}
