package bench

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"runner/engine"
	"runner/tokenizer"
)

//go:embed scripts/rerank.mjs
var rerankScript string

// RerankSuite measures reranking one query against 100 documents on the
// MiniLM-shaped cross-encoder: runner through its HTTP server
// (/api/rerank), transformers.js on node at its best batch size, and the
// ceiling, onnxruntime_go running the 100 pairs as one padded batch with
// no runner code and no tokenization.
func RerankSuite() Suite { return Suite{Name: "rerank", Run: runRerank} }

const (
	rerankFixture = "minilm-l6-reranker-bench"
	rerankDocs    = 100
	rerankQuery   = "how do small cross-encoder models rank the results of a search engine"
)

// rerankWords are the vocabulary of the benchmark's documents.
var rerankWords = strings.Fields(`the a of and to in is for on with as by that this from at are be it an or
search engine results rank ranking model models small fast query document documents passage relevance
score scores users find page pages web index retrieval neural network encoder cross bi transformer
attention layer token tokens text language english words sentence sentences training trained data set
benchmark latency throughput batch batches server local device cpu memory cache answer answers question
questions people often want good better best quickly because when while which who what where how many
most some other new first last time year city river mountain history science music food travel market`)

// rerankDocuments makes n deterministic documents of 40 to 100 words.
func rerankDocuments(n int) []string {
	rng := rand.New(rand.NewPCG(11, 12))
	docs := make([]string, n)
	for i := range docs {
		words := make([]string, 40+rng.IntN(61))
		for j := range words {
			words[j] = rerankWords[rng.IntN(len(rerankWords))]
			if j%12 == 11 {
				words[j] += "."
			}
		}
		docs[i] = strings.ToUpper(words[0][:1]) + strings.Join(words, " ")[1:] + "."
	}
	return docs
}

func runRerank(ctx context.Context, env Env, r *Report) error {
	model := filepath.Join(env.Fixtures, rerankFixture)
	if _, err := os.Stat(filepath.Join(model, "onnx", "model.onnx")); err != nil {
		return fmt.Errorf("fixture %s: %w (run make fixtures)", rerankFixture, err)
	}
	reps := 10
	if env.Quick {
		reps = 3
	}
	docs := rerankDocuments(rerankDocs)
	work, err := os.MkdirTemp("", "runner-bench-rerank-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	ceiling, err := newRerankCeiling(ctx, env, model, docs)
	if err != nil {
		return fmt.Errorf("raw ONNX Runtime: %w", err)
	}
	defer ceiling.close()
	ours, err := newRerankRunner(ctx, env, work, model, docs)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	defer ours.close()
	js, err := newRerankJS(ctx, env, docs)
	if err != nil {
		return fmt.Errorf("transformers.js: %w", err)
	}
	defer js.close()
	// transformers.js gets its best batch size, chosen on the fastest of
	// two runs each after a warm-up.
	var tried []string
	bestMS := math.Inf(1)
	for _, b := range []int{1, 8, 16, 32, 100} {
		ms := math.Inf(1)
		for range 3 {
			t, err := js.score(b)
			if err != nil {
				return fmt.Errorf("transformers.js: %w", err)
			}
			ms = math.Min(ms, t)
		}
		tried = append(tried, fmt.Sprintf("%d: %.0f ms", b, ms))
		if ms < bestMS {
			js.batch, bestMS = b, ms
		}
	}

	// Interleave the three, so that drift in the machine's load hits all
	// alike; the first round warms up.
	var ceilTimes, sortedTimes, ourTimes, jsTimes []time.Duration
	for i := range reps + 1 {
		sc, err := ceiling.run(ceiling.sorted)
		if err != nil {
			return fmt.Errorf("raw ONNX Runtime: %w", err)
		}
		c, err := ceiling.run(ceiling.one)
		if err != nil {
			return fmt.Errorf("raw ONNX Runtime: %w", err)
		}
		o, err := ours.run(ctx)
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		ms, err := js.score(js.batch)
		if err != nil {
			return fmt.Errorf("transformers.js: %w", err)
		}
		if i > 0 {
			ceilTimes, sortedTimes, ourTimes = append(ceilTimes, c), append(sortedTimes, sc), append(ourTimes, o)
			jsTimes = append(jsTimes, time.Duration(ms*float64(time.Millisecond)))
		}
	}
	best := func(ds []time.Duration) time.Duration { return slices.Min(ds) }
	cb, ob, jb := best(ceilTimes), best(ourTimes), best(jsTimes)
	cm, om, jm := MedianOf(ceilTimes), MedianOf(ourTimes), MedianOf(jsTimes)
	pps := func(d time.Duration) float64 { return float64(rerankDocs) / d.Seconds() }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	r.Row("what", "time (median)", "pairs/s", "runner/this speed", "best time", "best pairs/s", "runner/this (best)")
	row := func(name string, med, min time.Duration) {
		r.Row(name, ms(med), fmt.Sprintf("%.0f", pps(med)), Ratio(pps(om), pps(med)), ms(min), fmt.Sprintf("%.0f", pps(min)), Ratio(pps(ob), pps(min)))
	}
	row("runner, HTTP /api/rerank", om, ob)
	row(fmt.Sprintf("transformers.js, batch %d", js.batch), jm, jb)
	row("raw ORT, one padded batch", cm, cb)
	row(fmt.Sprintf("raw ORT, %d sorted batches", len(ceiling.sorted)), MedianOf(sortedTimes), best(sortedTimes))
	r.Note("1 query x %d documents of 40-100 words (%d tokens in all, longest pair %d); median of %d interleaved rounds after a warm-up",
		rerankDocs, ceiling.tokens, ceiling.longest, reps)
	r.Note("runner: the whole request (HTTP, JSON, tokenization, batching); raw ORT: the model runs alone on pre-tokenized input,")
	r.Note("  as one batch padded to the longest pair, or sorted by length into batches of at most %d padded tokens", sortedBatchTokens)
	r.Note("transformers.js by batch size (best of 3): %s", strings.Join(tried, ", "))
	r.Note("largest logit difference: runner vs transformers.js %.2g, runner vs raw ORT %.2g",
		maxAbsDiff(ours.logits, js.logits), maxAbsDiff(ours.logits, ceiling.logits))
	return nil
}

// sortedBatchTokens bounds the padded size of the ceiling's length-sorted
// batches.
const sortedBatchTokens = 1024

// rerankCeiling runs the pairs through onnxruntime_go directly, their
// tensors made once: as one padded batch, and as length-sorted batches of
// at most sortedBatchTokens padded tokens.
type rerankCeiling struct {
	rt              *engine.Runtime
	sess            *ort.DynamicAdvancedSession
	one, sorted     []ortBatch
	logits          []float64
	tokens, longest int
}

// ortBatch is one batch's tensors and the pairs it holds, by index.
type ortBatch struct {
	ins   []ort.Value
	out   *ort.Tensor[float32]
	index []int
}

func newRerankCeiling(ctx context.Context, env Env, model string, docs []string) (_ *rerankCeiling, err error) {
	c := &rerankCeiling{logits: make([]float64, len(docs))}
	if c.rt, err = engine.Open(engine.Config{LibraryPath: env.ORTLibrary}); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	tok, err := tokenizer.LoadDir(model)
	if err != nil {
		return nil, err
	}
	pairs := make([][2]string, len(docs))
	for i, d := range docs {
		pairs[i] = [2]string{rerankQuery, d}
	}
	encs, err := tok.EncodePairBatch(ctx, pairs,
		tokenizer.WithTruncationOption(&tokenizer.Truncation{MaxLength: 512, Strategy: tokenizer.OnlySecond}),
		tokenizer.WithPaddingOption(nil))
	if err != nil {
		return nil, err
	}
	all := make([]int, len(encs))
	for i, e := range encs {
		all[i] = i
		c.tokens += e.Len()
		c.longest = max(c.longest, e.Len())
	}
	b, err := newORTBatch(encs, all)
	if err != nil {
		return nil, err
	}
	c.one = []ortBatch{b}
	byLen := slices.Clone(all)
	slices.SortStableFunc(byLen, func(a, b int) int { return encs[a].Len() - encs[b].Len() })
	for start := 0; start < len(byLen); {
		end := start + 1
		for end < len(byLen) && (end-start+1)*encs[byLen[end]].Len() <= sortedBatchTokens {
			end++
		}
		b, err := newORTBatch(encs, byLen[start:end])
		if err != nil {
			return nil, err
		}
		c.sorted = append(c.sorted, b)
		start = end
	}
	c.sess, err = ort.NewDynamicAdvancedSession(filepath.Join(model, "onnx", "model.onnx"),
		[]string{"input_ids", "attention_mask", "token_type_ids"}, []string{"logits"}, nil)
	return c, err
}

// newORTBatch pads the encodings at index into one batch's tensors.
func newORTBatch(encs []*tokenizer.Encoding, index []int) (ortBatch, error) {
	b := ortBatch{index: index}
	T := 0
	for _, i := range index {
		T = max(T, encs[i].Len())
	}
	B := len(index)
	ids, mask, types := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
	for r, i := range index {
		for j, id := range encs[i].IDs {
			ids[r*T+j], mask[r*T+j], types[r*T+j] = int64(id), 1, int64(encs[i].TypeIDs[j])
		}
	}
	for _, d := range [][]int64{ids, mask, types} {
		t, err := ort.NewTensor(ort.NewShape(int64(B), int64(T)), d)
		if err != nil {
			b.destroy()
			return b, err
		}
		b.ins = append(b.ins, t)
	}
	var err error
	if b.out, err = ort.NewEmptyTensor[float32](ort.NewShape(int64(B), 1)); err != nil {
		b.destroy()
	}
	return b, err
}

func (b ortBatch) destroy() {
	for _, v := range b.ins {
		v.Destroy()
	}
	if b.out != nil {
		b.out.Destroy()
	}
}

// run runs the batches of a plan one after the other.
func (c *rerankCeiling) run(plan []ortBatch) (time.Duration, error) {
	start := time.Now()
	for _, b := range plan {
		if err := c.sess.Run(b.ins, []ort.Value{b.out}); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	for _, b := range plan {
		for r, v := range b.out.GetData() {
			c.logits[b.index[r]] = float64(v)
		}
	}
	return d, nil
}

func (c *rerankCeiling) close() {
	if c.sess != nil {
		c.sess.Destroy()
	}
	for _, b := range append(c.one, c.sorted...) {
		b.destroy()
	}
	c.rt.Close()
}

// rerankRunner is runner serve answering /api/rerank.
type rerankRunner struct {
	srv    *runnerServer
	body   map[string]any
	logits []float64
}

func newRerankRunner(ctx context.Context, env Env, work, model string, docs []string) (*rerankRunner, error) {
	srv, err := startRunner(ctx, env, work)
	if err != nil {
		return nil, err
	}
	return &rerankRunner{srv: srv, logits: make([]float64, len(docs)), body: map[string]any{
		"model": model, "query": rerankQuery, "documents": docs, "raw_scores": true, "return_documents": false,
	}}, nil
}

func (o *rerankRunner) run(ctx context.Context) (time.Duration, error) {
	var resp struct {
		Results []struct {
			Index          int     `json:"index"`
			RelevanceScore float64 `json:"relevance_score"`
		} `json:"results"`
	}
	start := time.Now()
	if err := o.srv.post(ctx, "/api/rerank", o.body, &resp); err != nil {
		return 0, err
	}
	d := time.Since(start)
	for _, r := range resp.Results {
		o.logits[r.Index] = r.RelevanceScore
	}
	return d, nil
}

func (o *rerankRunner) close() { o.srv.stop() }

// rerankJS is transformers.js in node, scoring on request.
type rerankJS struct {
	node   *nodeProcess
	batch  int
	logits []float64
}

func newRerankJS(ctx context.Context, env Env, docs []string) (*rerankJS, error) {
	node, err := startNode(ctx, env, rerankScript, env.Fixtures, rerankFixture)
	if err != nil {
		return nil, err
	}
	var ready struct{ Ready bool }
	if err := node.call(map[string]any{"query": rerankQuery, "docs": docs}, &ready); err != nil || !ready.Ready {
		node.close()
		return nil, fmt.Errorf("start: %v", err)
	}
	return &rerankJS{node: node}, nil
}

// score times scoring every document in batches of batch pairs, as node
// measures it, in milliseconds.
func (j *rerankJS) score(batch int) (float64, error) {
	var res struct {
		MS     float64 `json:"ms"`
		Logits []float64
	}
	if err := j.node.call(map[string]any{"batch": batch}, &res); err != nil {
		return 0, err
	}
	j.logits = res.Logits
	return res.MS, nil
}

func (j *rerankJS) close() { j.node.close() }

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(a[i]-b[i]))
	}
	return worst
}
