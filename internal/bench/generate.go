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
	newTokens, reps := 64, 3
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
	var decodeRates []float64
	for range reps {
		g, err := one(short, greedy)
		if err != nil {
			return err
		}
		decodeRates = append(decodeRates, float64(g.EvalCount)/g.EvalDuration.Seconds())
	}
	ours := medianFloat(decodeRates)

	// The same under format "json": constrained sampling's cost per token.
	var jsonRates []float64
	for range reps {
		g, err := formatted(short, greedy, json.RawMessage(`"json"`))
		if err != nil {
			return err
		}
		jsonRates = append(jsonRates, float64(g.EvalCount)/g.EvalDuration.Seconds())
	}
	constrained := medianFloat(jsonRates)

	// Time to first token: a 512-token prompt, one token out.
	longText, err := tok.Decode(long512, true)
	if err != nil {
		return err
	}
	var ttfts []time.Duration
	for range reps {
		g, err := one(longText, map[string]any{"temperature": 0, "num_predict": 1})
		if err != nil {
			return err
		}
		ttfts = append(ttfts, g.PromptEvalDuration)
	}
	ttft := MedianOf(ttfts)

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

	rawRate, rawPrefill, err := rawDecode(env, dir, tok, short, long512, newTokens, reps)
	if err != nil {
		return err
	}
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
	r.Note("greedy, %d new tokens, median of %d; runner through bin/runner serve (its eval_duration); server peak RSS %d MiB", newTokens, reps, peak>>20)
	return nil
}

func medianFloat(xs []float64) float64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x * 1e6)
	}
	return float64(MedianOf(ds)) / 1e6
}

// rawDecode is the ceiling: a plain onnxruntime_go loop, prefill then greedy
// decode feeding each step's present back as the next past.
func rawDecode(env Env, dir string, tok *tokenizer.Tokenizer, prompt string, long []int, newTokens, reps int) (float64, time.Duration, error) {
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return 0, 0, err
	}
	defer rt.Close()
	const layers, kvHeads, headDim = 30, 3, 64
	var ins, outs []string
	ins = append(ins, "input_ids", "attention_mask", "position_ids")
	outs = append(outs, "logits")
	for i := range layers {
		ins = append(ins, fmt.Sprintf("past_key_values.%d.key", i), fmt.Sprintf("past_key_values.%d.value", i))
		outs = append(outs, fmt.Sprintf("present.%d.key", i), fmt.Sprintf("present.%d.value", i))
	}
	sess, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "onnx", "model.onnx"), ins, outs, nil)
	if err != nil {
		return 0, 0, err
	}
	defer sess.Destroy()

	// run feeds ids after a past of length past (nil: empty) and returns the
	// outputs, which the caller destroys.
	run := func(ids []int64, past []ort.Value, pastLen int) ([]ort.Value, error) {
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
		destroy := func() {
			for _, v := range in[:3] {
				v.Destroy()
			}
		}
		for _, d := range [][]int64{ids, mask, pos} {
			shape := ort.NewShape(1, int64(len(d)))
			t, err := ort.NewTensor(shape, d)
			if err != nil {
				return nil, err
			}
			in = append(in, t)
		}
		if past == nil {
			for range 2 * layers {
				t, err := ort.NewTensor(ort.NewShape(1, kvHeads, 0, headDim), []float32{})
				if err != nil {
					return nil, err
				}
				defer t.Destroy()
				in = append(in, t)
			}
		} else {
			in = append(in, past...)
		}
		defer destroy()
		out := make([]ort.Value, len(outs))
		if err := sess.Run(in, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	argmaxLast := func(v ort.Value) int64 {
		data := v.(*ort.Tensor[float32]).GetData()
		shape := v.GetShape()
		vocab := int(shape[2])
		last := data[len(data)-vocab:]
		best := 0
		for i, x := range last {
			if x > last[best] {
				best = i
			}
		}
		return int64(best)
	}
	release := func(vs []ort.Value) {
		for _, v := range vs {
			v.Destroy()
		}
	}
	enc, err := tok.Encode(prompt, tokenizer.WithPaddingOption(nil))
	if err != nil {
		return 0, 0, err
	}
	ids := make([]int64, enc.Len())
	for i, id := range enc.IDs {
		ids[i] = int64(id)
	}
	var rates []float64
	for range reps + 1 {
		out, err := run(ids, nil, 0)
		if err != nil {
			return 0, 0, err
		}
		next, pastLen := argmaxLast(out[0]), len(ids)
		start := time.Now()
		for range newTokens {
			past := out[1:]
			nout, err := run([]int64{next}, past, pastLen)
			release(out)
			if err != nil {
				return 0, 0, err
			}
			out, next, pastLen = nout, argmaxLast(nout[0]), pastLen+1
		}
		rates = append(rates, float64(newTokens)/time.Since(start).Seconds())
		release(out)
	}
	longIDs := make([]int64, len(long))
	for i, id := range long {
		longIDs[i] = int64(id)
	}
	prefill, err := Median(reps, func() error {
		out, err := run(longIDs, nil, 0)
		if err == nil {
			release(out)
		}
		return err
	})
	return medianFloat(rates[1:]), prefill, err
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
