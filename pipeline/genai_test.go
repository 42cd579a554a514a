package pipeline_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"runner/internal/fixtures"
	"runner/pipeline"
)

// genAIFolder lays the Llama-style fixture out as onnxruntime-genai does:
// model.onnx and genai_config.json at the top, no config.json or
// generation_config.json.
func genAIFolder(t *testing.T) string {
	t.Helper()
	src := fixtures.Dir(t, fixtures.TinyLlama)
	dir := t.TempDir()
	for from, to := range map[string]string{
		"onnx/model.onnx": "model.onnx", "tokenizer.json": "tokenizer.json", "tokenizer_config.json": "tokenizer_config.json",
	} {
		b, err := os.ReadFile(filepath.Join(src, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const genai = `{
  "model": {
    "bos_token_id": 1, "context_length": 2048, "eos_token_id": [2], "pad_token_id": 2, "type": "llama", "vocab_size": 32000,
    "decoder": {
      "filename": "model.onnx", "head_size": 16, "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
      "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids",
                 "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
      "outputs": {"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"}
    }
  },
  "search": {"do_sample": false, "max_length": 2048, "num_beams": 1, "top_k": 1, "top_p": 1.0, "temperature": 1.0, "repetition_penalty": 1.0}
}`
	if err := os.WriteFile(filepath.Join(dir, "genai_config.json"), []byte(genai), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A genai folder loads as a decoder, takes its defaults from the search
// settings (greedy) and generates what the same graph does in the Hub
// layout.
func TestGenAIFolderGenerates(t *testing.T) {
	dir := genAIFolder(t)
	m := loadGraph(t, dir, filepath.Join(dir, "model.onnx"))
	if err := m.Need(pipeline.TaskGenerate); err != nil {
		t.Fatal(err)
	}
	if d := m.SamplingDefaults(); d.Temperature != 0 {
		t.Fatalf("defaults %+v: want greedy from the search settings", d)
	}
	hub := loadFixture(t, fixtures.TinyLlama)
	prompt, err := hub.EncodePrompt("The capital of France", true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := generated(t, hub, prompt, greedy)
	got, _ := generated(t, m, prompt, pipeline.GenerateOptions{Sampling: m.SamplingDefaults(), MaxTokens: greedy.MaxTokens})
	if !slices.Equal(got, want) {
		t.Fatalf("genai folder: %v, want %v", got, want)
	}
}

func TestGenAIFolderWithOtherCacheNames(t *testing.T) {
	dir := genAIFolder(t)
	p := filepath.Join(dir, "genai_config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "past_key_values.%d.key", "past_%d_key")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.ReadModelConfig(dir); err == nil {
		t.Fatal("a cache with other names should be refused clearly")
	}
}
