package server

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"

	"runner/pipeline"
)

func (s *Server) embedRoutes() {
	s.handle("POST /api/embed", s.embed)
	s.handle("POST /api/embeddings", s.embeddingsLegacy)
	s.handle("POST /v1/embeddings", s.openAIEmbeddings)
}

// keepAlive converts a request's keep_alive (nil: the default).
func keepAlive(d *api.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	return &d.Duration
}

// texts reads an input that is a string or an array of strings.
func texts(input any) ([]string, error) {
	switch v := input.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, badRequest("invalid input: element %d is %s, want a string", i, jsonType(x))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, badRequest("invalid input: want a string or an array of strings, got %s", jsonType(input))
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unknown type"
}

// embedOnce runs one embedding request for the three embedding routes:
// with no input it only loads (or, with keep_alive 0, unloads) the model.
func (s *Server) embedOnce(r *http.Request, model string, inputs []string, opts pipeline.EmbedOptions, ka *time.Duration) (*pipeline.Embeddings, time.Duration, error) {
	if len(inputs) == 0 && ka != nil && *ka == 0 {
		_, err := s.cfg.Models.unload(r.Context(), model)
		return &pipeline.Embeddings{Vectors: [][]float32{}}, 0, err
	}
	l, err := s.cfg.Models.acquireFor(r.Context(), model, pipeline.TaskEmbed)
	if err != nil {
		return nil, 0, err
	}
	defer l.release(ka)
	if len(inputs) == 0 {
		return &pipeline.Embeddings{Vectors: [][]float32{}}, l.lease.LoadDuration, nil
	}
	e, err := l.Embed(r.Context(), inputs, opts)
	return e, l.lease.LoadDuration, err
}

// embed is Ollama's /api/embed.
func (s *Server) embed(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var req api.EmbedRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	inputs, err := texts(req.Input)
	if err != nil {
		return err
	}
	if req.Dimensions < 0 {
		return badRequest("dimensions must be positive")
	}
	truncate := req.Truncate == nil || *req.Truncate
	e, load, err := s.embedOnce(r, req.Model, inputs, pipeline.EmbedOptions{Truncate: truncate, Dimensions: req.Dimensions}, keepAlive(req.KeepAlive))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.EmbedResponse{
		Model:           req.Model,
		Embeddings:      e.Vectors,
		TotalDuration:   time.Since(start),
		LoadDuration:    load,
		PromptEvalCount: e.Tokens,
	})
}

// embeddingsLegacy is Ollama's older /api/embeddings: one prompt, float64s.
func (s *Server) embeddingsLegacy(w http.ResponseWriter, r *http.Request) error {
	var req api.EmbeddingRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var inputs []string
	if req.Prompt != "" {
		inputs = []string{req.Prompt}
	}
	e, _, err := s.embedOnce(r, req.Model, inputs, pipeline.EmbedOptions{Truncate: true}, keepAlive(req.KeepAlive))
	if err != nil {
		return err
	}
	resp := api.EmbeddingResponse{Embedding: []float64{}}
	if len(e.Vectors) > 0 {
		resp.Embedding = make([]float64, len(e.Vectors[0]))
		for i, v := range e.Vectors[0] {
			resp.Embedding[i] = float64(v)
		}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// openAIEmbeddingRequest is OpenAI's /v1/embeddings request.
type openAIEmbeddingRequest struct {
	Model          string `json:"model"`
	Input          any    `json:"input"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions"`
	User           string `json:"user"`
}

type openAIEmbedding struct {
	Object    string `json:"object"`
	Embedding any    `json:"embedding"`
	Index     int    `json:"index"`
}

type openAIUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// openAIEmbeddings is OpenAI's /v1/embeddings.
func (s *Server) openAIEmbeddings(w http.ResponseWriter, r *http.Request) error {
	var req openAIEmbeddingRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Input == nil {
		return badRequest("invalid input: input is required")
	}
	inputs, err := texts(req.Input)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return badRequest("invalid input: input must not be empty")
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return badRequest("invalid encoding_format %q: want float or base64", req.EncodingFormat)
	}
	if req.Dimensions < 0 {
		return badRequest("dimensions must be positive")
	}
	e, _, err := s.embedOnce(r, req.Model, inputs, pipeline.EmbedOptions{Truncate: true, Dimensions: req.Dimensions}, nil)
	if err != nil {
		return err
	}
	data := make([]openAIEmbedding, len(e.Vectors))
	for i, v := range e.Vectors {
		data[i] = openAIEmbedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			data[i].Embedding = floatsBase64(v)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  openAIUsage{PromptTokens: e.Tokens, TotalTokens: e.Tokens},
	})
}

// floatsBase64 encodes float32s as OpenAI's base64 format: little-endian
// IEEE 754 bytes.
func floatsBase64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
