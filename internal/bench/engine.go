package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"runner/engine"
)

// EngineSuite compares runner's engine Run with a plain onnxruntime_go loop
// (no runner code: tensors bound once, the ceiling) on the MiniLM-shaped
// fixture at batch 1, 8 and 32. It is the one place outside engine that
// calls onnxruntime_go directly, because the ceiling must not go through
// runner.
func EngineSuite() Suite {
	return Suite{Name: "engine", Run: runEngine}
}

const engineSeqLen = 128

func runEngine(ctx context.Context, env Env, r *Report) error {
	model := filepath.Join(env.Fixtures, "minilm-l6-bench", "onnx", "model.onnx")
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return err
	}
	defer rt.Close()
	sess, err := rt.NewSession(ctx, model, engine.SessionOptions{})
	if err != nil {
		return err
	}
	defer sess.Close()

	reps := 15
	if env.Quick {
		reps = 3
	}
	r.Row("batch", "tokens", "raw ORT (median)", "runner engine (median)", "runner/raw speed")
	for _, batch := range []int{1, 8, 32} {
		raw, err := newRawRun(model, batch, engineSeqLen)
		if err != nil {
			return err
		}
		in, into, err := engineInputs(sess, batch, engineSeqLen)
		if err != nil {
			raw.destroy()
			return err
		}
		// Warm both, then interleave so drift hits both alike.
		var rawTimes, ourTimes []time.Duration
		for i := range reps + 2 {
			t0 := time.Now()
			if err := raw.run(); err != nil {
				raw.destroy()
				return err
			}
			t1 := time.Now()
			if _, err := sess.Run(ctx, in, into); err != nil {
				raw.destroy()
				return err
			}
			t2 := time.Now()
			if i >= 2 {
				rawTimes = append(rawTimes, t1.Sub(t0))
				ourTimes = append(ourTimes, t2.Sub(t1))
			}
		}
		raw.destroy()
		rm, om := MedianOf(rawTimes), MedianOf(ourTimes)
		r.Row(fmt.Sprint(batch), fmt.Sprint(batch*engineSeqLen), rm.Round(10*time.Microsecond).String(), om.Round(10*time.Microsecond).String(), Ratio(float64(rm), float64(om)))
	}
	r.Note("sequence length %d; %d interleaved runs each after 2 warm-ups; speed ratio = raw time / runner time (1.00x = no overhead)", engineSeqLen, reps)
	return nil
}

// engineInputs builds random token inputs and output buffers for runner's engine.
func engineInputs(sess *engine.Session, batch, seq int) (map[string]*engine.Tensor, map[string]*engine.Tensor, error) {
	ids, mask, types := tokenData(batch, seq)
	shape := []int64{int64(batch), int64(seq)}
	in := map[string]*engine.Tensor{}
	var err error
	if in["input_ids"], err = engine.NewTensor(shape, ids); err != nil {
		return nil, nil, err
	}
	if in["attention_mask"], err = engine.NewTensor(shape, mask); err != nil {
		return nil, nil, err
	}
	if sess.HasInput("token_type_ids") {
		if in["token_type_ids"], err = engine.NewTensor(shape, types); err != nil {
			return nil, nil, err
		}
	}
	out, err := engine.Zeros[float32](int64(batch), int64(seq), 384)
	if err != nil {
		return nil, nil, err
	}
	return in, map[string]*engine.Tensor{"last_hidden_state": out}, nil
}

func tokenData(batch, seq int) (ids, mask, types []int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := batch * seq
	ids, mask, types = make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range ids {
		ids[i] = 1000 + rng.Int64N(20000)
		mask[i] = 1
	}
	return ids, mask, types
}

// rawRun is the ceiling: an onnxruntime_go AdvancedSession with its input
// and output tensors bound once, run in a plain loop.
type rawRun struct {
	sess    *ort.AdvancedSession
	tensors []ort.Value
}

func newRawRun(model string, batch, seq int) (*rawRun, error) {
	ids, mask, types := tokenData(batch, seq)
	shape := ort.NewShape(int64(batch), int64(seq))
	r := &rawRun{}
	inputs := []string{"input_ids", "attention_mask", "token_type_ids"}
	var ins []ort.Value
	for _, d := range [][]int64{ids, mask, types} {
		t, err := ort.NewTensor(shape, d)
		if err != nil {
			r.destroy()
			return nil, err
		}
		r.tensors = append(r.tensors, t)
		ins = append(ins, t)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(batch), int64(seq), 384))
	if err != nil {
		r.destroy()
		return nil, err
	}
	r.tensors = append(r.tensors, out)
	r.sess, err = ort.NewAdvancedSession(model, inputs, []string{"last_hidden_state"}, ins, []ort.Value{out}, nil)
	if err != nil {
		r.destroy()
		return nil, err
	}
	return r, nil
}

func (r *rawRun) run() error { return r.sess.Run() }

func (r *rawRun) destroy() {
	if r.sess != nil {
		r.sess.Destroy()
	}
	for _, t := range r.tensors {
		t.Destroy()
	}
}
