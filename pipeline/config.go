package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ModelConfig is what pipelines read from a repo's config.json.
type ModelConfig struct {
	Architectures         []string          `json:"architectures"`
	ModelType             string            `json:"model_type"`
	ID2Label              map[string]string `json:"id2label"`
	NumLabels             int               `json:"num_labels"`
	ProblemType           string            `json:"problem_type"`
	HiddenSize            int               `json:"hidden_size"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	NumKeyValueHeads      int               `json:"num_key_value_heads"`
	HeadDim               int               `json:"head_dim"`
	VocabSize             int               `json:"vocab_size"`
	// BOSTokenID and EOSTokenID may be a number or a list in config.json.
	BOSTokenID json.RawMessage `json:"bos_token_id"`
	EOSTokenID json.RawMessage `json:"eos_token_id"`
	PadTokenID json.RawMessage `json:"pad_token_id"`
	// SentenceTransformers is what sentence-transformers records for
	// cross-encoders: the activation applied to their logits.
	SentenceTransformers struct {
		ActivationFn string `json:"activation_fn"`
	} `json:"sentence_transformers"`
}

// Labels returns id2label as a slice indexed by class id.
func (c *ModelConfig) Labels() ([]string, error) {
	n := len(c.ID2Label)
	if n == 0 {
		return nil, nil
	}
	labels := make([]string, n)
	for k, v := range c.ID2Label {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n {
			return nil, fmt.Errorf("config.json: id2label key %q is not a class id in 0..%d", k, n-1)
		}
		labels[i] = v
	}
	return labels, nil
}

// Architecture returns the first entry of architectures, or "".
func (c *ModelConfig) Architecture() string {
	if len(c.Architectures) == 0 {
		return ""
	}
	return c.Architectures[0]
}

// tokenIDs decodes a token id field that may be a number, a list or null.
func tokenIDs(raw json.RawMessage) []int {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var one int
	if json.Unmarshal(raw, &one) == nil {
		return []int{one}
	}
	var many []int
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// Pooling is how token vectors become one sentence vector.
type Pooling string

// Pooling modes, as sentence-transformers names them.
const (
	PoolMean      Pooling = "mean"
	PoolCLS       Pooling = "cls"
	PoolMax       Pooling = "max"
	PoolLastToken Pooling = "last_token"
	PoolMeanSqrt  Pooling = "mean_sqrt_len"
)

// SentenceConfig is what sentence-transformers files say about embedding.
type SentenceConfig struct {
	// Pooling is the pooling mode of the Pooling module.
	Pooling Pooling
	// Normalize reports whether a Normalize module follows pooling.
	Normalize bool
	// MaxSeqLength is sentence_bert_config.json's max_seq_length (0 if
	// absent).
	MaxSeqLength int
	// Prompts are config_sentence_transformers.json's named prompts.
	Prompts map[string]string
	// DefaultPrompt is the prompt applied when a request names none.
	DefaultPrompt string
	// Present reports whether the repo has sentence-transformers files.
	Present bool
}

type stModule struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

type stPooling struct {
	CLS       bool `json:"pooling_mode_cls_token"`
	Mean      bool `json:"pooling_mode_mean_tokens"`
	Max       bool `json:"pooling_mode_max_tokens"`
	MeanSqrt  bool `json:"pooling_mode_mean_sqrt_len_tokens"`
	LastToken bool `json:"pooling_mode_lasttoken"`
	Weighted  bool `json:"pooling_mode_weightedmean_tokens"`
}

// readJSON decodes dir/name into v; a missing file leaves v alone and
// returns false.
func readJSON(dir, name string, v any) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

// ReadModelConfig reads dir/config.json, or for an onnxruntime-genai
// model folder without one, what genai_config.json says of the model.
func ReadModelConfig(dir string) (*ModelConfig, error) {
	var c ModelConfig
	ok, err := readJSON(dir, "config.json", &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		g, err := readGenAIConfig(dir)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, fmt.Errorf("%s has no config.json (nor genai_config.json)", dir)
		}
		return g.modelConfig(), nil
	}
	if c.NumLabels == 0 {
		c.NumLabels = len(c.ID2Label)
	}
	return &c, nil
}

// ReadSentenceConfig reads the sentence-transformers files of a repo:
// modules.json, the Pooling module's config, sentence_bert_config.json and
// config_sentence_transformers.json. A repo without them gets mean pooling
// and no normalisation, as transformers.js's feature-extraction defaults to
// none and sentence-transformers to mean.
func ReadSentenceConfig(dir string) (*SentenceConfig, error) {
	sc := &SentenceConfig{Pooling: PoolMean}
	var modules []stModule
	ok, err := readJSON(dir, "modules.json", &modules)
	if err != nil {
		return nil, err
	}
	poolingPath := "1_Pooling"
	if ok {
		sc.Present = true
		for _, m := range modules {
			switch {
			case strings.HasSuffix(m.Type, ".Pooling"):
				poolingPath = m.Path
			case strings.HasSuffix(m.Type, ".Normalize"):
				sc.Normalize = true
			}
		}
	}
	var p stPooling
	found, err := readJSON(dir, filepath.Join(poolingPath, "config.json"), &p)
	if err != nil {
		return nil, err
	}
	if found {
		sc.Present = true
		switch {
		case p.CLS:
			sc.Pooling = PoolCLS
		case p.LastToken:
			sc.Pooling = PoolLastToken
		case p.Max:
			sc.Pooling = PoolMax
		case p.MeanSqrt:
			sc.Pooling = PoolMeanSqrt
		case p.Weighted:
			return nil, fmt.Errorf("%s: weighted-mean pooling is not supported", filepath.Join(poolingPath, "config.json"))
		default:
			sc.Pooling = PoolMean
		}
	}
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if ok, err := readJSON(dir, "sentence_bert_config.json", &sb); err != nil {
		return nil, err
	} else if ok {
		sc.Present = true
		sc.MaxSeqLength = sb.MaxSeqLength
	}
	var st struct {
		Prompts           map[string]string `json:"prompts"`
		DefaultPromptName string            `json:"default_prompt_name"`
	}
	if ok, err := readJSON(dir, "config_sentence_transformers.json", &st); err != nil {
		return nil, err
	} else if ok {
		sc.Prompts = st.Prompts
		if st.DefaultPromptName != "" {
			p, ok := st.Prompts[st.DefaultPromptName]
			if !ok {
				return nil, fmt.Errorf("config_sentence_transformers.json: default prompt %q is not among the prompts", st.DefaultPromptName)
			}
			sc.DefaultPrompt = p
		}
	}
	return sc, nil
}

// PromptNames lists the named prompts, sorted.
func (sc *SentenceConfig) PromptNames() []string {
	names := make([]string, 0, len(sc.Prompts))
	for k := range sc.Prompts {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
