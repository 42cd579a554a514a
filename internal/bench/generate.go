package bench

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	ort "github.com/yalue/onnxruntime_go"

	"runner/engine"
	"runner/tokenizer"
)

//go:embed testdata/generate_tjs.mjs
var generateTJSScript string

// GenerateSuite measures generation on the SmolLM2-shaped fixture: decode
// tokens/s at batch 1 against a raw onnxruntime_go decode loop and
// transformers.js, time to first token for a 512-token prompt against a raw
// prefill, and aggregate tokens/s of 8 concurrent chats against 1.
func GenerateSuite() Suite { return Suite{Name: "generate", Run: runGenerate} }

func runGenerate(ctx context.Context, env Env, r *Report) error {
	dir := filepath.Join(env.Fixtures, "smollm2-135m-bench")
	newTokens, reps := 64, 5
	if env.Quick {
		newTokens, reps = 16, 1
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return err
	}
	short := benchSentences(1, 9)[0]
	long := strings.Join(benchSentences(40, 11), " ")
	longEnc, err := tok.Encode(long, tokenizer.WithPaddingOption(nil))
	if err != nil {
		return err
	}
	long512 := longEnc.IDs[:min(512, len(longEnc.IDs))]

	work, err := os.MkdirTemp("", "runner-bench-generate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	srv, err := startRunner(ctx, env, work)
	if err != nil {
		return err
	}
	defer srv.stop()
	greedy := map[string]any{"temperature": 0, "num_predict": newTokens}
	formatted := func(prompt string, opts map[string]any, format json.RawMessage) (api.GenerateResponse, error) {
		var final api.GenerateResponse
		no := false
		err := srv.client.Generate(ctx, &api.GenerateRequest{Model: dir, Prompt: prompt, Raw: true, Options: opts, Stream: &no, Format: format},
			func(g api.GenerateResponse) error { final = g; return nil })
		return final, err
	}
	one := func(prompt string, opts map[string]any) (api.GenerateResponse, error) {
		return formatted(prompt, opts, nil)
	}
	if _, err := one("warm up", greedy); err != nil {
		return fmt.Errorf("runner generate: %w", err)
	}
	raw, err := newRawDecoder(env, dir)
	if err != nil {
		return err
	}
	defer raw.close()
	shortEnc, err := tok.Encode(short, tokenizer.WithPaddingOption(nil))
	if err != nil {
		return err
	}
	shortIDs, longIDs := int64s(shortEnc.IDs), int64s(long512)
	if _, err := raw.decodeRate(shortIDs, 4); err != nil {
		return fmt.Errorf("raw decode: %w", err)
	}
	longText, err := tok.Decode(long512, true)
	if err != nil {
		return err
	}

	// Interleaved rounds, so that the machine's drift hits every system
	// alike: runner free, the raw loop, runner under format "json"
	// (constrained sampling's cost per token), then a 512-token prompt's
	// time to first token against the raw prefill.
	var decodeRates, rawRates, jsonRates []float64
	var ttfts, rawPrefills []time.Duration
	rate := func(g api.GenerateResponse) float64 { return float64(g.EvalCount) / g.EvalDuration.Seconds() }
	for range reps {
		g, err := one(short, greedy)
		if err != nil {
			return err
		}
		decodeRates = append(decodeRates, rate(g))
		rr, err := raw.decodeRate(shortIDs, newTokens)
		if err != nil {
			return err
		}
		rawRates = append(rawRates, rr)
		if g, err = formatted(short, greedy, json.RawMessage(`"json"`)); err != nil {
			return err
		}
		jsonRates = append(jsonRates, rate(g))
		if g, err = one(longText, map[string]any{"temperature": 0, "num_predict": 1}); err != nil {
			return err
		}
		ttfts = append(ttfts, g.PromptEvalDuration)
		pf, err := raw.prefill(longIDs)
		if err != nil {
			return err
		}
		rawPrefills = append(rawPrefills, pf)
	}
	ours, rawRate, constrained := medianFloat(decodeRates), medianFloat(rawRates), medianFloat(jsonRates)
	ttft, rawPrefill := MedianOf(ttfts), MedianOf(rawPrefills)

	// Eight concurrent chats against one.
	agg := func(n int) (float64, error) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		var firstErr error
		prompts := benchSentences(n, 21)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g, err := one(prompts[i], greedy)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				total += g.EvalCount
			}()
		}
		wg.Wait()
		return float64(total) / time.Since(start).Seconds(), firstErr
	}
	single, err := agg(1)
	if err != nil {
		return err
	}
	eight, err := agg(8)
	if err != nil {
		return err
	}
	peak := srv.peakRSS()

	tjs, err := transformersJSGenerate(ctx, env, short, newTokens)
	if err != nil {
		return err
	}

	r.Row("measure", "runner", "peer", "runner ÷ peer")
	r.Row("decode tokens/s, batch 1 vs raw ORT loop", fmt.Sprintf("%.1f", ours), fmt.Sprintf("%.1f", rawRate), Ratio(ours, rawRate))
	r.Row("decode tokens/s, batch 1 vs transformers.js", fmt.Sprintf("%.1f", ours), fmt.Sprintf("%.1f", tjs), Ratio(ours, tjs))
	r.Row(fmt.Sprintf("time to first token, %d-token prompt vs raw prefill", len(long512)), ttft.Round(time.Millisecond).String(), rawPrefill.Round(time.Millisecond).String(), Ratio(float64(ttft), float64(rawPrefill)))
	r.Row("decode tokens/s, format json vs free", fmt.Sprintf("%.1f", constrained), fmt.Sprintf("%.1f", ours), Ratio(constrained, ours))
	r.Row("aggregate tokens/s, 8 chats vs 1", fmt.Sprintf("%.1f", eight), fmt.Sprintf("%.1f", single), Ratio(eight, single))
	r.Note("greedy, %d new tokens, medians of %d interleaved rounds; runner through bin/runner serve (its eval_duration); server peak RSS %d MiB", newTokens, reps, peak>>20)
	return nil
}

func medianFloat(xs []float64) float64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x * 1e6)
	}
	return float64(MedianOf(ds)) / 1e6
}

// rawDecoder is the ceiling: a plain onnxruntime_go loop, prefill then
// greedy decode feeding each step's present back as the next past.
type rawDecoder struct {
	rt   *engine.Runtime
	sess *ort.DynamicAdvancedSession
	outs int
}

// rawLayers, rawKVHeads and rawHeadDim are the SmolLM2-shaped fixture's
// cache layout.
const rawLayers, rawKVHeads, rawHeadDim = 30, 3, 64

func newRawDecoder(env Env, dir string) (*rawDecoder, error) {
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return nil, err
	}
	ins := []string{"input_ids", "attention_mask", "position_ids"}
	outs := []string{"logits"}
	for i := range rawLayers {
		ins = append(ins, fmt.Sprintf("past_key_values.%d.key", i), fmt.Sprintf("past_key_values.%d.value", i))
		outs = append(outs, fmt.Sprintf("present.%d.key", i), fmt.Sprintf("present.%d.value", i))
	}
	sess, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "onnx", "model.onnx"), ins, outs, nil)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return &rawDecoder{rt: rt, sess: sess, outs: len(outs)}, nil
}

func (r *rawDecoder) close() {
	r.sess.Destroy()
	r.rt.Close()
}

// run feeds ids after a past of length pastLen (nil: empty) and returns the
// outputs, which the caller destroys.
func (r *rawDecoder) run(ids []int64, past []ort.Value, pastLen int) ([]ort.Value, error) {
	n := int64(len(ids))
	total := int64(pastLen) + n
	mask, pos := make([]int64, total), make([]int64, n)
	for i := range mask {
		mask[i] = 1
	}
	for i := range pos {
		pos[i] = int64(pastLen + i)
	}
	var in []ort.Value
	defer func() {
		for _, v := range in[:min(3, len(in))] {
			v.Destroy()
		}
	}()
	for _, d := range [][]int64{ids, mask, pos} {
		t, err := ort.NewTensor(ort.NewShape(1, int64(len(d))), d)
		if err != nil {
			return nil, err
		}
		in = append(in, t)
	}
	if past == nil {
		for range 2 * rawLayers {
			t, err := ort.NewTensor(ort.NewShape(1, rawKVHeads, 0, rawHeadDim), []float32{})
			if err != nil {
				return nil, err
			}
			defer t.Destroy()
			in = append(in, t)
		}
	} else {
		in = append(in, past...)
	}
	out := make([]ort.Value, r.outs)
	if err := r.sess.Run(in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func argmaxLast(v ort.Value) int64 {
	data := v.(*ort.Tensor[float32]).GetData()
	vocab := int(v.GetShape()[2])
	last := data[len(data)-vocab:]
	best := 0
	for i, x := range last {
		if x > last[best] {
			best = i
		}
	}
	return int64(best)
}

func release(vs []ort.Value) {
	for _, v := range vs {
		v.Destroy()
	}
}

// decodeRate prefills ids, then times newTokens greedy decode steps and
// returns tokens per second.
func (r *rawDecoder) decodeRate(ids []int64, newTokens int) (float64, error) {
	out, err := r.run(ids, nil, 0)
	if err != nil {
		return 0, err
	}
	next, pastLen := argmaxLast(out[0]), len(ids)
	start := time.Now()
	for range newTokens {
		nout, err := r.run([]int64{next}, out[1:], pastLen)
		release(out)
		if err != nil {
			return 0, err
		}
		out, next, pastLen = nout, argmaxLast(nout[0]), pastLen+1
	}
	rate := float64(newTokens) / time.Since(start).Seconds()
	release(out)
	return rate, nil
}

// prefill times one prefill of ids.
func (r *rawDecoder) prefill(ids []int64) (time.Duration, error) {
	start := time.Now()
	out, err := r.run(ids, nil, 0)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	release(out)
	return took, nil
}

func int64s(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// transformersJSGenerate returns transformers.js's greedy decode tokens/s.
func transformersJSGenerate(ctx context.Context, env Env, prompt string, newTokens int) (float64, error) {
	in, _ := json.Marshal(map[string]any{"prompt": prompt, "new_tokens": newTokens})
	out, err := runNode(ctx, env, generateTJSScript, in, env.Fixtures, "smollm2-135m-bench")
	if err != nil {
		return 0, err
	}
	var res struct {
		Rate float64 `json:"rate"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("transformers.js output %q: %w", out, err)
	}
	return res.Rate, nil
}
