package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/modelstore/mirror/mirrortest"
)

// encoderEnv points the CLI at ONNX Runtime, a fresh cache and a mirror
// serving the fixtures as runner-test/NAME, with no server at RUNNER_HOST
// (verbs start one in the process).
func encoderEnv(t *testing.T, names ...string) {
	t.Helper()
	hubEnv(t)
	t.Setenv("RUNNER_ORT_LIB", testenv.ORTLibrary(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNNER_HOST", ln.Addr().String())
	ln.Close()
	root := t.TempDir()
	for _, n := range names {
		if err := os.CopyFS(filepath.Join(root, "runner-test", n), os.DirFS(fixtures.Dir(t, n))); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HF_ENDPOINT", mirrortest.Start(t, root))
}

func TestRerankVerb(t *testing.T) {
	encoderEnv(t)
	model := fixtures.Dir(t, fixtures.TinyBERTReranker) // a local directory
	docs := []string{"Cats sleep most of the day.", "Paris is in France.", "A kitten is a young cat."}
	out, err := runCLI(t, append([]string{"rerank", model, "--query", "what do cats do?", "--json"}, docs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r rerankAnswer
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(r.Results) != 3 || r.Model != model || r.PromptEvalCount == 0 {
		t.Fatalf("results %+v", r)
	}
	for k, res := range r.Results {
		if res.Document != docs[res.Index] || res.RelevanceScore <= 0 || res.RelevanceScore >= 1 ||
			(k > 0 && res.RelevanceScore > r.Results[k-1].RelevanceScore) {
			t.Errorf("result %d: %+v", k, res)
		}
	}

	// The table says the same, and --top-n cuts it.
	out, err = runCLI(t, "rerank", model, "-q", "what do cats do?", "-n", "2", docs[0], docs[1], docs[2])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	best := r.Results[0]
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RANK") ||
		strings.Join(strings.Fields(lines[1]), " ") != fmt.Sprintf("1 %.4f %d %s", best.RelevanceScore, best.Index, docs[best.Index]) {
		t.Fatalf("table:\n%s", out)
	}

	for _, args := range [][]string{
		{"rerank", model, "doc"},           // no query
		{"rerank", "--query", "q"},         // no model
		{"rerank", model, "--query", "q"},  // no documents (empty stdin)
		{"rerank", model, "-q", "q", "-x"}, // unknown flag
	} {
		if _, err := runCLI(t, args...); exitCode(err, io.Discard) != 2 {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if _, err := runCLI(t, "rerank", fixtures.Dir(t, fixtures.TinyBERTEmbedder), "-q", "q", "d"); err == nil || !strings.Contains(err.Error(), "supports: embedding") {
		t.Errorf("rerank with an embedder: %v", err)
	}
}

func TestClassifyVerb(t *testing.T) {
	encoderEnv(t, fixtures.TinyBERTNLI, fixtures.TinyBERTNER, fixtures.TinyBERTClassifier)

	// Pulled from the mirror on first use.
	out, err := runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTNLI, "--labels", "travel,shopping,sport", "--json", "I bought a phone")
	if err != nil {
		t.Fatal(err)
	}
	var zs classifyAnswer
	if err := json.Unmarshal([]byte(out), &zs); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	sum := 0.0
	for _, l := range zs.Results[0] {
		sum += l.Score
	}
	if zs.Task != "zero-shot-classification" || len(zs.Results[0]) != 3 || sum < 0.999999 || sum > 1.000001 {
		t.Fatalf("zero-shot: %s", out)
	}

	out, err = runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTClassifier, "-k", "1", "great film", "awful film")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || lines[0] != "great film" || lines[3] != "awful film" {
		t.Fatalf("classification table:\n%s", out)
	}

	out, err = runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTNER, "--aggregation", "first", "--json", "Sarah lives in Zürich")
	if err != nil {
		t.Fatal(err)
	}
	var ner classifyAnswer
	if err := json.Unmarshal([]byte(out), &ner); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if ner.Task != "token-classification" || len(ner.Results[0]) == 0 {
		t.Fatalf("NER: %s", out)
	}
	for _, e := range ner.Results[0] {
		if e.EntityGroup == "" || e.Entity != "" || e.Index != nil || e.Start == nil || e.End == nil || *e.End > len([]rune("Sarah lives in Zürich")) {
			t.Errorf("entity %+v", e)
		}
	}
	long := strings.Repeat("Sarah lives in Zürich. ", 300)
	out, err = runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTNER, "--stride", "32", "--json", long)
	if err != nil {
		t.Fatal(err)
	}
	var windows classifyAnswer
	if err := json.Unmarshal([]byte(out), &windows); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if n := len(windows.Results[0]); n == 0 || windows.Results[0][n-1].End == nil || *windows.Results[0][n-1].End < len([]rune(long))-30 {
		t.Fatalf("a long text with --stride is not labelled to its end: %d entities", n)
	}
	if _, err := runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTNER, "--stride", "-3", "x"); exitCode(err, io.Discard) != 2 {
		t.Errorf("negative stride: %v, want a usage error", err)
	}
	if _, err := runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTNER, "--aggregation", "longest", "x"); exitCode(err, io.Discard) != 2 {
		t.Errorf("unknown aggregation: %v, want a usage error", err)
	}
	if _, err := runCLI(t, "classify", "runner-test/"+fixtures.TinyBERTClassifier, "--labels", "a,b", "x"); err == nil || !strings.Contains(err.Error(), "supports: classification") {
		t.Errorf("zero-shot with a plain classifier: %v", err)
	}
}
