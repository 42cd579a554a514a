package pipeline_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"runner/internal/fixtures"
	"runner/pipeline"
)

// nerTexts avoid characters the vocabulary lacks: transformers.js drops
// unknown tokens, transformers keeps them (see TestTokenClassificationUnknown).
var nerTexts = []string{
	"My name is Sarah Connor and I live in London, unbelievably.",
	"Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
	"Café Zürich serves crème brûlée near the Hauptbahnhof.",
	"東京は日本の中心です。",
	"Apple Inc. hired John Smith-Jones from Microsoft Corporation!",
	"ok",
}

type jsEntity struct {
	Entity      string
	EntityGroup string `json:"entity_group"`
	Score       float64
	Index       int
	Word        string
}

func nerReference(t *testing.T, agg string, ignore []string) [][]jsEntity {
	t.Helper()
	var ref struct{ Results [][]jsEntity }
	transformersJS(t, fixtures.TinyBERTNER, map[string]any{
		"task": "token-classification", "texts": nerTexts, "aggregation_strategy": agg, "ignore_labels": ignore,
	}, &ref)
	return ref.Results
}

func TestTokenClassificationMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNER)
	ctx := context.Background()
	cases := []struct {
		name   string
		agg    pipeline.Aggregation
		ignore []string
	}{
		{"none", pipeline.AggregateNone, nil},
		{"none, every label", pipeline.AggregateNone, []string{}},
		{"simple", pipeline.AggregateSimple, nil},
		{"simple, every label", pipeline.AggregateSimple, []string{}},
	}
	// transformers.js drops ignored tokens before grouping them,
	// transformers after: ask it for every label and drop O groups here,
	// which is what transformers answers.
	refs := map[pipeline.Aggregation][][]jsEntity{
		pipeline.AggregateNone:   nerReference(t, "none", []string{}),
		pipeline.AggregateSimple: nerReference(t, "simple", []string{}),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := refs[c.agg]
			got, err := m.ClassifyTokens(ctx, nerTexts, pipeline.TokenOptions{Aggregation: c.agg, IgnoreLabels: c.ignore, Truncate: true})
			if err != nil {
				t.Fatal(err)
			}
			if got.Aggregated != (c.agg != pipeline.AggregateNone) {
				t.Fatalf("aggregated = %v", got.Aggregated)
			}
			d := &maxDiff{t: t, tol: 1e-4}
			for i, text := range nerTexts {
				var want []jsEntity
				for _, e := range ref[i] {
					label := e.Entity + e.EntityGroup
					if c.ignore == nil && label == "O" {
						continue
					}
					want = append(want, e)
				}
				if len(got.Results[i]) != len(want) {
					t.Fatalf("text %d: %d entities %+v, transformers.js %d %+v", i, len(got.Results[i]), got.Results[i], len(want), want)
				}
				runes := []rune(text)
				for k, w := range want {
					g := got.Results[i][k]
					label := w.Entity + w.EntityGroup
					if g.Label != label || g.Word != w.Word || (c.agg == pipeline.AggregateNone && g.Index != w.Index) {
						t.Errorf("text %d entity %d: %+v, transformers.js %+v", i, k, g, w)
					}
					d.check(text+" "+w.Word, g.Score, w.Score)
					// Offsets are characters of the text, and the text there
					// spells the word (up to case, accents and ##).
					if g.Start < 0 || g.End > len(runes) || g.Start >= g.End {
						t.Fatalf("%q: offsets %d:%d", w.Word, g.Start, g.End)
					}
					span := strings.ToLower(string(runes[g.Start:g.End]))
					word := strings.ReplaceAll(strings.TrimPrefix(g.Word, "##"), " ", "")
					if isASCII(text) && strings.ReplaceAll(span, " ", "") != word {
						t.Errorf("text %d: %q spans %q", i, g.Word, span)
					}
				}
			}
			t.Logf("token classification %s: largest difference from transformers.js: %.2g", c.name, d.worst)
		})
	}

	// Each text alone gives what the batch gave.
	all, err := m.ClassifyTokens(ctx, nerTexts, pipeline.TokenOptions{IgnoreLabels: []string{}, Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nerTexts {
		one, err := m.ClassifyTokens(ctx, nerTexts[i:i+1], pipeline.TokenOptions{IgnoreLabels: []string{}, Truncate: true})
		if err != nil {
			t.Fatal(err)
		}
		for k, e := range one.Results[0] {
			if b := all.Results[i][k]; e.Label != b.Label || e.Word != b.Word || math.Abs(e.Score-b.Score) > 1e-5 {
				t.Fatalf("text %d: single %+v, batched %+v", i, e, b)
			}
		}
	}
}

// Word strategies cover whole words: every entity starts where a word
// starts and ends where one ends, and "first" takes each word's label from
// its first token.
func TestTokenClassificationWordStrategies(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNER)
	ctx := context.Background()
	text := "Unbelievably, Zürich hosts Hauptbahnhof events."
	tokens, err := m.ClassifyTokens(ctx, []string{text}, pipeline.TokenOptions{IgnoreLabels: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	words := map[int]int{} // word start → word end, in characters
	firstLabel := map[int]string{}
	last := -1
	for _, e := range tokens.Results[0] {
		if !strings.HasPrefix(e.Word, "##") {
			last = e.Start
			firstLabel[last] = e.Label
		}
		words[last] = e.End
	}
	for _, agg := range []pipeline.Aggregation{pipeline.AggregateFirst, pipeline.AggregateAverage, pipeline.AggregateMax} {
		got, err := m.ClassifyTokens(ctx, []string{text}, pipeline.TokenOptions{Aggregation: agg, IgnoreLabels: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got.Results[0] {
			if _, ok := words[e.Start]; !ok || e.Index != -1 {
				t.Errorf("%s: %+v does not start a word", agg, e)
			}
			if agg == pipeline.AggregateFirst {
				if _, tag, _ := strings.Cut(firstLabel[e.Start], "-"); tag != e.Label && firstLabel[e.Start] != e.Label {
					t.Errorf("first: %+v, but its first token is %s", e, firstLabel[e.Start])
				}
			}
		}
	}
	if _, err := m.ClassifyTokens(ctx, []string{text}, pipeline.TokenOptions{Aggregation: "longest"}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Errorf("unknown strategy: %v", err)
	}
	if _, err := m.Classify(ctx, []string{text}, pipeline.ClassifyOptions{}); !errors.Is(err, pipeline.ErrWrongTask) {
		t.Errorf("sequence classification on a token classifier: %v", err)
	}
}

// An unknown token keeps its text as its word, as transformers does, with
// offsets in characters (an emoji is one, though two UTF-16 units).
func TestTokenClassificationUnknown(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNER)
	got, err := m.ClassifyTokens(context.Background(), []string{"I like 🙂 a lot"}, pipeline.TokenOptions{IgnoreLabels: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, e := range got.Results[0] {
		words = append(words, e.Word)
		if e.Word == "🙂" && (e.Start != 7 || e.End != 8 || e.Index != 3) {
			t.Errorf("unknown token %+v, want offsets 7:8 at index 3", e)
		}
	}
	if strings.Join(words, " ") != "i like 🙂 a lot" {
		t.Fatalf("words %q", words)
	}
}

func isASCII(s string) bool {
	for _, r := range s {
		if r > 127 {
			return false
		}
	}
	return true
}

// TestTokenClassificationStride labels a text three windows long: every
// token is labelled once, in order, and as the window that owns it labels
// it when that window's text runs alone.
func TestTokenClassificationStride(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTNER)
	ctx := context.Background()
	every := pipeline.TokenOptions{IgnoreLabels: []string{}, Truncate: true}
	// Words that are one token each, so a window's text is its words.
	var words []string
	for _, w := range strings.Fields("my name is and i live in met on the from serves near hired london paris sarah tuesday apple") {
		r, err := m.ClassifyTokens(ctx, []string{w}, every)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Results[0]) == 1 {
			words = append(words, w)
		}
	}
	if len(words) < 4 {
		t.Fatalf("only %d one-token words: %q", len(words), words)
	}
	size := m.ContextLength() - 2 // [CLS] text [SEP]
	const stride = 32             // even: no token sits in two windows' middles alike
	text := make([]string, 2*size+57)
	for i := range text {
		text[i] = words[(i*7+i/3)%len(words)]
	}

	// Short texts: a stride changes nothing.
	short, err := m.ClassifyTokens(ctx, nerTexts, every)
	if err != nil {
		t.Fatal(err)
	}
	strided, err := m.ClassifyTokens(ctx, nerTexts, pipeline.TokenOptions{IgnoreLabels: []string{}, Stride: stride})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nerTexts {
		if len(strided.Results[i]) != len(short.Results[i]) {
			t.Fatalf("text %d: %d entities with a stride, %d without", i, len(strided.Results[i]), len(short.Results[i]))
		}
		for k, e := range strided.Results[i] {
			if b := short.Results[i][k]; e.Label != b.Label || e.Index != b.Index || math.Abs(e.Score-b.Score) > 1e-6 {
				t.Fatalf("text %d: %+v with a stride, %+v without", i, e, b)
			}
		}
	}

	got, err := m.ClassifyTokens(ctx, []string{strings.Join(text, " ")}, pipeline.TokenOptions{IgnoreLabels: []string{}, Stride: stride})
	if err != nil {
		t.Fatal(err)
	}
	ents := got.Results[0]
	if len(ents) != len(text) {
		t.Fatalf("%d of %d words labelled", len(ents), len(text))
	}
	// The windows as transformers cuts them, each run alone.
	type window struct{ start, end int }
	var windows []window
	var alone []string
	for start := 0; ; start += size - stride {
		end := min(start+size, len(text))
		windows = append(windows, window{start, end})
		alone = append(alone, strings.Join(text[start:end], " "))
		if end == len(text) {
			break
		}
	}
	if len(windows) != 3 {
		t.Fatalf("%d windows", len(windows))
	}
	each, err := m.ClassifyTokens(ctx, alone, every)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for q, e := range ents {
		if e.Word != text[q] || e.Index != q+1 || e.Start < pos {
			t.Fatalf("entity %d is %+v, want the word %q after offset %d", q, e, text[q], pos)
		}
		pos = e.End
		// The owner sees most context on the token's less-seen side (the
		// text's own ends are not cuts).
		best, owner := -1, 0
		for k, w := range windows {
			if q < w.start || q >= w.end {
				continue
			}
			left, right := q-w.start, w.end-1-q
			if w.start == 0 {
				left = len(text)
			}
			if w.end == len(text) {
				right = len(text)
			}
			if c := min(left, right); c > best {
				best, owner = c, k
			}
		}
		want := each.Results[owner][q-windows[owner].start]
		if e.Label != want.Label || math.Abs(e.Score-want.Score) > 1e-5 {
			t.Fatalf("word %d: %s %.6f; its window alone: %s %.6f", q, e.Label, e.Score, want.Label, want.Score)
		}
	}
	if got.Tokens != len(text)+2*stride+3*2 {
		t.Errorf("%d tokens run, want %d", got.Tokens, len(text)+2*stride+3*2)
	}

	// Aggregation works across the windows' seams as within one.
	groups, err := m.ClassifyTokens(ctx, []string{strings.Join(text, " ")}, pipeline.TokenOptions{Aggregation: pipeline.AggregateSimple, Stride: stride})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.Results[0]) == 0 {
		t.Fatal("no groups")
	}
	if _, err := m.ClassifyTokens(ctx, []string{strings.Join(text, " ")}, pipeline.TokenOptions{Stride: size}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("a stride as long as the window: %v", err)
	}
}
