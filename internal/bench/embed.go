package bench

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
	ort "github.com/yalue/onnxruntime_go"

	"runner/engine"
	"runner/tokenizer"
)

//go:embed testdata/embed_tjs.mjs
var embedTJSScript string

// EmbedSuite measures embedding throughput and latency on the MiniLM-shaped
// fixture: runner's server under 64 concurrent clients against a raw
// onnxruntime_go loop over ideal pre-tokenised batches (the ceiling) and
// transformers.js at its best batch size; one-sentence latency on an idle
// server against one raw run; and the server's peak memory.
func EmbedSuite() Suite { return Suite{Name: "embed", Run: runEmbed} }

const embedClients = 64

// benchWords make sentences of mixed length and script.
var benchWords = strings.Fields(`the a of model small fast local search query document answer bank
	account transfer money loan rate café naïve résumé über straße 東京 数据 서울 données número
	embedding vector server client request batch token length runner cosine similarity sentence
	quickly slowly carefully private offline laptop edge device memory latency throughput network`)

// benchSentences makes n sentences of 3 to 60 words, seeded.
func benchSentences(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]string, n)
	for i := range out {
		words := make([]string, 3+rng.IntN(58))
		for j := range words {
			words[j] = benchWords[rng.IntN(len(benchWords))]
		}
		out[i] = strings.Join(words, " ") + "."
	}
	return out
}

func runEmbed(ctx context.Context, env Env, r *Report) error {
	dir := filepath.Join(env.Fixtures, "minilm-l6-bench")
	duration := 10 * time.Second
	if env.Quick {
		duration = 3 * time.Second
	}
	pool := benchSentences(4096, 1)

	srv, err := startServer(ctx, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	if _, err := srv.client.Embed(ctx, &api.EmbedRequest{Model: dir, Input: "warm up"}); err != nil {
		return fmt.Errorf("runner embed: %w", err)
	}
	ours, err := serverThroughput(ctx, srv.client, dir, pool, duration)
	if err != nil {
		return err
	}
	peak := srv.peakRSS()
	p50, p99, err := serverLatency(ctx, srv.client, dir, 200)
	if err != nil {
		return err
	}

	raw, err := rawThroughput(env, dir, pool, duration)
	if err != nil {
		return err
	}
	rawOne, err := rawLatency(env, dir)
	if err != nil {
		return err
	}
	tjs, tjsBatch, err := transformersJSThroughput(ctx, env, pool, duration)
	if err != nil {
		return err
	}

	r.Row("system", "sentences/s", "runner ÷ system")
	r.Row("runner /api/embed, 64 clients", fmt.Sprintf("%.0f", ours), "1.00x")
	r.Row("raw ORT, ideal batches (ceiling)", fmt.Sprintf("%.0f", raw), Ratio(ours, raw))
	r.Row(fmt.Sprintf("transformers.js, batch %d", tjsBatch), fmt.Sprintf("%.0f", tjs), Ratio(ours, tjs))
	if _, err := exec.LookPath("ollama"); err != nil {
		r.Row("Ollama", "n/a", "not installed here")
	} else {
		r.Row("Ollama", "n/a", "cannot load ONNX weights")
	}
	r.Note("one sentence on an idle server: p50 %v, p99 %v; one raw batch-1 run: %v (p50 overhead %v)",
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), rawOne.Round(10*time.Microsecond), (p50 - rawOne).Round(10*time.Microsecond))
	r.Note("server peak RSS during the run: %d MiB; %v per system; sentences of 3-60 words, 1-8 per request", peak>>20, duration)
	return nil
}

// serverThroughput runs 64 clients, each sending 1 to 8 sentences per
// request, for d and returns sentences per second.
func serverThroughput(ctx context.Context, c *api.Client, model string, pool []string, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range embedClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			for time.Now().Before(deadline) {
				n := 1 + rng.IntN(8)
				at := rng.IntN(len(pool) - n)
				if _, err := c.Embed(ctx, &api.EmbedRequest{Model: model, Input: pool[at : at+n]}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// serverLatency times n one-sentence requests, one at a time.
func serverLatency(ctx context.Context, c *api.Client, model string, n int) (p50, p99 time.Duration, err error) {
	times := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := c.Embed(ctx, &api.EmbedRequest{Model: model, Input: "how do I reset my online banking password"}); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(start))
	}
	return Percentile(times, 50), Percentile(times, 99), nil
}

// rawBatch is one pre-built batch for the ceiling loop.
type rawBatch struct {
	values []ort.Value
	out    ort.Value
	n      int
}

// rawThroughput is the ceiling: the pool tokenised ahead, sorted by length,
// cut into batches under the same token budget as runner's, and run back
// to back through onnxruntime_go for d.
func rawThroughput(env Env, dir string, pool []string, d time.Duration) (float64, error) {
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return 0, err
	}
	encs, err := tok.EncodeBatch(context.Background(), pool, tokenizer.WithPaddingOption(nil))
	if err != nil {
		return 0, err
	}
	sort.Slice(encs, func(i, j int) bool { return encs[i].Len() < encs[j].Len() })
	sess, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "onnx", "model.onnx"),
		[]string{"input_ids", "attention_mask", "token_type_ids"}, []string{"last_hidden_state"}, nil)
	if err != nil {
		return 0, err
	}
	defer sess.Destroy()
	var batches []rawBatch
	defer func() {
		for _, b := range batches {
			for _, v := range append(b.values, b.out) {
				v.Destroy()
			}
		}
	}()
	const budget, maxBatch = 16384, 128
	for start := 0; start < len(encs); {
		end := start + 1
		for end < len(encs) && end-start < maxBatch && (end-start+1)*encs[end].Len() <= budget {
			end++
		}
		T := encs[end-1].Len()
		B := end - start
		ids, mask, types := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
		for i, e := range encs[start:end] {
			for j, id := range e.IDs {
				ids[i*T+j], mask[i*T+j] = int64(id), 1
			}
		}
		shape := ort.NewShape(int64(B), int64(T))
		var b rawBatch
		for _, data := range [][]int64{ids, mask, types} {
			v, err := ort.NewTensor(shape, data)
			if err != nil {
				return 0, err
			}
			b.values = append(b.values, v)
		}
		out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(B), int64(T), 384))
		if err != nil {
			return 0, err
		}
		b.out, b.n = out, B
		batches = append(batches, b)
		start = end
	}
	rng := rand.New(rand.NewPCG(5, 5))
	done := 0
	start := time.Now()
	for time.Since(start) < d {
		b := batches[rng.IntN(len(batches))]
		if err := sess.Run(b.values, []ort.Value{b.out}); err != nil {
			return 0, err
		}
		done += b.n
	}
	return float64(done) / time.Since(start).Seconds(), nil
}

// rawLatency is the median of 200 raw runs of the latency sentence alone.
func rawLatency(env Env, dir string) (time.Duration, error) {
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return 0, err
	}
	enc, err := tok.Encode("how do I reset my online banking password", tokenizer.WithPaddingOption(nil))
	if err != nil {
		return 0, err
	}
	T := enc.Len()
	ids, mask, types := make([]int64, T), make([]int64, T), make([]int64, T)
	for i, id := range enc.IDs {
		ids[i], mask[i] = int64(id), 1
	}
	shape := ort.NewShape(1, int64(T))
	var vals []ort.Value
	for _, d := range [][]int64{ids, mask, types} {
		v, err := ort.NewTensor(shape, d)
		if err != nil {
			return 0, err
		}
		defer v.Destroy()
		vals = append(vals, v)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(T), 384))
	if err != nil {
		return 0, err
	}
	defer out.Destroy()
	sess, err := ort.NewAdvancedSession(filepath.Join(dir, "onnx", "model.onnx"),
		[]string{"input_ids", "attention_mask", "token_type_ids"}, []string{"last_hidden_state"}, vals, []ort.Value{out}, nil)
	if err != nil {
		return 0, err
	}
	defer sess.Destroy()
	return Median(200, sess.Run)
}

// transformersJSThroughput runs transformers.js's feature-extraction
// pipeline over the pool for d at a few batch sizes and returns the best.
func transformersJSThroughput(ctx context.Context, env Env, pool []string, d time.Duration) (float64, int, error) {
	in, _ := json.Marshal(map[string]any{"texts": pool, "batches": []int{8, 32, 64}, "seconds": d.Seconds() / 3})
	out, err := runNode(ctx, env, embedTJSScript, in, env.Fixtures, "minilm-l6-bench")
	if err != nil {
		return 0, 0, err
	}
	var res struct {
		Best  float64 `json:"best"`
		Batch int     `json:"batch"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("transformers.js output %q: %w", out, err)
	}
	return res.Best, res.Batch, nil
}
