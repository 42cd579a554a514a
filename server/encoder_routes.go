package server

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"runner/pipeline"
)

// encoderRoutes are runner's own routes for the encoder tasks Ollama lacks:
// reranking (in Ollama's style, and in the shape Cohere, Jina and LocalAI
// clients use) and classification of texts and their tokens.
func (s *Server) encoderRoutes() {
	s.handle("POST /api/rerank", s.rerank)
	s.handle("POST /v1/rerank", s.rerankV1)
	s.handle("POST /v2/rerank", s.rerankV2)
	s.handle("POST /api/classify", s.classify)
}

// rerankRequest is the body of both rerank routes. Documents are strings
// or objects with a text field (Cohere's and Jina's).
type rerankRequest struct {
	Model           string        `json:"model"`
	Query           string        `json:"query"`
	Documents       []any         `json:"documents"`
	TopN            *int          `json:"top_n"`
	ReturnDocuments *bool         `json:"return_documents"`
	Truncate        *bool         `json:"truncate"`
	RawScores       bool          `json:"raw_scores"`
	KeepAlive       *api.Duration `json:"keep_alive"`
}

// rerankResponse is /api/rerank's answer; documents are strings.
type rerankResponse struct {
	Model           string         `json:"model"`
	Results         []rerankResult `json:"results"`
	TotalDuration   time.Duration  `json:"total_duration"`
	LoadDuration    time.Duration  `json:"load_duration"`
	PromptEvalCount int            `json:"prompt_eval_count"`
}

type rerankResult struct {
	Index          int     `json:"index"`
	RelevanceScore float64 `json:"relevance_score"`
	// Document is the text (/api/rerank) or {"text": ...} (/v1/rerank).
	Document any `json:"document,omitempty"`
}

// rerankV1Response is /v1/rerank's answer, readable by Jina, Cohere and
// LocalAI clients.
type rerankV1Response struct {
	ID      string         `json:"id"`
	Model   string         `json:"model"`
	Results []rerankResult `json:"results"`
	Usage   openAIUsage    `json:"usage"`
	Meta    rerankMeta     `json:"meta"`
}

type rerankMeta struct {
	BilledUnits struct {
		InputTokens int `json:"input_tokens"`
		SearchUnits int `json:"search_units"`
	} `json:"billed_units"`
}

type textDocument struct {
	Text string `json:"text"`
}

// documents reads rerank documents: strings or objects with a text field.
func documents(in []any) ([]string, error) {
	if len(in) == 0 {
		return nil, badRequest("documents are required: give at least one")
	}
	out := make([]string, len(in))
	for i, d := range in {
		switch v := d.(type) {
		case string:
			out[i] = v
		case map[string]any:
			text, ok := v["text"].(string)
			if !ok {
				return nil, badRequest("invalid document %d: an object needs a string field text", i)
			}
			out[i] = text
		default:
			return nil, badRequest("invalid document %d: want a string or an object with text, got %s", i, jsonType(d))
		}
	}
	return out, nil
}

// rerankOnce checks a rerank request and runs it.
func (s *Server) rerankOnce(r *http.Request) (*rerankRequest, []string, *pipeline.Ranking, time.Duration, error) {
	var req rerankRequest
	if err := decode(r, &req); err != nil {
		return nil, nil, nil, 0, err
	}
	if req.Query == "" {
		return nil, nil, nil, 0, badRequest("query is required")
	}
	docs, err := documents(req.Documents)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	opts := pipeline.RerankOptions{Truncate: req.Truncate == nil || *req.Truncate, RawScores: req.RawScores}
	if req.TopN != nil {
		if *req.TopN < 0 {
			return nil, nil, nil, 0, badRequest("top_n must not be negative")
		}
		opts.TopN = *req.TopN
	}
	l, err := s.cfg.Models.acquireFor(r.Context(), req.Model, pipeline.TaskRerank)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	defer l.release(keepAlive(req.KeepAlive))
	ranking, err := l.Rerank(r.Context(), req.Query, docs, opts)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	return &req, docs, ranking, l.lease.LoadDuration, nil
}

// rankedResults lists the ranking, with each document made by doc unless
// the request asked for none.
func rankedResults(ranking *pipeline.Ranking, req *rerankRequest, doc func(i int) any) []rerankResult {
	withDocs := req.ReturnDocuments == nil || *req.ReturnDocuments
	out := make([]rerankResult, len(ranking.Results))
	for k, res := range ranking.Results {
		out[k] = rerankResult{Index: res.Index, RelevanceScore: res.Score}
		if withDocs {
			out[k].Document = doc(res.Index)
		}
	}
	return out
}

// rerank is /api/rerank: documents most relevant to the query first.
func (s *Server) rerank(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	req, docs, ranking, load, err := s.rerankOnce(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rerankResponse{
		Model:           req.Model,
		Results:         rankedResults(ranking, req, func(i int) any { return docs[i] }),
		TotalDuration:   time.Since(start),
		LoadDuration:    load,
		PromptEvalCount: ranking.Tokens,
	})
}

// rerankV1 is /v1/rerank, in the shape of Jina's and Cohere's rerank APIs.
func (s *Server) rerankV1(w http.ResponseWriter, r *http.Request) error {
	return s.rerankCohere(w, r, true)
}

// rerankV2 is Cohere's v2 rerank: /v1/rerank's shape, where documents come
// back only when return_documents asks for them.
func (s *Server) rerankV2(w http.ResponseWriter, r *http.Request) error {
	return s.rerankCohere(w, r, false)
}

// rerankCohere answers in the shape Cohere, Jina and LocalAI clients read;
// returnDocuments is the default of the request's return_documents.
func (s *Server) rerankCohere(w http.ResponseWriter, r *http.Request, returnDocuments bool) error {
	req, docs, ranking, _, err := s.rerankOnce(r)
	if err != nil {
		return err
	}
	if req.ReturnDocuments == nil {
		req.ReturnDocuments = &returnDocuments
	}
	resp := rerankV1Response{
		ID:      requestID(),
		Model:   req.Model,
		Results: rankedResults(ranking, req, func(i int) any { return textDocument{Text: docs[i]} }),
		Usage:   openAIUsage{PromptTokens: ranking.Tokens, TotalTokens: ranking.Tokens},
	}
	resp.Meta.BilledUnits.InputTokens = ranking.Tokens
	// Cohere bills a search unit per query and up to 100 documents.
	resp.Meta.BilledUnits.SearchUnits = (len(docs) + 99) / 100
	return writeJSON(w, http.StatusOK, resp)
}

// requestID returns a random UUID (version 4) naming a response.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// classifyRequest is /api/classify's body. The model decides the task:
// token classifiers label tokens; with candidate_labels an NLI model
// classifies zero-shot; otherwise a sequence classifier labels each text.
type classifyRequest struct {
	Model               string   `json:"model"`
	Input               any      `json:"input"`
	TopK                *int     `json:"top_k"`
	CandidateLabels     any      `json:"candidate_labels"`
	HypothesisTemplate  string   `json:"hypothesis_template"`
	MultiLabel          bool     `json:"multi_label"`
	Aggregation         string   `json:"aggregation"`
	AggregationStrategy string   `json:"aggregation_strategy"`
	IgnoreLabels        []string `json:"ignore_labels"`
	FunctionToApply     string   `json:"function_to_apply"`
	Truncate            *bool    `json:"truncate"`
	// Stride labels long texts in overlapping windows (token
	// classification only).
	Stride    int           `json:"stride"`
	KeepAlive *api.Duration `json:"keep_alive"`
}

// classifyResponse holds one list per input, best first for labels, in
// text order for entities.
type classifyResponse struct {
	Model           string        `json:"model"`
	Task            pipeline.Task `json:"task"`
	Results         [][]any       `json:"results"`
	TotalDuration   time.Duration `json:"total_duration"`
	LoadDuration    time.Duration `json:"load_duration"`
	PromptEvalCount int           `json:"prompt_eval_count"`
}

type labelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// entity is a token-classification result as transformers names its
// fields: entity for tokens, entity_group for aggregated groups.
type entity struct {
	Entity      string  `json:"entity,omitempty"`
	EntityGroup string  `json:"entity_group,omitempty"`
	Score       float64 `json:"score"`
	Index       *int    `json:"index,omitempty"`
	Word        string  `json:"word"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
}

// candidateLabels reads candidate_labels: an array of strings, or one
// string of comma-separated labels as transformers accepts.
func candidateLabels(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		var labels []string
		for _, l := range strings.Split(s, ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		return labels, nil
	}
	labels, err := texts(v)
	if err != nil {
		return nil, badRequest("invalid candidate_labels: want a string or an array of strings")
	}
	return labels, nil
}

// classify is /api/classify.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var req classifyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	inputs, err := texts(req.Input)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return badRequest("input is required")
	}
	labels, err := candidateLabels(req.CandidateLabels)
	if err != nil {
		return err
	}
	topK := 0
	if req.TopK != nil {
		if *req.TopK < 0 {
			return badRequest("top_k must not be negative")
		}
		topK = *req.TopK
	}
	fn, err := pipeline.ParseScoreFunction(req.FunctionToApply)
	if err != nil {
		return err
	}
	aggName := req.Aggregation
	if aggName == "" {
		aggName = req.AggregationStrategy
	}
	agg, err := pipeline.ParseAggregation(aggName)
	if err != nil {
		return err
	}
	truncate := req.Truncate == nil || *req.Truncate

	l, err := s.cfg.Models.acquire(r.Context(), req.Model)
	if err != nil {
		return err
	}
	defer l.release(keepAlive(req.KeepAlive))
	resp := classifyResponse{Model: req.Model, Results: make([][]any, len(inputs))}
	switch {
	case l.Supports(pipeline.TaskTokens) && req.CandidateLabels == nil:
		if req.TopK != nil || fn != pipeline.ScoreDefault {
			return badRequest("top_k and function_to_apply do not apply to token classification")
		}
		res, err := l.ClassifyTokens(r.Context(), inputs, pipeline.TokenOptions{Aggregation: agg, IgnoreLabels: req.IgnoreLabels, Truncate: truncate, Stride: req.Stride})
		if err != nil {
			return err
		}
		resp.Task, resp.PromptEvalCount = pipeline.TaskTokens, res.Tokens
		for i, ents := range res.Results {
			resp.Results[i] = entities(ents, res.Aggregated)
		}
	case aggName != "" || req.IgnoreLabels != nil || req.Stride != 0:
		return &pipeline.TaskError{Model: l.Name(), Want: pipeline.TaskTokens, Supported: l.Tasks()}
	case req.CandidateLabels != nil:
		if fn != pipeline.ScoreDefault {
			return badRequest("function_to_apply does not apply to zero-shot classification")
		}
		res, err := l.ZeroShot(r.Context(), inputs, labels, pipeline.ZeroShotOptions{
			HypothesisTemplate: req.HypothesisTemplate, MultiLabel: req.MultiLabel, TopK: topK, Truncate: truncate,
		})
		if err != nil {
			return err
		}
		resp.Task, resp.PromptEvalCount = pipeline.TaskZeroShot, res.Tokens
		fillLabels(resp.Results, res)
	default:
		if req.HypothesisTemplate != "" || req.MultiLabel {
			return badRequest("hypothesis_template and multi_label need candidate_labels")
		}
		res, err := l.Classify(r.Context(), inputs, pipeline.ClassifyOptions{TopK: topK, Function: fn, Truncate: truncate})
		if err != nil {
			return err
		}
		resp.Task, resp.PromptEvalCount = pipeline.TaskClassify, res.Tokens
		fillLabels(resp.Results, res)
	}
	resp.TotalDuration, resp.LoadDuration = time.Since(start), l.lease.LoadDuration
	return writeJSON(w, http.StatusOK, resp)
}

func fillLabels(dst [][]any, c *pipeline.Classification) {
	for i, ls := range c.Results {
		dst[i] = make([]any, len(ls))
		for k, l := range ls {
			dst[i][k] = labelScore{Label: l.Label, Score: l.Score}
		}
	}
}

func entities(ents []pipeline.Entity, aggregated bool) []any {
	out := make([]any, len(ents))
	for k, e := range ents {
		j := entity{Score: e.Score, Word: e.Word, Start: e.Start, End: e.End}
		if aggregated {
			j.EntityGroup = e.Label
		} else {
			j.Entity = e.Label
			idx := e.Index
			j.Index = &idx
		}
		out[k] = j
	}
	return out
}
