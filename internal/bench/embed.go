package bench

import (
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"os"
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
	"runner/quant"
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
	window, rounds := 4*time.Second, 5
	if env.Quick {
		window, rounds = 2*time.Second, 2
	}
	pool := benchSentences(4096, 1)
	// The int8 variant: the fixture quantised as transformers.js's q8 files are.
	work, err := os.MkdirTemp("", "runner-bench-embed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	qdir := filepath.Join(work, "q8", "minilm-l6-bench")
	if err := os.CopyFS(qdir, os.DirFS(dir)); err != nil {
		return err
	}
	if _, err := quant.QuantizeFile(ctx, filepath.Join(qdir, "onnx", "model.onnx"), filepath.Join(qdir, "onnx", "model_quantized.onnx"),
		quant.DefaultOptions(quant.Q8, "bert")); err != nil {
		return fmt.Errorf("quantise the bench model: %w", err)
	}
	srv, err := startRunner(ctx, env, work)
	if err != nil {
		return err
	}
	defer srv.stop()
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return err
	}
	defer rt.Close()

	r.Row("variant", "system", "sentences/s (median)", "runner ÷ system")
	for _, v := range []struct{ variant, dir, file string }{
		{"fp32", dir, "model.onnx"}, {"q8", qdir, "model_quantized.onnx"},
	} {
		if err := embedVariant(ctx, env, r, srv, v.variant, v.dir, filepath.Join(v.dir, "onnx", v.file), pool, window, rounds); err != nil {
			return fmt.Errorf("%s: %w", v.variant, err)
		}
	}
	if _, err := exec.LookPath("ollama"); err != nil {
		r.Row("-", "Ollama", "n/a", "not installed here")
	} else {
		r.Row("-", "Ollama", "n/a", "cannot load ONNX weights")
	}
	r.Note("%d interleaved rounds of %v per system; sentences of 3-60 words, 1-8 per request; server peak RSS over both variants %d MiB",
		rounds, window, srv.peakRSS()>>20)
	return nil
}

// embedVariant measures one variant: the three systems take turns, round
// after round, so that drift in the machine's speed hits each alike.
func embedVariant(ctx context.Context, env Env, r *Report, srv *runnerServer, variant, dir, graph string, pool []string, window time.Duration, rounds int) error {
	model := dir + ":" + variant
	if _, err := srv.client.Embed(ctx, &api.EmbedRequest{Model: model, Input: "warm up"}); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	raw, err := newRawEmbed(dir, graph, pool)
	if err != nil {
		return err
	}
	defer raw.close()
	js, err := startNode(ctx, env, embedTJSScript, filepath.Dir(dir), filepath.Base(dir), variant)
	if err != nil {
		return err
	}
	defer js.close()
	var ready struct{ Ready bool }
	if err := js.call(map[string]any{"texts": pool}, &ready); err != nil {
		return err
	}
	// Pick each peer's best setting first: the token budget of the raw
	// loop, the batch size of transformers.js.
	budget, jsBatch := 0, 0
	var best float64
	for _, b := range []int{768, 1024, 2048} {
		if rate, err := raw.run(b, window/2); err != nil {
			return err
		} else if rate > best {
			best, budget = rate, b
		}
	}
	best = 0
	for _, b := range []int{4, 8, 16, 32} {
		var res struct{ Rate float64 }
		if err := js.call(map[string]any{"batch": b, "seconds": window.Seconds() / 2}, &res); err != nil {
			return err
		} else if res.Rate > best {
			best, jsBatch = res.Rate, b
		}
	}
	var ours, rawRates, jsRates []float64
	for range rounds {
		rate, err := serverThroughput(ctx, srv.client, model, pool, window)
		if err != nil {
			return err
		}
		ours = append(ours, rate)
		if rate, err = raw.run(budget, window); err != nil {
			return err
		}
		rawRates = append(rawRates, rate)
		var res struct{ Rate float64 }
		if err := js.call(map[string]any{"batch": jsBatch, "seconds": window.Seconds()}, &res); err != nil {
			return err
		}
		jsRates = append(jsRates, res.Rate)
	}
	o, w, j := medianFloat(ours), medianFloat(rawRates), medianFloat(jsRates)
	r.Row(variant, "runner /api/embed, 64 clients", fmt.Sprintf("%.0f", o), "1.00x")
	r.Row(variant, fmt.Sprintf("raw ORT, sorted batches of ≤%d tokens (ceiling)", budget), fmt.Sprintf("%.0f", w), Ratio(o, w))
	r.Row(variant, fmt.Sprintf("transformers.js, batch %d", jsBatch), fmt.Sprintf("%.0f", j), Ratio(o, j))

	p50, p99, err := serverLatency(ctx, srv.client, model, 200)
	if err != nil {
		return err
	}
	one, err := raw.latency()
	if err != nil {
		return err
	}
	r.Note("%s: one sentence on an idle server p50 %v, p99 %v; one raw batch-1 run %v (p50 overhead %v)", variant,
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), one.Round(10*time.Microsecond), (p50 - one).Round(10*time.Microsecond))
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

// rawEmbed is the ceiling: an onnxruntime_go session with no runner code,
// fed the pool tokenised ahead, sorted by length and cut into batches.
type rawEmbed struct {
	sess *ort.DynamicAdvancedSession
	encs []*tokenizer.Encoding // sorted by length
	one  *tokenizer.Encoding   // the latency sentence
	// plans are the batches for each token budget, built on first use.
	plans map[int][]rawBatch
	rng   *rand.Rand
}

// rawBatch is one pre-built batch.
type rawBatch struct {
	values []ort.Value
	out    ort.Value
	n      int
}

func (b rawBatch) destroy() {
	for _, v := range append(b.values, b.out) {
		v.Destroy()
	}
}

func newRawEmbed(dir, graph string, pool []string) (*rawEmbed, error) {
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	encs, err := tok.EncodeBatch(context.Background(), pool, tokenizer.WithPaddingOption(nil))
	if err != nil {
		return nil, err
	}
	sort.Slice(encs, func(i, j int) bool { return encs[i].Len() < encs[j].Len() })
	one, err := tok.Encode("how do I reset my online banking password", tokenizer.WithPaddingOption(nil))
	if err != nil {
		return nil, err
	}
	sess, err := ort.NewDynamicAdvancedSession(graph,
		[]string{"input_ids", "attention_mask", "token_type_ids"}, []string{"last_hidden_state"}, nil)
	if err != nil {
		return nil, err
	}
	return &rawEmbed{sess: sess, encs: encs, one: one, plans: map[int][]rawBatch{}, rng: rand.New(rand.NewPCG(5, 5))}, nil
}

// newRawBatch pads encodings into input tensors and an output buffer.
func newRawBatch(encs []*tokenizer.Encoding) (rawBatch, error) {
	B, T := len(encs), 0
	for _, e := range encs {
		T = max(T, e.Len())
	}
	ids, mask, types := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
	for i, e := range encs {
		for j, id := range e.IDs {
			ids[i*T+j], mask[i*T+j] = int64(id), 1
		}
	}
	shape := ort.NewShape(int64(B), int64(T))
	b := rawBatch{n: B}
	for _, data := range [][]int64{ids, mask, types} {
		v, err := ort.NewTensor(shape, data)
		if err != nil {
			b.destroy()
			return rawBatch{}, err
		}
		b.values = append(b.values, v)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(B), int64(T), 384))
	if err != nil {
		b.destroy()
		return rawBatch{}, err
	}
	b.out = out
	return b, nil
}

// plan cuts the sorted pool into batches under a token budget.
func (e *rawEmbed) plan(budget int) ([]rawBatch, error) {
	if p, ok := e.plans[budget]; ok {
		return p, nil
	}
	const maxBatch = 128
	var batches []rawBatch
	for start := 0; start < len(e.encs); {
		end := start + 1
		for end < len(e.encs) && end-start < maxBatch && (end-start+1)*e.encs[end].Len() <= budget {
			end++
		}
		b, err := newRawBatch(e.encs[start:end])
		if err != nil {
			return nil, err
		}
		batches = append(batches, b)
		start = end
	}
	e.plans[budget] = batches
	return batches, nil
}

// run embeds random batches of the plan back to back for d and returns
// sentences per second.
func (e *rawEmbed) run(budget int, d time.Duration) (float64, error) {
	batches, err := e.plan(budget)
	if err != nil {
		return 0, err
	}
	done := 0
	start := time.Now()
	for time.Since(start) < d {
		b := batches[e.rng.IntN(len(batches))]
		if err := e.sess.Run(b.values, []ort.Value{b.out}); err != nil {
			return 0, err
		}
		done += b.n
	}
	return float64(done) / time.Since(start).Seconds(), nil
}

// latency is the median of 200 runs of the latency sentence alone.
func (e *rawEmbed) latency() (time.Duration, error) {
	b, err := newRawBatch([]*tokenizer.Encoding{e.one})
	if err != nil {
		return 0, err
	}
	defer b.destroy()
	return Median(200, func() error { return e.sess.Run(b.values, []ort.Value{b.out}) })
}

func (e *rawEmbed) close() {
	for _, p := range e.plans {
		for _, b := range p {
			b.destroy()
		}
	}
	e.sess.Destroy()
}
