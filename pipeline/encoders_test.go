package pipeline_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/pipeline"
	"runner/tokenizer"
)

//go:embed testdata/encoders.mjs
var encodersScript string

// transformersJS runs testdata/encoders.mjs on a fixture and decodes its
// answer into out.
func transformersJS(t *testing.T, name string, req map[string]any, out any) {
	t.Helper()
	transformersJSAt(t, fixtures.Dir(t, name), req, out)
}

// transformersJSAt runs testdata/encoders.mjs on the model in dir.
func transformersJSAt(t *testing.T, dir string, req map[string]any, out any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	b := testenv.Node(t, encodersScript, in, filepath.Dir(dir), filepath.Base(dir))
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("transformers.js answer %s: %v", b, err)
	}
}

// maxDiff tracks the largest difference seen and fails beyond tol.
type maxDiff struct {
	t     *testing.T
	tol   float64
	worst float64
}

func (d *maxDiff) check(what string, got, want float64) {
	d.t.Helper()
	diff := math.Abs(got - want)
	d.worst = math.Max(d.worst, diff)
	if diff > d.tol || math.IsNaN(got) {
		d.t.Errorf("%s: got %.7f, transformers.js %.7f", what, got, want)
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

var rerankDocs = []string{
	"A cat is a small domesticated carnivorous mammal.",
	"Paris is the capital of France.",
	"Les chats dorment beaucoup, environ seize heures par jour.",
	"東京は日本の首都です。",
	"The quick brown fox jumps over the lazy dog.",
	"cats cats cats",
	"Numbers 12345 and 3.14159 and emoji 👍🏽",
}

func TestRerankMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTReranker)
	query := "what do cats do all day?"
	queries := make([]string, len(rerankDocs))
	for i := range queries {
		queries[i] = query
	}
	var ref struct{ Logits [][]float64 }
	transformersJS(t, fixtures.TinyBERTReranker, map[string]any{"task": "cross-encoder", "texts": queries, "pairs": rerankDocs}, &ref)

	ctx := context.Background()
	raw, err := m.Rerank(ctx, query, rerankDocs, pipeline.RerankOptions{Truncate: true, RawScores: true})
	if err != nil {
		t.Fatal(err)
	}
	scored, err := m.Rerank(ctx, query, rerankDocs, pipeline.RerankOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Results) != len(rerankDocs) || raw.Tokens == 0 {
		t.Fatalf("%d results, %d tokens", len(raw.Results), raw.Tokens)
	}
	d := &maxDiff{t: t, tol: 1e-4}
	for k, r := range raw.Results {
		d.check("logit of document "+rerankDocs[r.Index], r.Score, ref.Logits[r.Index][0])
		if k > 0 && r.Score > raw.Results[k-1].Score {
			t.Errorf("result %d scores above result %d", k, k-1)
		}
		s := scored.Results[k]
		if s.Index != r.Index {
			t.Fatalf("sigmoid scores rank differently from logits at %d", k)
		}
		d.check("score of document "+rerankDocs[s.Index], s.Score, sigmoid(ref.Logits[s.Index][0]))
	}
	t.Logf("rerank: largest difference from transformers.js over %d pairs: %.2g", len(rerankDocs), d.worst)

	// One request per document scores the same as the batch.
	for _, r := range raw.Results {
		one, err := m.Rerank(ctx, query, rerankDocs[r.Index:r.Index+1], pipeline.RerankOptions{Truncate: true, RawScores: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := math.Abs(one.Results[0].Score - r.Score); diff > 1e-5 {
			t.Errorf("document %d: single and batched differ by %g", r.Index, diff)
		}
	}

	top, err := m.Rerank(ctx, query, rerankDocs, pipeline.RerankOptions{Truncate: true, TopN: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Results) != 3 || top.Results[0] != scored.Results[0] || top.Results[2] != scored.Results[2] {
		t.Fatalf("top 3 = %v, want the first three of %v", top.Results, scored.Results)
	}
}

// A document too long for the model loses its tail, and the query is kept
// whole: the score equals that of the document cut to what fits.
func TestRerankTruncatesTheDocument(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTReranker)
	ctx := context.Background()
	query := "is this a long document about words?"
	long := strings.Repeat("word ", 2*m.ContextLength())
	if _, err := m.Rerank(ctx, query, []string{long}, pipeline.RerankOptions{}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("too long without truncation: %v", err)
	}
	got, err := m.Rerank(ctx, query, []string{long}, pipeline.RerankOptions{Truncate: true, RawScores: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tokens != m.ContextLength() {
		t.Fatalf("truncated pair of %d tokens, want %d", got.Tokens, m.ContextLength())
	}
	enc, err := m.Tokenizer().Encode(query, tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil))
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] query [SEP] word... [SEP]: each "word" is one token.
	kept := strings.TrimSpace(strings.Repeat("word ", m.ContextLength()-enc.Len()-1))
	var ref struct{ Logits [][]float64 }
	transformersJS(t, fixtures.TinyBERTReranker, map[string]any{"task": "cross-encoder", "texts": []string{query}, "pairs": []string{kept}}, &ref)
	d := &maxDiff{t: t, tol: 1e-4}
	d.check("truncated document", got.Results[0].Score, ref.Logits[0][0])
}

var classifyTexts = []string{
	"I love this film, it is wonderful!",
	"Terrible service and cold food.",
	"Un café très chaud, s'il vous plaît.",
	"東京は日本の首都です。",
	"emoji 👍🏽 and flags 🇫🇷",
	"a",
	strings.Repeat("long text ", 40),
}

func TestClassifyMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTClassifier)
	var ref struct {
		Results [][]struct {
			Label string
			Score float64
		}
	}
	transformersJS(t, fixtures.TinyBERTClassifier, map[string]any{"task": "text-classification", "texts": classifyTexts}, &ref)
	ctx := context.Background()
	got, err := m.Classify(ctx, classifyTexts, pipeline.ClassifyOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	d := &maxDiff{t: t, tol: 1e-4}
	for i, want := range ref.Results {
		if len(got.Results[i]) != len(want) {
			t.Fatalf("text %d: %d labels, want %d", i, len(got.Results[i]), len(want))
		}
		for k, w := range want {
			g := got.Results[i][k]
			if g.Label != w.Label {
				t.Errorf("text %d rank %d: label %s, transformers.js %s", i, k, g.Label, w.Label)
			}
			d.check(classifyTexts[i]+" "+w.Label, g.Score, w.Score)
		}
		one, err := m.Classify(ctx, classifyTexts[i:i+1], pipeline.ClassifyOptions{Truncate: true, TopK: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(one.Results[0]) != 1 || one.Results[0][0].Label != got.Results[i][0].Label || math.Abs(one.Results[0][0].Score-got.Results[i][0].Score) > 1e-5 {
			t.Errorf("text %d: single top-1 %v, batched %v", i, one.Results[0], got.Results[i])
		}
	}
	t.Logf("classify: largest difference from transformers.js over %d texts: %.2g", len(classifyTexts), d.worst)

	// Sigmoid and raw logits agree with softmax on the ranking; for two
	// classes, softmax is the sigmoid of the logits' difference.
	logits, err := m.Classify(ctx, classifyTexts[:1], pipeline.ClassifyOptions{Function: pipeline.ScoreNone})
	if err != nil {
		t.Fatal(err)
	}
	l := logits.Results[0]
	if p := sigmoid(l[0].Score - l[1].Score); math.Abs(p-got.Results[0][0].Score) > 1e-6 || l[0].Label != got.Results[0][0].Label {
		t.Errorf("softmax %v is not the sigmoid of the logits %v", got.Results[0], l)
	}
	sig, err := m.Classify(ctx, classifyTexts[:1], pipeline.ClassifyOptions{Function: pipeline.ScoreSigmoid})
	if err != nil {
		t.Fatal(err)
	}
	if s := sig.Results[0][1]; math.Abs(s.Score-sigmoid(l[1].Score)) > 1e-9 || s.Label != l[1].Label {
		t.Errorf("sigmoid %v of logits %v", sig.Results[0], l)
	}
}

// A multi-label classifier (problem_type multi_label_classification)
// scores each label with a sigmoid, as transformers and transformers.js do.
func TestClassifyMultiLabel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "multi-label")
	if err := os.CopyFS(dir, os.DirFS(fixtures.Dir(t, fixtures.TinyBERTClassifier))); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.json")
	var cfg map[string]any
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["problem_type"] = "multi_label_classification"
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := loadModelDir(t, dir)
	var ref struct {
		Results [][]struct {
			Label string
			Score float64
		}
	}
	transformersJSAt(t, dir, map[string]any{"task": "text-classification", "texts": classifyTexts}, &ref)
	got, err := m.Classify(context.Background(), classifyTexts, pipeline.ClassifyOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	d := &maxDiff{t: t, tol: 1e-4}
	for i, want := range ref.Results {
		sum := 0.0
		for k, w := range want {
			g := got.Results[i][k]
			if g.Label != w.Label {
				t.Errorf("text %d rank %d: label %s, transformers.js %s", i, k, g.Label, w.Label)
			}
			d.check(w.Label, g.Score, w.Score)
			sum += g.Score
		}
		if math.Abs(sum-1) < 1e-6 {
			t.Errorf("text %d: multi-label scores %v sum to 1, as a softmax would", i, got.Results[i])
		}
	}
	t.Logf("multi-label classify: largest difference from transformers.js: %.2g", d.worst)
}

// A single-logit model (a cross-encoder) classifies with a sigmoid, as
// transformers does for num_labels 1.
func TestClassifySingleLogitIsSigmoid(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTReranker)
	ctx := context.Background()
	got, err := m.Classify(ctx, []string{"hello"}, pipeline.ClassifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.Classify(ctx, []string{"hello"}, pipeline.ClassifyOptions{Function: pipeline.ScoreNone})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Results[0][0]; g.Label != "LABEL_0" || math.Abs(g.Score-sigmoid(raw.Results[0][0].Score)) > 1e-9 {
		t.Fatalf("single logit: %v, logits %v", got.Results[0], raw.Results[0])
	}
}

func TestZeroShotMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNLI)
	texts := []string{
		"I want to buy a new phone with a better camera.",
		"The match ended in a draw after extra time.",
		"Nous partons en vacances à la mer demain.",
	}
	cases := []struct {
		name     string
		labels   []string
		multi    bool
		template string
	}{
		{"softmax across labels", []string{"shopping", "travel", "sports", "cooking"}, false, ""},
		{"multi-label", []string{"shopping", "travel", "sports", "cooking"}, true, ""},
		{"one label", []string{"travel"}, false, ""},
		{"template", []string{"happy", "sad"}, false, "The writer of this is {}."},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ref struct {
				Results []struct {
					Labels []string
					Scores []float64
				}
			}
			transformersJS(t, fixtures.TinyBERTNLI, map[string]any{
				"task": "zero-shot-classification", "texts": texts, "labels": c.labels,
				"multi_label": c.multi, "hypothesis_template": c.template,
			}, &ref)
			got, err := m.ZeroShot(ctx, texts, c.labels, pipeline.ZeroShotOptions{MultiLabel: c.multi, HypothesisTemplate: c.template, Truncate: true})
			if err != nil {
				t.Fatal(err)
			}
			d := &maxDiff{t: t, tol: 1e-4}
			for i, want := range ref.Results {
				for k := range want.Labels {
					g := got.Results[i][k]
					if g.Label != want.Labels[k] {
						t.Errorf("text %d rank %d: %s, transformers.js %s", i, k, g.Label, want.Labels[k])
					}
					d.check(want.Labels[k], g.Score, want.Scores[k])
				}
			}
			t.Logf("zero-shot %s: largest difference from transformers.js: %.2g", c.name, d.worst)

			// Each text alone gives what the batch gave.
			one, err := m.ZeroShot(ctx, texts[1:2], c.labels, pipeline.ZeroShotOptions{MultiLabel: c.multi, HypothesisTemplate: c.template, Truncate: true})
			if err != nil {
				t.Fatal(err)
			}
			for k, g := range one.Results[0] {
				if b := got.Results[1][k]; g.Label != b.Label || math.Abs(g.Score-b.Score) > 1e-5 {
					t.Errorf("single %v, batched %v", one.Results[0], got.Results[1])
				}
			}
		})
	}
	if _, err := m.ZeroShot(ctx, texts, []string{"a"}, pipeline.ZeroShotOptions{HypothesisTemplate: "no placeholder"}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Errorf("template without {}: %v", err)
	}
	if _, err := m.ZeroShot(ctx, texts, nil, pipeline.ZeroShotOptions{}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Errorf("no labels: %v", err)
	}
}

// A text too long for the model loses its tail and the hypothesis is kept
// whole, as transformers truncates zero-shot pairs (only_first).
func TestZeroShotTruncatesTheText(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNLI)
	ctx := context.Background()
	labels := []string{"words", "numbers"}
	long := strings.Repeat("word ", 2*m.ContextLength())
	if _, err := m.ZeroShot(ctx, []string{long}, labels, pipeline.ZeroShotOptions{}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("too long without truncation: %v", err)
	}
	got, err := m.ZeroShot(ctx, []string{long}, labels, pipeline.ZeroShotOptions{Truncate: true, MultiLabel: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tokens != 2*m.ContextLength() {
		t.Fatalf("two truncated pairs of %d tokens in all, want %d", got.Tokens, 2*m.ContextLength())
	}
	noPad := []tokenizer.EncodeOption{tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil)}
	// Both hypotheses are as long in tokens ("This example is words.").
	hyp, err := m.Tokenizer().Encode("This example is words.", noPad...)
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] word... [SEP] hypothesis [SEP]: hyp already holds two specials.
	kept := strings.TrimSpace(strings.Repeat("word ", m.ContextLength()-hyp.Len()-1))
	var ref struct {
		Results []struct {
			Labels []string
			Scores []float64
		}
	}
	transformersJS(t, fixtures.TinyBERTNLI, map[string]any{
		"task": "zero-shot-classification", "texts": []string{kept}, "labels": labels, "multi_label": true,
	}, &ref)
	d := &maxDiff{t: t, tol: 1e-4}
	for k, l := range ref.Results[0].Labels {
		if got.Results[0][k].Label != l {
			t.Fatalf("labels %v, transformers.js %v", got.Results[0], ref.Results[0].Labels)
		}
		d.check(l, got.Results[0][k].Score, ref.Results[0].Scores[k])
	}
}
