package pipeline

import (
	"encoding/json"
	"fmt"

	"runner/onnx"
)

// Description is what /api/show and `runner show` say of a model beyond
// its files: what it can do and its graph's interface.
type Description struct {
	Tasks []Task
	// Inputs and Outputs describe the main graph's tensors
	// ("input_ids: int64[batch_size,sequence_length]").
	Inputs, Outputs []string
	// EmbeddingLength is the hidden size (config.json), 0 if unknown.
	EmbeddingLength int
	// ChatTemplate is the Jinja chat template, for decoders that have one.
	ChatTemplate string
	// Labels are the classes of classifiers, by id.
	Labels []string
}

// Describe reads a model's description from its directory and graphs
// without loading it.
func Describe(dir string, graphs []string) (*Description, error) {
	if len(graphs) == 0 {
		return nil, fmt.Errorf("%s: no ONNX graph", dir)
	}
	cfg, err := ReadModelConfig(dir)
	if err != nil {
		return nil, err
	}
	st, err := ReadSentenceConfig(dir)
	if err != nil {
		return nil, err
	}
	info, err := onnx.ReadInfo(graphs[0])
	if err != nil {
		return nil, err
	}
	d := &Description{EmbeddingLength: cfg.HiddenSize}
	var ins, outs []string
	for _, v := range info.Inputs {
		ins = append(ins, v.Name)
		d.Inputs = append(d.Inputs, v.String())
	}
	for _, v := range info.Outputs {
		outs = append(outs, v.Name)
		d.Outputs = append(d.Outputs, v.String())
	}
	d.Tasks = DetectTasks(cfg, st, ins, outs)
	if d.Labels, err = cfg.Labels(); err != nil {
		return nil, err
	}
	var tc struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if _, err := readJSON(dir, "tokenizer_config.json", &tc); err != nil {
		return nil, err
	}
	var tmpl string
	if json.Unmarshal(tc.ChatTemplate, &tmpl) == nil {
		d.ChatTemplate = tmpl
	}
	return d, nil
}
