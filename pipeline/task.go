package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Task is a job a model can do.
type Task string

// Tasks runner serves.
const (
	TaskEmbed    Task = "embedding"
	TaskRerank   Task = "rerank"
	TaskClassify Task = "classification"
	TaskTokens   Task = "token-classification"
	TaskZeroShot Task = "zero-shot-classification"
	TaskGenerate Task = "text-generation"
)

// ErrWrongTask is returned when a model is asked for a task it cannot do.
var ErrWrongTask = errors.New("model does not support this task")

// TaskError says which tasks a model supports when asked for another.
type TaskError struct {
	Model     string
	Want      Task
	Supported []Task
}

func (e *TaskError) Error() string {
	names := make([]string, len(e.Supported))
	for i, t := range e.Supported {
		names[i] = string(t)
	}
	return fmt.Sprintf("%q does not support %s; it supports: %s", e.Model, e.Want, strings.Join(names, ", "))
}

// Unwrap makes errors.Is(err, ErrWrongTask) true.
func (e *TaskError) Unwrap() error { return ErrWrongTask }

// decoderTypes are config.json model_types of decoder-only language models.
var decoderTypes = []string{
	"llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "phi", "phi3", "gemma", "gemma2",
	"gemma3", "gemma3_text", "gpt2", "gpt_neo", "gpt_neox", "gptj", "granite", "olmo", "olmo2", "smollm3",
	"stablelm", "starcoder2", "falcon", "opt", "bloom", "codegen", "cohere", "exaone", "helium",
}

// DetectTasks says what a model can do, best first, from its config.json,
// sentence-transformers files and graph inputs and outputs.
func DetectTasks(cfg *ModelConfig, st *SentenceConfig, inputs, outputs []string) []Task {
	arch := cfg.Architecture()
	hasPast := slices.ContainsFunc(inputs, func(s string) bool { return strings.HasPrefix(s, "past_key_values.") })
	switch {
	case strings.HasSuffix(arch, "ForCausalLM"), hasPast, arch == "" && slices.Contains(decoderTypes, cfg.ModelType):
		return []Task{TaskGenerate}
	case strings.HasSuffix(arch, "ForTokenClassification"):
		return []Task{TaskTokens}
	case strings.HasSuffix(arch, "ForSequenceClassification"):
		if cfg.NumLabels == 1 {
			return []Task{TaskRerank, TaskClassify}
		}
		if entailmentLabel(cfg) >= 0 {
			return []Task{TaskZeroShot, TaskClassify}
		}
		return []Task{TaskClassify}
	}
	if st.Present || slices.Contains(outputs, "last_hidden_state") || slices.Contains(outputs, "sentence_embedding") ||
		slices.Contains(outputs, "token_embeddings") {
		return []Task{TaskEmbed}
	}
	return nil
}

// entailmentLabel returns the class id labelled entailment, or -1.
func entailmentLabel(cfg *ModelConfig) int {
	labels, err := cfg.Labels()
	if err != nil {
		return -1
	}
	for i, l := range labels {
		if strings.HasPrefix(strings.ToLower(l), "entail") {
			return i
		}
	}
	return -1
}

// Capabilities maps tasks to the words Ollama's /api/show uses, plus
// runner's own for the tasks Ollama lacks.
func Capabilities(tasks []Task) []string {
	var caps []string
	for _, t := range tasks {
		switch t {
		case TaskEmbed:
			caps = append(caps, "embedding")
		case TaskGenerate:
			caps = append(caps, "completion")
		default:
			caps = append(caps, string(t))
		}
	}
	return caps
}
