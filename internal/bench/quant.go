package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"runner/engine"
	"runner/internal/transformersjs"
	"runner/pipeline"
	"runner/quant"
	"runner/quant/validate"
)

// QuantSuite quantises the benchmark fixtures with runner's quantiser and
// measures each variant against float32 in the same run: file size and
// linear weights, what it keeps (embedding cosine on the MiniLM-shaped
// embedder, greedy tokens agreeing on the SmolLM2-shaped decoder), CPU
// speed, and whether transformers.js loads the same file and computes the
// same thing from it.
func QuantSuite() Suite { return Suite{Name: "quant", Run: runQuant} }

// quantSentences are embedded by every embedder variant.
var quantSentences = []string{
	"The quick brown fox jumps over the lazy dog.",
	"A journey of a thousand miles begins with a single step.",
	"Quantisation trades a little precision for a lot of speed.",
	"Where is the nearest train station?",
	"Les modèles quantifiés tiennent dans moins de mémoire.",
}

// quantPrompts are Llama 2 token ids of a few short prompts.
var quantPrompts = [][]int64{
	{1, 450, 7483, 310, 3444},           // The capital of France
	{1, 9038, 2501, 263, 931, 29892},    // Once upon a time,
	{1, 5618, 338, 278, 1900, 982, 304}, // What is the best way to
}

// decodeTokens is how many tokens each decoder variant generates.
const decodeTokens = 20

// quantVariant is one variant the suite makes.
type quantVariant struct {
	label string
	opts  quant.Options
}

func runQuant(ctx context.Context, env Env, r *Report) error {
	work, err := os.MkdirTemp("", "runner-bench-quant-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	rt, err := engine.Open(engine.Config{LibraryPath: env.ORTLibrary})
	if err != nil {
		return err
	}
	defer rt.Close()
	r.Row("model", "variant", "file/fp32", "linear weights/fp32", "vs fp32", "CPU speed vs fp32", "transformers.js")
	if err := benchEmbedder(ctx, env, rt, work, r); err != nil {
		return fmt.Errorf("embedder: %w", err)
	}
	if err := benchDecoder(ctx, env, rt, work, r); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	r.Note("embedder: cosine of mean-pooled, normalised embeddings of %d sentences (lowest); speed: engine runs at batch 8 x 128 tokens, medians of interleaved runs", len(quantSentences))
	r.Note("decoder: greedy = tokens agreeing with float32 before the first difference, over %d tokens, mean of %d prompts; next token = how often the variant picks float32's next token after float32's own text (teacher forcing); speed: decode tokens per second (KV cache)", decodeTokens, len(quantPrompts))
	r.Note("transformers.js: the same file loaded by dtype; cosine to runner's embeddings, or tokens agreeing with runner's greedy choice")
	return nil
}

// linkRepo makes a repo directory under work whose files link to a
// fixture's, with onnx/ a directory of its own for the variants.
func linkRepo(fixture, work, name string) (string, error) {
	dir := filepath.Join(work, name)
	err := filepath.WalkDir(fixture, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixture, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		return os.Symlink(p, filepath.Join(dir, rel))
	})
	return dir, err
}

// makeVariant quantises the repo's float32 graph into onnx/FILE.
func makeVariant(ctx context.Context, dir string, v quantVariant) (string, *quant.Report, error) {
	src := filepath.Join(dir, "onnx", "model.onnx")
	dst := filepath.Join(dir, "onnx", v.opts.Variant.FileName("model"))
	rep, err := quant.QuantizeFile(ctx, src, dst, v.opts)
	return dst, rep, err
}

// linearRatio is the linear layers' weights after over before; fp16
// converts every weight alike, so its ratio is that of all weights.
func linearRatio(rep *quant.Report) string {
	if c, ok := rep.Rewritten["MatMul"]; ok {
		return fmt.Sprintf("%.3f", c.Ratio())
	}
	return fmt.Sprintf("%.3f (all)", float64(rep.WeightBytesAfter)/float64(rep.WeightBytesBefore))
}

func sizeRatio(a, b string) string {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", float64(sa.Size())/float64(sb.Size()))
}

func benchEmbedder(ctx context.Context, env Env, rt *engine.Runtime, work string, r *Report) error {
	const name = "minilm-l6-bench"
	dir, err := linkRepo(filepath.Join(env.Fixtures, name), work, name)
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "onnx", "model.onnx")
	want, err := embedWith(ctx, rt, dir, src)
	if err != nil {
		return err
	}
	variants := []quantVariant{
		{"q8", quant.DefaultOptions(quant.Q8, "bert")},
		{"q4", quant.DefaultOptions(quant.Q4, "bert")},
		{"fp16", quant.DefaultOptions(quant.FP16, "bert")},
	}
	for _, v := range variants {
		dst, rep, err := makeVariant(ctx, dir, v)
		if err != nil {
			return err
		}
		got, err := embedWith(ctx, rt, dir, dst)
		if err != nil {
			return err
		}
		speed, err := speedRatio(ctx, rt, src, dst, env.Quick)
		if err != nil {
			return err
		}
		js := "-"
		if v.label != "fp16" {
			vecs, err := transformersjs.Embed(ctx, env.NodeDir, work, name, v.label, quantSentences)
			if err != nil {
				return err
			}
			js = fmt.Sprintf("loads; cosine %.5f", lowestCosine(got, vecs))
		}
		r.Row(name, v.label, sizeRatio(dst, src), linearRatio(rep),
			fmt.Sprintf("cosine %.5f", lowestCosine(want, got)), speed, js)
	}
	return nil
}

// embedWith embeds quantSentences with graph, the repo's tokenizer and
// pooling.
func embedWith(ctx context.Context, rt *engine.Runtime, dir, graph string) ([][]float32, error) {
	m, err := pipeline.Load(ctx, pipeline.LoadConfig{Name: filepath.Base(graph), Dir: dir, Graphs: []string{graph}, Runtime: rt})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	e, err := m.Embed(ctx, quantSentences, pipeline.EmbedOptions{})
	if err != nil {
		return nil, err
	}
	return e.Vectors, nil
}

func lowestCosine(a, b [][]float32) float64 {
	lowest := 1.0
	for i := range a {
		var dot, aa, bb float64
		for j := range a[i] {
			dot += float64(a[i][j]) * float64(b[i][j])
			aa += float64(a[i][j]) * float64(a[i][j])
			bb += float64(b[i][j]) * float64(b[i][j])
		}
		lowest = min(lowest, dot/math.Sqrt(aa*bb))
	}
	return lowest
}

// speedRatio times engine runs of the float32 and the variant graph on
// the same inputs, interleaved, and returns fp32 time / variant time.
func speedRatio(ctx context.Context, rt *engine.Runtime, ref, variant string, quick bool) (string, error) {
	reps := 15
	if quick {
		reps = 3
	}
	var sessions []*engine.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for _, p := range []string{ref, variant} {
		s, err := rt.NewSession(ctx, p, engine.SessionOptions{})
		if err != nil {
			return "", err
		}
		sessions = append(sessions, s)
	}
	in, err := validate.Samples(sessions[0].Info().Inputs, validate.Options{Batch: 8, Sequence: 128, Vocab: 30000})
	if err != nil {
		return "", err
	}
	times := make([][]time.Duration, 2)
	for i := range reps + 1 {
		for j, s := range sessions {
			start := time.Now()
			if _, err := s.Run(ctx, in, nil); err != nil {
				return "", err
			}
			if i > 0 {
				times[j] = append(times[j], time.Since(start))
			}
		}
	}
	a, b := MedianOf(times[0]), MedianOf(times[1])
	return fmt.Sprintf("%s (%v vs %v)", Ratio(float64(a), float64(b)), a.Round(time.Millisecond), b.Round(time.Millisecond)), nil
}

func benchDecoder(ctx context.Context, env Env, rt *engine.Runtime, work string, r *Report) error {
	const name = "smollm2-135m-bench"
	dir, err := linkRepo(filepath.Join(env.Fixtures, name), work, name)
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "onnx", "model.onnx")
	q4fast := quant.DefaultOptions(quant.Q4, "llama")
	q4fast.AccuracyLevel = 4
	variants := []quantVariant{
		{"q8", quant.DefaultOptions(quant.Q8, "llama")},
		{"q4", quant.DefaultOptions(quant.Q4, "llama")},
		{"q4 (accuracy level 4)", q4fast},
		{"fp16", quant.DefaultOptions(quant.FP16, "llama")},
	}
	var forced, wantNext [][]int64
	for _, v := range variants {
		dst, rep, err := makeVariant(ctx, dir, v)
		if err != nil {
			return err
		}
		d, err := decodeBoth(ctx, rt, src, dst, env.Quick)
		if err != nil {
			return err
		}
		if forced == nil {
			// Teacher forcing: each prompt followed by float32's own
			// tokens, and the next token float32 picks after each prefix.
			for i, p := range quantPrompts {
				seq := append(append([]int64(nil), p...), d.want[i]...)
				next, err := validate.NextTokens(ctx, rt, src, seq, 0, 0, engine.SessionOptions{})
				if err != nil {
					return err
				}
				forced = append(forced, seq)
				wantNext = append(wantNext, next[len(p)-1:len(seq)-1])
			}
		}
		agree, next := 0, 0.0
		for i := range d.want {
			agree += validate.CommonPrefix(d.want[i], d.got[i])
			n, err := validate.NextTokens(ctx, rt, dst, forced[i], 0, 0, engine.SessionOptions{})
			if err != nil {
				return err
			}
			next += validate.Agreement(wantNext[i], n[len(quantPrompts[i])-1:len(forced[i])-1])
		}
		logits := "n/a"
		if res, err := validate.Compare(ctx, rt, src, dst, validate.Options{Vocab: 32000}); err == nil {
			if o, ok := res.Output("logits"); ok {
				logits = fmt.Sprintf("%.3f", o.Cosine)
			}
		}
		js := "-"
		if v.label == "q4" || v.label == "q8" {
			ids, err := transformersjs.Generate(ctx, env.NodeDir, work, name, v.label, quantPrompts[0], decodeTokens)
			if err != nil {
				return err
			}
			js = fmt.Sprintf("loads; %d/%d tokens as runner", validate.CommonPrefix(ids, d.got[0]), decodeTokens)
		}
		r.Row(name, v.label, sizeRatio(dst, src), linearRatio(rep),
			fmt.Sprintf("greedy %.1f/%d, next token %.0f%%, logits cosine %s", float64(agree)/float64(len(d.want)), decodeTokens, 100*next/float64(len(d.want)), logits),
			fmt.Sprintf("%s (%.0f vs %.0f tok/s)", Ratio(d.gotSpeed, d.wantSpeed), d.gotSpeed, d.wantSpeed), js)
		// The next variant's file replaces this one's on disk: drop it.
		for _, p := range append([]string{dst}, rep.ExternalData...) {
			os.Remove(p)
		}
	}
	return nil
}

// decoded is what decodeBoth measured: each prompt's greedy tokens from
// float32 (want) and the variant (got), and decode speeds in tokens per
// second.
type decoded struct {
	want, got           [][]int64
	wantSpeed, gotSpeed float64
}

// decodeBoth generates decodeTokens greedily after each prompt with the
// float32 decoder and the variant, alternating between them so that both
// see the same machine, and measures decode speed (median time of the
// steps after the prompt).
func decodeBoth(ctx context.Context, rt *engine.Runtime, ref, variant string, quick bool) (*decoded, error) {
	var decs []*engine.Decoder
	for _, p := range []string{ref, variant} {
		sess, err := rt.NewSession(ctx, p, engine.SessionOptions{})
		if err != nil {
			return nil, err
		}
		defer sess.Close()
		spec, err := engine.InspectDecoder(sess, 0, 0)
		if err != nil {
			return nil, err
		}
		decs = append(decs, engine.NewDecoder(sess, spec))
	}
	reps := 3
	if quick {
		reps = 1
	}
	out := &decoded{}
	steps := make([][]time.Duration, 2)
	for _, prompt := range quantPrompts {
		for rep := range reps {
			for k, dec := range decs {
				tokens, step, err := greedyTimed(ctx, dec, prompt)
				if err != nil {
					return nil, err
				}
				steps[k] = append(steps[k], step)
				if rep > 0 {
					continue
				}
				if k == 0 {
					out.want = append(out.want, tokens)
				} else {
					out.got = append(out.got, tokens)
				}
			}
		}
	}
	out.wantSpeed = float64(time.Second) / float64(MedianOf(steps[0]))
	out.gotSpeed = float64(time.Second) / float64(MedianOf(steps[1]))
	return out, nil
}

// greedyTimed generates decodeTokens after prompt and returns them with
// the mean time of a decode step (the prompt's step left out).
func greedyTimed(ctx context.Context, dec *engine.Decoder, prompt []int64) ([]int64, time.Duration, error) {
	cache := dec.NewCache()
	if err := cache.AddEmptyRows(1); err != nil {
		return nil, 0, err
	}
	tokens := make([]int64, 0, decodeTokens)
	step := [][]int64{prompt}
	var elapsed time.Duration
	for i := range decodeTokens {
		start := time.Now()
		logits, err := dec.Step(ctx, cache, step)
		if err != nil {
			return nil, 0, err
		}
		if i > 0 {
			elapsed += time.Since(start)
		}
		next := int64(0)
		for j, x := range logits {
			if x > logits[next] {
				next = int64(j)
			}
		}
		tokens = append(tokens, next)
		step = [][]int64{{next}}
	}
	return tokens, elapsed / time.Duration(decodeTokens-1), nil
}
