package modelstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"runner/onnx"
	"runner/quant"
)

// Details is what Ollama's /api/tags and /api/show report of a model
// (api.ModelDetails), worked out from config.json and the ONNX graphs.
type Details struct {
	// Format is always "onnx".
	Format string
	// Family is config.json's model_type ("bert", "llama").
	Family string
	// Families lists the family, for Ollama's families field.
	Families []string
	// ParameterSize is the parameter count in Ollama's style ("22.7M").
	ParameterSize string
	// QuantizationLevel is read from the graphs' operators and weight
	// types: "Q4", "Q4F16", "BNB4", "Q8", "F16" or "F32".
	QuantizationLevel string
	// Parameters is the parameter count (4-bit packed weights counted as
	// two each), summed over the graphs.
	Parameters int64
}

// infoKey identifies one version of a file on disk.
type infoKey struct {
	path  string
	size  int64
	mtime time.Time
}

// graphSummary is what List needs of an ONNX graph.
type graphSummary struct {
	params int64
	quant  string
}

// summarise reads an ONNX graph's parameter count and quantisation once per
// file version.
func (s *Store) summarise(path string) (graphSummary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return graphSummary{}, err
	}
	key := infoKey{path, st.Size(), st.ModTime()}
	s.infoMu.Lock()
	sum, ok := s.infos[key]
	s.infoMu.Unlock()
	if ok {
		return sum, nil
	}
	info, err := onnx.ReadInfo(path)
	if err != nil {
		return graphSummary{}, err
	}
	sum = summariseInfo(info)
	s.infoMu.Lock()
	s.infos[key] = sum
	s.infoMu.Unlock()
	return sum, nil
}

// summariseInfo derives the parameter count and quantisation level from a
// graph's operator census and weight types.
func summariseInfo(info *onnx.Info) graphSummary {
	has := func(ops ...string) bool {
		for _, op := range ops {
			if info.Ops[op] > 0 || info.Ops["com.microsoft."+op] > 0 {
				return true
			}
		}
		return false
	}
	w := info.Weights
	sum := graphSummary{params: w.Params}
	halfDominant := w.ByType[onnx.Float16] > w.ByType[onnx.Float]
	switch {
	case has("MatMulNBits"):
		sum.params += w.ByType[onnx.Uint8] // two 4-bit weights per byte
		sum.quant = "Q4"
		if halfDominant {
			sum.quant = "Q4F16"
		}
	case has("MatMulBnb4"):
		sum.params += w.ByType[onnx.Uint8]
		sum.quant = "BNB4"
	case has("MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QLinearConv", "DequantizeLinear"):
		sum.quant = "Q8"
	case halfDominant:
		sum.quant = "F16"
	default:
		sum.quant = "F32"
	}
	return sum
}

// FormatParams writes a parameter count as Ollama does: 22.7M, 1.5B.
func FormatParams(n int64) string {
	f := float64(n)
	switch {
	case n >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", f/1e9)) + "B"
	case n >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", f/1e6)) + "M"
	case n >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", f/1e3)) + "K"
	}
	return fmt.Sprint(n)
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

// describe fills a model's Details, Digest and ModifiedAt.
func (s *Store) describe(m *Model) {
	m.Details = Details{Format: "onnx"}
	if cfg, err := readConfig(m.ConfigDir); err == nil && cfg.ModelType != "" {
		m.Details.Family = cfg.ModelType
		m.Details.Families = []string{cfg.ModelType}
	}
	levels := map[string]bool{}
	for _, g := range m.Graphs {
		sum, err := s.summarise(g)
		if err != nil {
			s.log.Debug("cannot read ONNX graph", "path", g, "err", err)
			continue
		}
		m.Details.Parameters += sum.params
		if !levels[sum.quant] {
			levels[sum.quant] = true
			if m.Details.QuantizationLevel == "" {
				m.Details.QuantizationLevel = sum.quant
			}
		}
	}
	if m.Details.QuantizationLevel == "" {
		m.Details.QuantizationLevel = variantLevel(m.Variant)
	}
	if m.Details.Parameters > 0 {
		m.Details.ParameterSize = FormatParams(m.Details.Parameters)
	}
	for _, f := range m.Files {
		if st, err := os.Lstat(filepath.Join(m.Dir, filepath.FromSlash(f))); err == nil && st.ModTime().After(m.ModifiedAt) {
			m.ModifiedAt = st.ModTime()
		}
	}
	m.Digest = modelDigest(m)
}

// variantLevel is the quantisation level a variant's name implies, for
// graphs that cannot be read.
func variantLevel(v quant.Variant) string {
	switch v {
	case quant.FP32:
		return "F32"
	case quant.FP16:
		return "F16"
	case quant.Q8, quant.Int8, quant.Uint8:
		return "Q8"
	}
	return string(v)
}

// modelDigest is the SHA-256 of the main graph (its blob name, for LFS
// files), or else a hash of the commit and the variant's files.
func modelDigest(m *Model) string {
	if g := m.Graph(); g != "" {
		if target, err := os.Readlink(g); err == nil {
			if etag := filepath.Base(target); len(etag) == 64 {
				return etag
			}
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", m.Repo, m.Commit, m.Variant)
	for _, f := range m.Files {
		fmt.Fprintf(h, "%s\x00", f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// modelConfig is what runner reads of config.json.
type modelConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	// Context length under its various names.
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	NPositions            int               `json:"n_positions"`
	NCtx                  int               `json:"n_ctx"`
	MaxSequenceLength     int               `json:"max_sequence_length"`
	SeqLength             int               `json:"seq_length"`
	ID2Label              map[string]string `json:"id2label"`
	TextConfig            *modelConfig      `json:"text_config"`
}

// readConfig reads dir/config.json or, in an onnxruntime-genai folder
// without one, the model type and context length genai_config.json gives.
func readConfig(dir string) (*modelConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return readGenAIConfig(dir)
	}
	if err != nil {
		return nil, err
	}
	var c modelConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return &c, nil
}

func readGenAIConfig(dir string) (*modelConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, "genai_config.json"))
	if err != nil {
		return nil, err
	}
	var g struct {
		Model struct {
			Type          string `json:"type"`
			ContextLength int    `json:"context_length"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("genai_config.json: %w", err)
	}
	return &modelConfig{ModelType: g.Model.Type, MaxPositionEmbeddings: g.Model.ContextLength}, nil
}

// contextLength returns the longest input the model takes, from config.
func (c *modelConfig) contextLength() int {
	for _, n := range []int{c.MaxPositionEmbeddings, c.NPositions, c.NCtx, c.MaxSequenceLength, c.SeqLength} {
		if n > 0 {
			return n
		}
	}
	if c.TextConfig != nil {
		return c.TextConfig.contextLength()
	}
	return 0
}
