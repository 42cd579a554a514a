package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"runner/pipeline/constrain"
)

// orderSchema is bounded (enums, booleans, short strings, a few items, and
// the matcher's limits on whitespace runs and number lengths) so that even
// a model with random weights finishes it within 1500 tokens: it is at
// most about 1000 bytes.
const orderSchema = `{
  "type": "object",
  "properties": {
    "colour": {"enum": ["red", "green", "blue"]},
    "urgent": {"type": "boolean"},
    "count": {"type": "integer"},
    "note": {"type": "string", "maxLength": 6},
    "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
    "due": {"type": "string", "format": "date"}
  },
  "required": ["colour", "urgent", "count", "note", "tags", "due"]
}`

// checkOrder decodes an answer strictly and checks it against orderSchema.
func checkOrder(t *testing.T, text string) {
	t.Helper()
	var o struct {
		Colour *string
		Urgent *bool
		Count  *json.Number
		Note   *string
		Tags   []string
		Due    *string
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	if o.Due == nil {
		t.Fatalf("%q has no due date", text)
	}
	if _, err := time.Parse("2006-01-02", *o.Due); err != nil {
		t.Fatalf("%q: due: %v", text, err)
	}
	if o.Colour == nil || o.Urgent == nil || o.Count == nil || o.Note == nil || o.Tags == nil ||
		!strings.Contains("red green blue", *o.Colour) || strings.ContainsAny(o.Count.String(), ".eE") || len(o.Tags) > 2 {
		t.Fatalf("%q does not follow the schema", text)
	}
}

func TestFormatSchemaOverOllamaClient(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()
	schema := json.RawMessage(orderSchema)

	// Greedy and sampled, one at a time and eight at once (sharing decode
	// steps), every answer is complete and follows the schema.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := map[string]any{"temperature": 0.9, "seed": i, "num_predict": 1500}
			if i == 0 {
				opts = map[string]any{"temperature": 0, "num_predict": 1500}
			}
			var final api.GenerateResponse
			var text strings.Builder
			err := h.client.Generate(ctx, &api.GenerateRequest{Model: llama, Prompt: "An order as JSON:", Format: schema, Options: opts},
				func(r api.GenerateResponse) error {
					text.WriteString(r.Response)
					final = r
					return nil
				})
			if err == nil && final.DoneReason != "stop" {
				err = fmt.Errorf("request %d: done_reason %q after %d tokens: %q", i, final.DoneReason, final.EvalCount, text.String())
			}
			if err == nil {
				t.Run(fmt.Sprint("request ", i), func(t *testing.T) { checkOrder(t, text.String()) })
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	// Chat takes the same format.
	var reply api.ChatResponse
	no := false
	err := h.client.Chat(ctx, &api.ChatRequest{Model: llama, Messages: []api.Message{{Role: "user", Content: "An order?"}}, Format: schema,
		Stream: &no, Options: map[string]any{"temperature": 0, "num_predict": 1500}}, func(r api.ChatResponse) error { reply = r; return nil })
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, reply.Message.Content)
}

func TestFormatJSON(t *testing.T) {
	h := startServer(t, nil)
	// Free JSON may not finish within the limit; what there is must be a
	// valid beginning, and a finished answer must parse.
	for seed := range 4 {
		var out api.GenerateResponse
		no := false
		err := h.client.Generate(context.Background(), &api.GenerateRequest{Model: llama, Prompt: "JSON:", Format: json.RawMessage(`"json"`), Stream: &no,
			Options: map[string]any{"temperature": 1, "seed": seed, "num_predict": 60}}, func(r api.GenerateResponse) error { out = r; return nil })
		if err != nil {
			t.Fatal(err)
		}
		m := constrain.JSON().NewMatcher()
		if err := m.Advance([]byte(out.Response)); err != nil {
			t.Fatalf("seed %d: %q is not the start of a JSON value: %v", seed, out.Response, err)
		}
		if out.DoneReason == "stop" && !json.Valid([]byte(out.Response)) {
			t.Fatalf("seed %d: finished with invalid JSON %q", seed, out.Response)
		}
	}

	// OpenAI's response_format with a schema.
	body := `{"model":"` + llama + `","messages":[{"role":"user","content":"An order?"}],"temperature":0,"max_tokens":1500,
		"response_format":{"type":"json_schema","json_schema":{"name":"order","strict":true,"schema":` + orderSchema + `}}}`
	status, resp := h.post(t, "POST", "/v1/chat/completions", body)
	if status != 200 {
		t.Fatalf("%d %s", status, resp)
	}
	var r struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.Unmarshal(resp, &r); err != nil || len(r.Choices) != 1 {
		t.Fatalf("%s: %v", resp, err)
	}
	checkOrder(t, r.Choices[0].Message.Content)
}

func TestFormatErrors(t *testing.T) {
	h := startServer(t, nil)
	for name, c := range map[string]struct{ path, body, contains string }{
		"xml":             {"/api/generate", `{"model":"` + llama + `","prompt":"x","format":"xml"}`, "invalid format"},
		"number":          {"/api/generate", `{"model":"` + llama + `","prompt":"x","format":42}`, "invalid format"},
		"multipleOf":      {"/api/chat", `{"model":"` + llama + `","messages":[{"role":"user","content":"x"}],"format":{"type":"integer","multipleOf":3}}`, "multipleOf"},
		"bad type":        {"/api/generate", `{"model":"` + llama + `","prompt":"x","format":{"type":"float"}}`, "unknown type"},
		"openai type":     {"/v1/chat/completions", `{"model":"` + llama + `","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}`, "response_format"},
		"openai noschema": {"/v1/chat/completions", `{"model":"` + llama + `","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, "json_schema"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := h.post(t, "POST", c.path, c.body)
			if status != 400 || !bytes.Contains(body, []byte(c.contains)) {
				t.Fatalf("%d %s; want 400 containing %q", status, body, c.contains)
			}
		})
	}
}
