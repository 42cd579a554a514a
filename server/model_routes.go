package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"runner/modelstore"
	"runner/pipeline"
)

func (s *Server) modelRoutes() {
	s.handle("GET /api/tags", s.tags)
	s.handle("POST /api/show", s.show)
	s.handle("GET /api/ps", s.ps)
	s.handle("POST /api/pull", s.pull)
	s.handle("DELETE /api/delete", s.deleteModel)
	s.handle("GET /v1/models", s.openAIModels)
	s.handle("GET /v1/models/{model...}", s.openAIModel)
	// Ollama's routes for building and publishing its own model format have
	// no meaning for ONNX models from the Hub; they answer so, rather than
	// with a bare 404.
	for _, route := range []string{"POST /api/create", "POST /api/copy", "POST /api/push", "HEAD /api/blobs/{digest}", "POST /api/blobs/{digest}"} {
		s.handle(route, s.modelAuthoring)
	}
}

// modelAuthoring answers Ollama's create, copy, push and blob routes.
func (s *Server) modelAuthoring(w http.ResponseWriter, r *http.Request) error {
	return &apiError{http.StatusNotImplemented, fmt.Sprintf("%s %s is not supported: runner serves ONNX models from the Hugging Face Hub "+
		"and does not build, copy or push Ollama models; get a model with `runner pull ORG/NAME[:VARIANT]` (or POST /api/pull), "+
		"or use a local directory laid out like a Hub repository as the model name", r.Method, r.URL.Path)}
}

// modelName picks the model of a request that may still use Ollama's
// deprecated name field.
func modelName(model, name string) (string, error) {
	if model == "" {
		model = name
	}
	if model == "" {
		return "", badRequest("model is required")
	}
	return model, nil
}

func details(d modelstore.Details) api.ModelDetails {
	return api.ModelDetails{
		Format:            d.Format,
		Family:            d.Family,
		Families:          d.Families,
		ParameterSize:     d.ParameterSize,
		QuantizationLevel: d.QuantizationLevel,
	}
}

// tags lists pulled models as Ollama's /api/tags does.
func (s *Server) tags(w http.ResponseWriter, r *http.Request) error {
	models, err := s.cfg.Models.Store().List(r.Context())
	if err != nil {
		return err
	}
	resp := api.ListResponse{Models: []api.ListModelResponse{}}
	for _, m := range models {
		resp.Models = append(resp.Models, api.ListModelResponse{
			Name:       m.Name,
			Model:      m.Name,
			ModifiedAt: m.ModifiedAt,
			Size:       m.Size,
			Digest:     m.Digest,
			Details:    details(m.Details),
		})
	}
	return writeJSON(w, http.StatusOK, resp)
}

// show describes one model: Ollama's fields, plus runner's in model_info
// (runner.tasks, runner.variants, runner.inputs, runner.outputs).
func (s *Server) show(w http.ResponseWriter, r *http.Request) error {
	var req api.ShowRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ref, err := modelName(req.Model, req.Name)
	if err != nil {
		return err
	}
	info, err := s.cfg.Models.Store().Show(r.Context(), ref)
	if err != nil {
		return err
	}
	desc, err := pipeline.Describe(info.ConfigDir, info.Graphs)
	if err != nil {
		return err
	}
	arch := info.Details.Family
	if arch == "" {
		arch = "onnx"
	}
	mi := map[string]any{
		"general.architecture":    arch,
		"general.parameter_count": info.Details.Parameters,
		"runner.architecture":     info.Architecture,
		"runner.tasks":            desc.Tasks,
		"runner.variant":          info.Variant,
		"runner.inputs":           desc.Inputs,
		"runner.outputs":          desc.Outputs,
	}
	if info.ContextLength > 0 {
		mi[arch+".context_length"] = info.ContextLength
	}
	if desc.EmbeddingLength > 0 {
		mi[arch+".embedding_length"] = desc.EmbeddingLength
	}
	var variants []map[string]any
	for _, v := range info.Variants {
		variants = append(variants, map[string]any{"variant": v.Variant, "size": v.Size, "pulled": v.Pulled, "files": v.Graphs})
	}
	mi["runner.variants"] = variants
	var caps []model.Capability
	for _, c := range pipeline.Capabilities(desc.Tasks) {
		caps = append(caps, model.Capability(c))
	}
	return writeJSON(w, http.StatusOK, api.ShowResponse{
		License:      info.License,
		Details:      details(info.Details),
		Template:     desc.ChatTemplate,
		ModelInfo:    mi,
		Capabilities: caps,
		ModifiedAt:   info.ModifiedAt,
	})
}

// ps lists loaded models.
func (s *Server) ps(w http.ResponseWriter, r *http.Request) error {
	resp := api.ProcessResponse{Models: []api.ProcessModelResponse{}}
	for _, st := range s.cfg.Models.sched.Loaded() {
		lm := st.Model.(*loadedModel)
		expires := st.ExpiresAt
		if expires.IsZero() {
			// In use, or kept for ever: Ollama shows a far future time.
			expires = time.Now().Add(100 * 365 * 24 * time.Hour)
		}
		resp.Models = append(resp.Models, api.ProcessModelResponse{
			Name:          st.Name,
			Model:         st.Name,
			Size:          st.Size,
			Digest:        lm.ref.Digest,
			Details:       details(lm.ref.Details),
			ExpiresAt:     expires,
			ContextLength: lm.ContextLength(),
		})
	}
	return writeJSON(w, http.StatusOK, resp)
}

// pull pulls a model, streaming Ollama's NDJSON progress unless stream is
// false.
func (s *Server) pull(w http.ResponseWriter, r *http.Request) error {
	var req api.PullRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ref, err := modelName(req.Model, req.Name)
	if err != nil {
		return err
	}
	defer s.cfg.Models.forget(ref)
	stream := req.Stream == nil || *req.Stream
	if !stream {
		if _, err := s.cfg.Models.Store().Pull(r.Context(), ref, modelstore.PullOptions{}); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, api.ProgressResponse{Status: modelstore.StatusSuccess})
	}
	nd := newNDJSON(w)
	_, err = s.cfg.Models.Store().Pull(r.Context(), ref, modelstore.PullOptions{
		Progress: func(p modelstore.Progress) { nd.send(api.ProgressResponse(p)) },
	})
	if err != nil {
		if !nd.started {
			return err
		}
		nd.send(map[string]string{"error": err.Error()})
	}
	return nil
}

// deleteModel removes a model from the cache, unloading it first.
func (s *Server) deleteModel(w http.ResponseWriter, r *http.Request) error {
	var req api.DeleteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ref, err := modelName(req.Model, req.Name)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Models.unload(r.Context(), ref); err != nil && !errors.Is(err, modelstore.ErrNotPulled) {
		return err
	}
	if err := s.cfg.Models.Store().Remove(r.Context(), ref); err != nil {
		if errors.Is(err, modelstore.ErrNotPulled) {
			return notFound("model '%s' not found", ref)
		}
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func toOpenAIModel(m *modelstore.Model) openAIModel {
	owner := "library"
	if org, _, ok := strings.Cut(m.Repo, "/"); ok {
		owner = org
	}
	return openAIModel{ID: m.Name, Object: "model", Created: m.ModifiedAt.Unix(), OwnedBy: owner}
}

func (s *Server) openAIModels(w http.ResponseWriter, r *http.Request) error {
	models, err := s.cfg.Models.Store().List(r.Context())
	if err != nil {
		return err
	}
	data := []openAIModel{}
	for _, m := range models {
		data = append(data, toOpenAIModel(m))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) openAIModel(w http.ResponseWriter, r *http.Request) error {
	info, err := s.cfg.Models.Store().Show(r.Context(), r.PathValue("model"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toOpenAIModel(info.Model))
}

// ndjson streams newline-delimited JSON, flushing each line.
type ndjson struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	rc      *http.ResponseController
	started bool
}

func newNDJSON(w http.ResponseWriter) *ndjson {
	return &ndjson{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w)}
}

func (n *ndjson) send(v any) {
	if !n.started {
		n.w.Header().Set("Content-Type", "application/x-ndjson")
		n.w.WriteHeader(http.StatusOK)
		n.started = true
	}
	if err := n.enc.Encode(v); err != nil {
		return
	}
	_ = n.rc.Flush()
}
