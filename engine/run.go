package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"runner/onnx"
)

// Run feeds the model one tensor per graph input (by name) and returns every
// graph output by name.
//
// Outputs named in into are written in place into the given tensors, which
// must have exactly the shape and type the model produces: callers on hot
// paths use this to reuse buffers. Other outputs are allocated.
//
// Cancelling ctx terminates the run inside ONNX Runtime; Run then returns an
// error that wraps ctx.Err().
func (s *Session) Run(ctx context.Context, in map[string]*Tensor, into map[string]*Tensor) (map[string]*Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	symbols, err := s.checkInputs(in)
	if err != nil {
		return nil, err
	}
	for name := range into {
		if !s.hasOutput(name) {
			return nil, fmt.Errorf("%w: model %s has no output %q (it has %s)", ErrBadInput, s.Name(), name, strings.Join(s.outs, ", "))
		}
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("run %s: %w", s.Name(), ErrClosed)
	}

	values := make([]ort.Value, len(s.ins)+len(s.outs))
	defer func() {
		for _, v := range values {
			destroyValue(v)
		}
	}()
	into = s.allocateOutputs(into, symbols)
	inVals, outVals := values[:len(s.ins)], values[len(s.ins):]
	for i, name := range s.ins {
		v, err := in[name].ortValue()
		if err != nil {
			return nil, fmt.Errorf("%w: model %s: input %q: %w", ErrBadInput, s.Name(), name, err)
		}
		inVals[i] = v
	}
	for i, name := range s.outs {
		if t := into[name]; t != nil {
			v, err := t.ortValue()
			if err != nil {
				return nil, fmt.Errorf("%w: model %s: output buffer %q: %w", ErrBadInput, s.Name(), name, err)
			}
			outVals[i] = v
		}
	}

	opts, err := ort.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("run %s: run options: %w", s.Name(), err)
	}
	defer opts.Destroy()
	stop := context.AfterFunc(ctx, func() { _ = opts.Terminate() })
	err = s.ort.RunWithOptions(inVals, outVals, opts)
	stop()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("run %s: %w", s.Name(), ctxErr)
		}
		return nil, fmt.Errorf("run %s: %w", s.Name(), err)
	}

	out := make(map[string]*Tensor, len(s.outs))
	for i, name := range s.outs {
		if t := into[name]; t != nil {
			if len(t.shape) == 0 {
				t.scalarBack(outVals[i])
			}
			out[name] = t
			continue
		}
		t, err := fromORT(outVals[i])
		if err != nil {
			return nil, fmt.Errorf("run %s: output %q: %w", s.Name(), name, err)
		}
		out[name] = t
	}
	return out, nil
}

// destroyValue destroys an ONNX Runtime value. onnxruntime_go can leave a
// nil pointer inside a non-nil interface when it fails to convert an
// output, so check for both.
func destroyValue(v ort.Value) {
	if v == nil || reflect.ValueOf(v).IsNil() {
		return
	}
	_ = v.Destroy()
}

func (s *Session) hasOutput(name string) bool {
	for _, o := range s.outs {
		if o == name {
			return true
		}
	}
	return false
}

// checkInputs reports, in words, how the inputs fail to fit the model: a
// missing or unknown name, a wrong element type, rank or fixed dimension, or
// one symbolic dimension (batch_size) given two different sizes.
func (s *Session) checkInputs(in map[string]*Tensor) (map[string]int64, error) {
	var missing, unknown []string
	for _, name := range s.ins {
		if in[name] == nil {
			missing = append(missing, name)
		}
	}
	for name := range in {
		if _, ok := s.inSpec[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("%w: model %s needs input %s", ErrBadInput, s.Name(), strings.Join(missing, ", "))
	case len(unknown) > 0:
		return nil, fmt.Errorf("%w: model %s has no input %s (it takes %s)", ErrBadInput, s.Name(), strings.Join(unknown, ", "), strings.Join(s.ins, ", "))
	}
	symbols := map[string]int64{}
	symbolOwner := map[string]string{}
	for _, name := range s.ins {
		spec, t := s.inSpec[name], in[name]
		if t.Type() != spec.Elem {
			return nil, fmt.Errorf("%w: model %s: input %q must be %s, got %s", ErrBadInput, s.Name(), name, spec.Elem, t.Type())
		}
		if !spec.HasShape {
			continue
		}
		shape := t.Shape()
		if len(shape) != len(spec.Shape) {
			return nil, fmt.Errorf("%w: model %s: input %q must have %d dimensions %s, got shape %v", ErrBadInput, s.Name(), name, len(spec.Shape), dimsString(spec.Shape), shape)
		}
		for i, d := range spec.Shape {
			switch {
			case d.Fixed() && shape[i] != d.Value:
				return nil, fmt.Errorf("%w: model %s: input %q dimension %d must be %d, got shape %v", ErrBadInput, s.Name(), name, i, d.Value, shape)
			case d.Param != "":
				if prev, ok := symbols[d.Param]; ok && prev != shape[i] {
					return nil, fmt.Errorf("%w: model %s: %s is %d in input %q but %d in input %q", ErrBadInput, s.Name(), d.Param, prev, symbolOwner[d.Param], shape[i], name)
				}
				symbols[d.Param], symbolOwner[d.Param] = shape[i], name
			}
		}
	}
	return symbols, nil
}

// allocateOutputs adds Go buffers for the outputs whose shape the inputs
// determine (every dimension fixed or named by an input), so ONNX Runtime
// writes them in place instead of allocating and copying. Outputs it cannot
// size are left to ONNX Runtime.
func (s *Session) allocateOutputs(into map[string]*Tensor, symbols map[string]int64) map[string]*Tensor {
	cloned := false
	for _, o := range s.info.Outputs {
		if into[o.Name] != nil || o.Kind != "tensor" || !o.HasShape {
			continue
		}
		shape := make([]int64, len(o.Shape))
		known := true
		for i, d := range o.Shape {
			switch {
			case d.Fixed():
				shape[i] = d.Value
			case d.Param != "":
				v, ok := symbols[d.Param]
				shape[i], known = v, known && ok
			default:
				known = false
			}
		}
		if !known {
			continue
		}
		t, err := zerosOf(o.Elem, shape)
		if err != nil {
			continue
		}
		if !cloned {
			// The caller's map is not ours to change.
			into, cloned = maps.Clone(into), true
			if into == nil {
				into = map[string]*Tensor{}
			}
		}
		into[o.Name] = t
	}
	return into
}

func dimsString(dims []onnx.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// IsBadInput reports whether err is a caller's mistake rather than a
// failure of the model or runtime.
func IsBadInput(err error) bool { return errors.Is(err, ErrBadInput) }
