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

func genAIFolder(t *testing.T) string {
	dir := t.TempDir()
	fixtures.GenAIFolder(t, dir)
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
