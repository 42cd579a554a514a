package pipeline_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/pipeline"
)

//go:embed testdata/embed.mjs
var embedScript string

// corpus mixes scripts, accents, CJK, emoji (with ZWJ sequences), control
// characters and whitespace runs, all within the tiny embedder's 128 tokens.
var corpus = []string{
	"Hello world!",
	"The quick brown fox jumps over the lazy dog.",
	"Un café très chaud, s'il vous plaît. Ça va?",
	"Ünïcödé àccents: naïve façade, Øresund, Straße",
	"東京は日本の首都です。",
	"北京欢迎你",
	"서울은 한국의 수도입니다",
	"emoji 👍🏽 and a family 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵",
	"control\tcharacters\u0000and\u0007bells\r\nnew lines",
	"   leading and    repeated     spaces   ",
	"Числа 12345 и 3.14159, 1e-9",
	"func main() { fmt.Println(\"hi\") } // code",
	"a",
	"Ελληνικά κείμενα με τόνους",
	"مرحبا بالعالم",
	"supercalifragilisticexpialidocious antidisestablishmentarianism",
}

// loadFixture loads a fixture model through the pipeline.
func loadFixture(t *testing.T, name string) *pipeline.Model {
	t.Helper()
	return loadModelDir(t, fixtures.Dir(t, name))
}

// loadModelDir loads the model in a Hub-style directory.
func loadModelDir(t *testing.T, dir string) *pipeline.Model {
	t.Helper()
	return loadGraph(t, dir, filepath.Join(dir, "onnx", "model.onnx"))
}

// loadGraph loads the model in dir whose main graph is graph.
func loadGraph(t *testing.T, dir, graph string) *pipeline.Model {
	t.Helper()
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.Load(context.Background(), pipeline.LoadConfig{
		Name:    filepath.Base(dir),
		Dir:     dir,
		Graphs:  []string{graph},
		Runtime: rt,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		rt.Close()
	})
	return m
}

// referenceVectors runs transformers.js's feature-extraction pipeline.
func referenceVectors(t *testing.T, name string, texts []string) [][]float64 {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"texts": texts, "pooling": "mean", "normalize": true})
	out := testenv.Node(t, embedScript, in, filepath.Dir(fixtures.Dir(t, name)), name)
	var r struct{ Vectors [][]float64 }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r.Vectors
}

func cosine(a []float32, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * b[i]
		na += float64(a[i]) * float64(a[i])
		nb += b[i] * b[i]
	}
	return dot / math.Sqrt(na*nb)
}

func TestEmbedMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTEmbedder)
	want := referenceVectors(t, fixtures.TinyBERTEmbedder, corpus)
	got, err := m.Embed(context.Background(), corpus, pipeline.EmbedOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	worst := 1.0
	for i := range corpus {
		c := cosine(got.Vectors[i], want[i])
		worst = math.Min(worst, c)
		if c < 0.9999 {
			t.Errorf("input %d %q: cosine %.6f with transformers.js", i, corpus[i], c)
		}
	}
	t.Logf("lowest cosine with transformers.js over %d inputs: %.7f; %d tokens", len(corpus), worst, got.Tokens)

	// One request per input gives the same vectors as one batched request.
	for i, text := range corpus {
		one, err := m.Embed(context.Background(), []string{text}, pipeline.EmbedOptions{Truncate: true})
		if err != nil {
			t.Fatal(err)
		}
		for j := range one.Vectors[0] {
			if d := math.Abs(float64(one.Vectors[0][j] - got.Vectors[i][j])); d > 1e-5 {
				t.Fatalf("input %d: single and batched differ by %g", i, d)
			}
		}
	}
}

func TestEmbedTruncation(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTEmbedder)
	long := strings.Repeat("word ", 300)
	if _, err := m.Embed(context.Background(), []string{long}, pipeline.EmbedOptions{Truncate: false}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("too long with truncate false: %v", err)
	}
	got, err := m.Embed(context.Background(), []string{long}, pipeline.EmbedOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tokens != m.ContextLength() {
		t.Fatalf("truncated to %d tokens, want %d", got.Tokens, m.ContextLength())
	}
}

func TestEmbedDimensions(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTEmbedder)
	full, err := m.Embed(context.Background(), []string{"hello"}, pipeline.EmbedOptions{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	cut, err := m.Embed(context.Background(), []string{"hello"}, pipeline.EmbedOptions{Truncate: true, Dimensions: 8})
	if err != nil {
		t.Fatal(err)
	}
	v := cut.Vectors[0]
	var norm float64
	for i, x := range v {
		norm += float64(x) * float64(x)
		// Cutting then renormalising keeps the direction of the prefix.
		if ratio := float64(x) / float64(full.Vectors[0][i]); math.Abs(ratio-float64(v[0]/full.Vectors[0][0])) > 1e-4 {
			t.Fatalf("dimension %d scaled differently", i)
		}
	}
	if len(v) != 8 || math.Abs(norm-1) > 1e-5 {
		t.Fatalf("got %d dimensions with norm %g", len(v), math.Sqrt(norm))
	}
	if _, err := m.Embed(context.Background(), []string{"hello"}, pipeline.EmbedOptions{Dimensions: 10000}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("too many dimensions: %v", err)
	}
}

func TestWrongTask(t *testing.T) {
	m := loadFixture(t, fixtures.TinyBERTReranker)
	_, err := m.Embed(context.Background(), []string{"hello"}, pipeline.EmbedOptions{})
	var te *pipeline.TaskError
	if !errors.As(err, &te) || !errors.Is(err, pipeline.ErrWrongTask) || !strings.Contains(err.Error(), "rerank") {
		t.Fatalf("err = %v, want a TaskError listing rerank", err)
	}
}
