package pipeline

import (
	"encoding/json"
	"fmt"
	"strings"
)

// genAIConfig is what runner reads of genai_config.json, the file
// onnxruntime-genai model folders carry instead of (or beside)
// transformers' config.json and generation_config.json.
type genAIConfig struct {
	Model struct {
		Type          string          `json:"type"`
		ContextLength int             `json:"context_length"`
		VocabSize     int             `json:"vocab_size"`
		BOSTokenID    json.RawMessage `json:"bos_token_id"`
		EOSTokenID    json.RawMessage `json:"eos_token_id"`
		PadTokenID    json.RawMessage `json:"pad_token_id"`
		Decoder       struct {
			Filename          string `json:"filename"`
			HeadSize          int    `json:"head_size"`
			HiddenSize        int    `json:"hidden_size"`
			NumAttentionHeads int    `json:"num_attention_heads"`
			NumKeyValueHeads  int    `json:"num_key_value_heads"`
			NumHiddenLayers   int    `json:"num_hidden_layers"`
			Inputs            struct {
				PastKeyNames   string `json:"past_key_names"`
				PastValueNames string `json:"past_value_names"`
			} `json:"inputs"`
			Outputs struct {
				PresentKeyNames   string `json:"present_key_names"`
				PresentValueNames string `json:"present_value_names"`
			} `json:"outputs"`
		} `json:"decoder"`
	} `json:"model"`
	Search struct {
		DoSample          *bool    `json:"do_sample"`
		Temperature       *float32 `json:"temperature"`
		TopK              *int     `json:"top_k"`
		TopP              *float32 `json:"top_p"`
		RepetitionPenalty *float32 `json:"repetition_penalty"`
		MaxLength         int      `json:"max_length"`
	} `json:"search"`
}

// readGenAIConfig reads dir/genai_config.json; nil when there is none.
func readGenAIConfig(dir string) (*genAIConfig, error) {
	var g genAIConfig
	ok, err := readJSON(dir, "genai_config.json", &g)
	if err != nil || !ok {
		return nil, err
	}
	// runner finds the cache's inputs and outputs by the names Optimum and
	// transformers.js use; the genai builder uses the same ones.
	d := g.Model.Decoder
	for _, n := range []struct{ got, want string }{
		{d.Inputs.PastKeyNames, "past_key_values.%d.key"},
		{d.Inputs.PastValueNames, "past_key_values.%d.value"},
		{d.Outputs.PresentKeyNames, "present.%d.key"},
		{d.Outputs.PresentValueNames, "present.%d.value"},
	} {
		if n.got != "" && n.got != n.want {
			return nil, fmt.Errorf("genai_config.json: the decoder names its cache %q; runner reads models whose cache is named %q", n.got, n.want)
		}
	}
	return &g, nil
}

// modelConfig describes the model as config.json would.
func (g *genAIConfig) modelConfig() *ModelConfig {
	m, d := g.Model, g.Model.Decoder
	c := &ModelConfig{
		ModelType:             m.Type,
		HiddenSize:            d.HiddenSize,
		MaxPositionEmbeddings: m.ContextLength,
		NumHiddenLayers:       d.NumHiddenLayers,
		NumAttentionHeads:     d.NumAttentionHeads,
		NumKeyValueHeads:      d.NumKeyValueHeads,
		HeadDim:               d.HeadSize,
		VocabSize:             m.VocabSize,
		BOSTokenID:            m.BOSTokenID,
		EOSTokenID:            m.EOSTokenID,
		PadTokenID:            m.PadTokenID,
	}
	if c.MaxPositionEmbeddings == 0 {
		c.MaxPositionEmbeddings = g.Search.MaxLength
	}
	// Every genai model is a decoder; name it as transformers would so
	// that task detection and `runner show` read it as one.
	if m.Type != "" {
		c.Architectures = []string{genAIArchitecture(m.Type)}
	}
	return c
}

// genAIArchitecture turns a genai model type ("llama", "phi3", "qwen2")
// into a transformers causal-LM class name ("LlamaForCausalLM").
func genAIArchitecture(typ string) string {
	known := map[string]string{"phi3": "Phi3", "phi": "Phi", "qwen2": "Qwen2", "qwen3": "Qwen3", "gemma": "Gemma",
		"gemma2": "Gemma2", "gemma3_text": "Gemma3", "mistral": "Mistral", "llama": "Llama", "olmo": "Olmo", "granite": "Granite"}
	name, ok := known[typ]
	if !ok {
		name = strings.ToUpper(typ[:1]) + typ[1:]
	}
	return name + "ForCausalLM"
}

// generationConfig gives the search settings as generation_config.json
// would, with the end-of-sequence ids.
func (g *genAIConfig) generationConfig() *generationConfig {
	s := g.Search
	return &generationConfig{
		EOSTokenID:        g.Model.EOSTokenID,
		DoSample:          s.DoSample,
		Temperature:       s.Temperature,
		TopK:              s.TopK,
		TopP:              s.TopP,
		RepetitionPenalty: s.RepetitionPenalty,
	}
}
