package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/modelstore/mirror/mirrortest"
	"runner/onnx"
)

// copyFixture copies a fixture repo to dir.
func copyFixture(t *testing.T, name, dir string) {
	t.Helper()
	src := fixtures.Dir(t, name)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		return copyFile(p, filepath.Join(dir, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureHubEnv serves a fixture as org/NAME from a mirror and points the
// Hub variables at it and at a fresh cache.
func fixtureHubEnv(t *testing.T, name string) {
	t.Helper()
	root := t.TempDir()
	copyFixture(t, name, filepath.Join(root, "org", name))
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", filepath.Join(t.TempDir(), "hub"))
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("RUNNER_DEVICE", "cpu")
	t.Setenv("HF_ENDPOINT", mirrortest.Start(t, root))
}

func TestQuantizeRepoInPlace(t *testing.T) {
	ort := testenv.ORTLibrary(t)
	dir := filepath.Join(t.TempDir(), "embedder")
	copyFixture(t, fixtures.TinyBERTEmbedder, dir)
	out, err := runCLI(t, "quantize", "--ort-lib", ort, "--type", "q8", dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		filepath.Join(dir, "onnx", "model_quantized.onnx"),
		"quantised (q8): 3 Gather, 12 MatMul",
		"4 MatMul: its weight is computed at run time",
		"validated model_quantized.onnx",
		"last_hidden_state",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	info, err := onnx.ReadInfo(filepath.Join(dir, "onnx", "model_quantized.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Ops["MatMulInteger"] != 12 {
		t.Errorf("census %v", info.Ops)
	}
	// The repo now offers q8, which a CPU prefers.
	out, err = runCLI(t, "show", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task           embed", "architecture   BertModel", "q8 (chosen for this device)", "fp32", "inputs (onnx/model_quantized.onnx)", "input_ids: int64[batch_size,sequence_length]", "last_hidden_state"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}

func TestQuantizeReferenceIntoNewRepo(t *testing.T) {
	ort := testenv.ORTLibrary(t)
	fixtureHubEnv(t, fixtures.TinyLlama)
	dest := filepath.Join(t.TempDir(), "tiny-q4")
	out, err := runCLI(t, "quantize", "--ort-lib", ort, "--type", "q4", "--json", "org/"+fixtures.TinyLlama, dest)
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Path   string
		Report struct {
			Quantized map[string]int
			Skipped   []struct{ Node, Reason string }
		}
		Validation struct{ Outputs []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(results) != 1 || results[0].Path != filepath.Join(dest, "onnx", "model_q4.onnx") ||
		results[0].Report.Quantized["MatMul"] != 14 || len(results[0].Validation.Outputs) != 5 {
		t.Errorf("results %+v", results)
	}
	// The new directory is a model of its own: support files came along.
	for _, f := range []string{"config.json", "tokenizer.json", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Error(err)
		}
	}
	out, err = runCLI(t, "show", dest)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task           generate", "context        2048 tokens", "q4 (chosen for this device)", "past_key_values.0.key: float32[batch_size,2,past_sequence_length,16]", "logits: float32[batch_size,sequence_length,32000]"} {
		if !strings.Contains(out, want) {
			t.Errorf("show %s lacks %q:\n%s", dest, want, out)
		}
	}
	// The source was pulled (its float32 variant): show describes it from
	// the cache.
	out, err = runCLI(t, "show", "org/"+fixtures.TinyLlama)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"org/tiny-llama:fp32", "architecture   LlamaForCausalLM", "fp32", "in use"} {
		if !strings.Contains(out, want) {
			t.Errorf("show of the reference lacks %q:\n%s", want, out)
		}
	}
}

func TestQuantizeFileToFile(t *testing.T) {
	src := filepath.Join(fixtures.Dir(t, fixtures.TinyBERTClassifier), "onnx", "model.onnx")
	dst := filepath.Join(t.TempDir(), "classifier_fp16.onnx")
	out, err := runCLI(t, "quantize", "--no-validate", "-t", "fp16", src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "float16 (fp16):") {
		t.Errorf("output:\n%s", out)
	}
	info, err := onnx.ReadInfo(dst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Weights.ByType[onnx.Float16] == 0 || info.Outputs[0].Elem != onnx.Float {
		t.Errorf("weights %v, output %v: want float16 weights and a float32 output", info.Weights.ByType, info.Outputs[0])
	}
}

func TestQuantizeUsageErrors(t *testing.T) {
	src := filepath.Join(fixtures.Dir(t, fixtures.TinyBERTClassifier), "onnx", "model.onnx")
	for _, args := range [][]string{
		{"quantize", src},
		{"quantize", "--type", "q4f16", src, filepath.Join(t.TempDir(), "x.onnx")},
		{"quantize", "--type", "q3", src, filepath.Join(t.TempDir(), "x.onnx")},
	} {
		if _, err := runCLI(t, args...); exitCode(err, io.Discard) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := runCLI(t, "quantize", "--no-validate", src, src); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("quantising a file onto itself: %v", err)
	}
}
