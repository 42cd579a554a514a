package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"runner/pipeline"
	"runner/pipeline/constrain"
)

// defaultKeep is Ollama's default num_keep: the tokens at the start of the
// prompt that a context shift keeps.
const defaultKeep = 4

// defaultGenerateOptions are a generation's settings before the request's:
// the model's sampling defaults, Ollama's truncate, shift and num_keep, and
// thinking before a formatted answer.
func defaultGenerateOptions(m *pipeline.Model) pipeline.GenerateOptions {
	return pipeline.GenerateOptions{Sampling: m.SamplingDefaults(), Truncate: true, Shift: true, Keep: defaultKeep, FormatAfterThinking: true}
}

// generateOptions reads Ollama's options map (temperature, top_k, top_p,
// min_p, repeat_penalty, repeat_last_n, presence_penalty,
// frequency_penalty, seed, num_predict, num_keep, num_ctx, stop) over the
// model's defaults. Options that only matter to llama.cpp (num_gpu,
// num_thread...) are accepted and ignored; a wrong type is a 400.
func generateOptions(m *pipeline.Model, opts map[string]any) (pipeline.GenerateOptions, error) {
	g := defaultGenerateOptions(m)
	for k, v := range opts {
		var err error
		switch k {
		case "temperature":
			g.Sampling.Temperature, err = float32Option(k, v)
		case "top_k":
			g.Sampling.TopK, err = intOption(k, v)
		case "top_p":
			g.Sampling.TopP, err = float32Option(k, v)
		case "min_p":
			g.Sampling.MinP, err = float32Option(k, v)
		case "repeat_penalty":
			g.Sampling.RepeatPenalty, err = float32Option(k, v)
		case "repeat_last_n":
			g.Sampling.RepeatLastN, err = intOption(k, v)
		case "presence_penalty":
			g.Sampling.PresencePenalty, err = float32Option(k, v)
		case "frequency_penalty":
			g.Sampling.FrequencyPenalty, err = float32Option(k, v)
		case "seed":
			var seed int
			if seed, err = intOption(k, v); err == nil {
				s := int64(seed)
				g.Sampling.Seed = &s
			}
		case "num_predict":
			g.MaxTokens, err = intOption(k, v)
		case "num_keep":
			g.Keep, err = intOption(k, v)
		case "num_ctx":
			g.ContextLength, err = intOption(k, v)
		case "stop":
			g.Stop, err = stopOption(v)
		}
		if err != nil {
			return g, err
		}
	}
	if g.Sampling.Temperature < 0 || g.Sampling.TopP < 0 || g.Sampling.TopP > 1 || g.Sampling.MinP < 0 || g.Sampling.MinP > 1 || g.Sampling.TopK < 0 {
		return g, badRequest("invalid options: temperature, top_k must not be negative; top_p and min_p must be in [0, 1]")
	}
	return g, nil
}

func float32Option(k string, v any) (float32, error) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, badRequest("invalid option %q: want a number, got %s", k, jsonType(v))
	}
	return float32(f), nil
}

func intOption(k string, v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, badRequest("invalid option %q: want an integer, got %v", k, v)
	}
	return int(f), nil
}

// stopOption accepts a string or an array of strings.
func stopOption(v any) ([]string, error) {
	switch s := v.(type) {
	case string:
		return []string{s}, nil
	case []any:
		out := make([]string, len(s))
		for i, x := range s {
			str, ok := x.(string)
			if !ok {
				return nil, badRequest("invalid option \"stop\": element %d is %s, want a string", i, jsonType(x))
			}
			out[i] = str
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w", badRequest("invalid option \"stop\": want a string or an array of strings, got %s", jsonType(v)))
}

// applyFormat reads the format field of generate and chat requests:
// absent, null or "" leaves the output free; "json" asks for any JSON
// value; an object is a JSON schema the output must match. Anything else,
// or a schema runner cannot enforce, is a 400.
func applyFormat(opts *pipeline.GenerateOptions, format json.RawMessage) error {
	f := bytes.TrimSpace(format)
	switch {
	case len(f) == 0 || string(f) == "null" || string(f) == `""`:
		return nil
	case string(f) == `"json"`:
		opts.Format = constrain.JSON()
		return nil
	case f[0] == '{':
		g, err := constrain.Schema(f)
		if err != nil {
			return badRequest("invalid format: %v", err)
		}
		opts.Format = g
		return nil
	}
	return badRequest(`invalid format %s: want "json" or a JSON schema object`, f)
}
