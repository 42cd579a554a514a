package server_test

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"

	"runner/internal/fixtures"
)

var (
	reranker   = testOrg + "/" + fixtures.TinyBERTReranker
	classifier = testOrg + "/" + fixtures.TinyBERTClassifier
	ner        = testOrg + "/" + fixtures.TinyBERTNER
	nli        = testOrg + "/" + fixtures.TinyBERTNLI
)

// postJSON posts body to path, expects 200 and decodes the answer into out.
func (h *harness) postJSON(t *testing.T, path string, body any, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	status, resp := h.post(t, "POST", path, string(b))
	if status != 200 {
		t.Fatalf("%s: %d %s", path, status, resp)
	}
	if err := json.Unmarshal(resp, out); err != nil {
		t.Fatalf("%s: %v in %s", path, err, resp)
	}
}

type rerankAnswer struct {
	ID      string
	Model   string
	Results []struct {
		Index          int
		RelevanceScore float64 `json:"relevance_score"`
		Document       json.RawMessage
	}
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	Meta struct {
		BilledUnits struct {
			SearchUnits int `json:"search_units"`
		} `json:"billed_units"`
	}
	PromptEvalCount int `json:"prompt_eval_count"`
}

func TestRerankRoutes(t *testing.T) {
	h := startServer(t, nil)
	docs := []string{"Cats sleep most of the day.", "Paris is in France.", "A kitten is a young cat.", "Stock markets fell."}
	query := "what do cats do?"

	var api rerankAnswer
	h.postJSON(t, "/api/rerank", map[string]any{"model": reranker, "query": query, "documents": docs}, &api)
	if api.Model != reranker || len(api.Results) != len(docs) || api.PromptEvalCount == 0 {
		t.Fatalf("/api/rerank: %+v", api)
	}
	seen := map[int]bool{}
	for k, r := range api.Results {
		var doc string
		if err := json.Unmarshal(r.Document, &doc); err != nil || doc != docs[r.Index] {
			t.Errorf("result %d: document %s for index %d", k, r.Document, r.Index)
		}
		if r.RelevanceScore <= 0 || r.RelevanceScore >= 1 || (k > 0 && r.RelevanceScore > api.Results[k-1].RelevanceScore) {
			t.Errorf("result %d: relevance %g out of order or range", k, r.RelevanceScore)
		}
		seen[r.Index] = true
		// The document alone scores what it scored in the batch.
		var one rerankAnswer
		h.postJSON(t, "/api/rerank", map[string]any{"model": reranker, "query": query, "documents": []string{docs[r.Index]}}, &one)
		if d := math.Abs(one.Results[0].RelevanceScore - r.RelevanceScore); d > 1e-5 {
			t.Errorf("document %d: alone %g, in the batch %g", r.Index, one.Results[0].RelevanceScore, r.RelevanceScore)
		}
	}
	if len(seen) != len(docs) {
		t.Fatalf("indices %v", seen)
	}

	// Cohere's and Jina's shape: documents as objects in, {"text"} out.
	objects := make([]map[string]string, len(docs))
	for i, d := range docs {
		objects[i] = map[string]string{"text": d}
	}
	var v1 rerankAnswer
	h.postJSON(t, "/v1/rerank", map[string]any{"model": reranker, "query": query, "documents": objects, "top_n": 2}, &v1)
	if len(v1.Results) != 2 || v1.Usage.PromptTokens != api.PromptEvalCount || v1.Usage.TotalTokens != v1.Usage.PromptTokens ||
		v1.Meta.BilledUnits.SearchUnits != 1 || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(v1.ID) {
		t.Fatalf("/v1/rerank: %+v", v1)
	}
	for k, r := range v1.Results {
		var doc struct{ Text string }
		if err := json.Unmarshal(r.Document, &doc); err != nil || doc.Text != docs[r.Index] || r.Index != api.Results[k].Index ||
			math.Abs(r.RelevanceScore-api.Results[k].RelevanceScore) > 1e-9 {
			t.Errorf("/v1/rerank result %d: %+v %s, /api/rerank %+v", k, r, r.Document, api.Results[k])
		}
	}

	// Cohere's v2 route: documents as strings, none in the answer.
	var v2 rerankAnswer
	h.postJSON(t, "/v2/rerank", map[string]any{"model": reranker, "query": query, "documents": docs, "top_n": 2}, &v2)
	if len(v2.Results) != 2 || v2.ID == "" || v2.Meta.BilledUnits.SearchUnits != 1 {
		t.Fatalf("/v2/rerank: %+v", v2)
	}
	for k, r := range v2.Results {
		if r.Document != nil || r.Index != api.Results[k].Index || math.Abs(r.RelevanceScore-api.Results[k].RelevanceScore) > 1e-9 {
			t.Errorf("/v2/rerank result %d: %+v %s, /api/rerank %+v", k, r, r.Document, api.Results[k])
		}
	}

	// Without documents in the answer, and with raw logits.
	status, body := h.post(t, "POST", "/api/rerank", `{"model":"`+reranker+`","query":"q","documents":["a","b"],"return_documents":false,"raw_scores":true}`)
	if status != 200 || bytes.Contains(body, []byte(`"document"`)) {
		t.Fatalf("return_documents false: %d %s", status, body)
	}
	var raw rerankAnswer
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	var scored rerankAnswer
	h.postJSON(t, "/api/rerank", map[string]any{"model": reranker, "query": "q", "documents": []string{"a", "b"}}, &scored)
	for k := range scored.Results {
		if want := 1 / (1 + math.Exp(-raw.Results[k].RelevanceScore)); scored.Results[k].Index != raw.Results[k].Index ||
			math.Abs(scored.Results[k].RelevanceScore-want) > 1e-9 {
			t.Errorf("score %g is not the sigmoid of the logit %g", scored.Results[k].RelevanceScore, raw.Results[k].RelevanceScore)
		}
	}
}

type classifyAnswer struct {
	Model           string
	Task            string
	Results         [][]map[string]any
	PromptEvalCount int `json:"prompt_eval_count"`
}

func TestClassifyRoute(t *testing.T) {
	h := startServer(t, nil)

	var c classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": classifier, "input": []string{"I love it", "I hate it"}}, &c)
	if c.Task != "classification" || len(c.Results) != 2 || c.PromptEvalCount == 0 {
		t.Fatalf("classify: %+v", c)
	}
	for i, labels := range c.Results {
		sum := 0.0
		for _, l := range labels {
			sum += l["score"].(float64)
		}
		if len(labels) != 2 || math.Abs(sum-1) > 1e-6 || labels[0]["score"].(float64) < labels[1]["score"].(float64) {
			t.Errorf("input %d: %v", i, labels)
		}
	}
	var top classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": classifier, "input": "I love it", "top_k": 1}, &top)
	if len(top.Results) != 1 || len(top.Results[0]) != 1 || top.Results[0][0]["label"] != c.Results[0][0]["label"] ||
		top.Results[0][0]["score"] != c.Results[0][0]["score"] {
		t.Fatalf("top_k 1: %+v, all: %+v", top.Results, c.Results[0])
	}

	// Zero-shot: candidate labels as an array or a comma-separated string.
	var zs, zs2 classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": nli, "input": "I bought a phone", "candidate_labels": []string{"shopping", "travel", "sport"}}, &zs)
	h.postJSON(t, "/api/classify", map[string]any{"model": nli, "input": "I bought a phone", "candidate_labels": "shopping, travel,sport"}, &zs2)
	if zs.Task != "zero-shot-classification" || len(zs.Results[0]) != 3 || !equalJSON(t, zs.Results, zs2.Results) {
		t.Fatalf("zero-shot: %+v and %+v", zs, zs2)
	}
	var multi classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": nli, "input": "I bought a phone", "candidate_labels": []string{"shopping", "travel"},
		"multi_label": true, "hypothesis_template": "This text is about {}."}, &multi)
	if len(multi.Results[0]) != 2 {
		t.Fatalf("multi-label: %+v", multi)
	}
	// The NLI model also classifies plainly, by its own labels.
	var plain classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": nli, "input": "I bought a phone"}, &plain)
	if plain.Task != "classification" || len(plain.Results[0]) != 3 {
		t.Fatalf("NLI without candidate labels: %+v", plain)
	}

	// Token classification: entity and index per token, entity_group when
	// aggregated, offsets in characters.
	text := "Zoë Müller lives in Zürich"
	var toks, groups classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": ner, "input": text, "ignore_labels": []string{}}, &toks)
	h.postJSON(t, "/api/classify", map[string]any{"model": ner, "input": text, "aggregation_strategy": "first", "ignore_labels": []string{}}, &groups)
	if toks.Task != "token-classification" || len(toks.Results[0]) == 0 || len(groups.Results[0]) == 0 {
		t.Fatalf("tokens %+v, groups %+v", toks, groups)
	}
	runes := []rune(text)
	for _, e := range toks.Results[0] {
		if _, ok := e["entity"].(string); !ok || e["index"] == nil || e["entity_group"] != nil {
			t.Errorf("token entity %v", e)
		}
	}
	for _, e := range groups.Results[0] {
		start, end := int(e["start"].(float64)), int(e["end"].(float64))
		span := strings.ToLower(string(runes[start:end]))
		if _, ok := e["entity_group"].(string); !ok || e["index"] != nil || e["entity"] != nil || span == "" {
			t.Errorf("group %v spans %q", e, span)
		}
	}
	if last := groups.Results[0][len(groups.Results[0])-1]; last["end"].(float64) != float64(len(runes)) {
		t.Errorf("last group %v does not end at character %d", last, len(runes))
	}

	// A text longer than the model takes: cut by default, labelled to its
	// end in windows with a stride.
	long := strings.Repeat("Zoë Müller lives in Zürich. ", 300)
	var cut, windows classifyAnswer
	h.postJSON(t, "/api/classify", map[string]any{"model": ner, "input": long, "ignore_labels": []string{}}, &cut)
	h.postJSON(t, "/api/classify", map[string]any{"model": ner, "input": long, "ignore_labels": []string{}, "stride": 64}, &windows)
	lastEnd := func(a classifyAnswer) float64 { return a.Results[0][len(a.Results[0])-1]["end"].(float64) }
	if n := float64(len([]rune(strings.TrimSpace(long)))); lastEnd(windows) != n || lastEnd(cut) >= n/2 {
		t.Errorf("a %v-character text: labelled to %v with a stride, to %v cut", n, lastEnd(windows), lastEnd(cut))
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestEncoderRouteErrors(t *testing.T) {
	h := startServer(t, nil)
	cases := map[string]struct {
		path, body string
		status     int
		contains   string
	}{
		"rerank with an embedder":      {"/api/rerank", `{"model":"` + embedder + `","query":"q","documents":["d"]}`, 400, "supports: embedding"},
		"rerank with a classifier":     {"/api/rerank", `{"model":"` + classifier + `","query":"q","documents":["d"]}`, 400, "does not support rerank"},
		"rerank without query":         {"/api/rerank", `{"model":"` + reranker + `","documents":["d"]}`, 400, "query is required"},
		"rerank without documents":     {"/api/rerank", `{"model":"` + reranker + `","query":"q","documents":[]}`, 400, "documents are required"},
		"rerank document type":         {"/api/rerank", `{"model":"` + reranker + `","query":"q","documents":[3]}`, 400, "document 0"},
		"rerank document without text": {"/api/rerank", `{"model":"` + reranker + `","query":"q","documents":[{"title":"x"}]}`, 400, "text"},
		"rerank negative top_n":        {"/api/rerank", `{"model":"` + reranker + `","query":"q","documents":["d"],"top_n":-1}`, 400, "top_n"},
		"rerank too long":              {"/api/rerank", `{"model":"` + reranker + `","query":"q","documents":["` + strings.Repeat("word ", 600) + `"],"truncate":false}`, 400, "longer than"},
		"rerank unknown model":         {"/api/rerank", `{"model":"runner-test/nope","query":"q","documents":["d"]}`, 404, "not found"},
		"v1 rerank envelope":           {"/v1/rerank", `{"model":"` + embedder + `","query":"q","documents":["d"]}`, 400, `"type":"invalid_request_error"`},
		"classify with an embedder":    {"/api/classify", `{"model":"` + embedder + `","input":"x"}`, 400, "supports: embedding"},
		"classify without input":       {"/api/classify", `{"model":"` + classifier + `"}`, 400, "input is required"},
		"candidate labels, no NLI":     {"/api/classify", `{"model":"` + classifier + `","input":"x","candidate_labels":["a"]}`, 400, "does not support zero-shot-classification"},
		"empty candidate labels":       {"/api/classify", `{"model":"` + nli + `","input":"x","candidate_labels":[]}`, 400, "candidate label"},
		"template without {}":          {"/api/classify", `{"model":"` + nli + `","input":"x","candidate_labels":["a"],"hypothesis_template":"nothing"}`, 400, "{}"},
		"template, no labels":          {"/api/classify", `{"model":"` + nli + `","input":"x","hypothesis_template":"It is {}."}`, 400, "need candidate_labels"},
		"aggregation on a classifier":  {"/api/classify", `{"model":"` + classifier + `","input":"x","aggregation":"simple"}`, 400, "does not support token-classification"},
		"unknown aggregation":          {"/api/classify", `{"model":"` + ner + `","input":"x","aggregation":"longest"}`, 400, "aggregation strategy"},
		"top_k on tokens":              {"/api/classify", `{"model":"` + ner + `","input":"x","top_k":2}`, 400, "token classification"},
		"stride on a classifier":       {"/api/classify", `{"model":"` + classifier + `","input":"x","stride":8}`, 400, "does not support token-classification"},
		"negative stride":              {"/api/classify", `{"model":"` + ner + `","input":"x","stride":-1}`, 400, "negative"},
		"unknown function":             {"/api/classify", `{"model":"` + classifier + `","input":"x","function_to_apply":"tanh"}`, 400, "score function"},
		"negative top_k":               {"/api/classify", `{"model":"` + classifier + `","input":"x","top_k":-2}`, 400, "top_k"},
		"input type":                   {"/api/classify", `{"model":"` + classifier + `","input":{"a":1}}`, 400, "invalid input"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := h.post(t, "POST", c.path, c.body)
			if status != c.status || !bytes.Contains(body, []byte(c.contains)) || !json.Valid(body) {
				t.Fatalf("%s: %d %s; want %d containing %q", c.path, status, body, c.status, c.contains)
			}
		})
	}
}
