package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"

	"runner/internal/fixtures"
)

var llama = testOrg + "/" + fixtures.TinyLlama

// genAIRepo is the Llama fixture laid out as an onnxruntime-genai repo.
const genAIRepo = "tiny-llama-genai"

// thinkingRepo is the Llama fixture with a template that opens a thinking
// block.
const thinkingRepo = "tiny-llama-thinking"

var greedyOptions = map[string]any{"temperature": 0, "num_predict": 12}

func TestGenerateOverOllamaClient(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()

	var streamed strings.Builder
	var final api.GenerateResponse
	chunks := 0
	err := h.client.Generate(ctx, &api.GenerateRequest{Model: llama, Prompt: "Once upon a time", Raw: true, Options: greedyOptions},
		func(r api.GenerateResponse) error {
			chunks++
			streamed.WriteString(r.Response)
			if r.Done {
				final = r
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !final.Done || final.EvalCount == 0 || final.PromptEvalCount == 0 || len(final.Context) != final.PromptEvalCount+final.EvalCount ||
		final.DoneReason == "" || final.EvalDuration == 0 || chunks < 2 {
		t.Fatalf("final %+v after %d chunks", final, chunks)
	}
	no := false
	var whole api.GenerateResponse
	err = h.client.Generate(ctx, &api.GenerateRequest{Model: llama, Prompt: "Once upon a time", Raw: true, Options: greedyOptions, Stream: &no},
		func(r api.GenerateResponse) error { whole = r; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if whole.Response != streamed.String() {
		t.Fatalf("non-streamed %q, streamed %q", whole.Response, streamed.String())
	}

	// Empty prompt: load; keep_alive 0: unload.
	var load api.GenerateResponse
	if err := h.client.Generate(ctx, &api.GenerateRequest{Model: llama}, func(r api.GenerateResponse) error { load = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if load.DoneReason != "load" {
		t.Fatalf("load: %+v", load)
	}
	zero := &api.Duration{}
	if err := h.client.Generate(ctx, &api.GenerateRequest{Model: llama, KeepAlive: zero}, func(r api.GenerateResponse) error { load = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if load.DoneReason != "unload" {
		t.Fatalf("unload: %+v", load)
	}
}

func TestChatOverOllamaClient(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()
	msgs := []api.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Name a colour."}}
	chat := func(stream bool) (string, api.ChatResponse) {
		var text strings.Builder
		var final api.ChatResponse
		err := h.client.Chat(ctx, &api.ChatRequest{Model: llama, Messages: msgs, Options: greedyOptions, Stream: &stream}, func(r api.ChatResponse) error {
			text.WriteString(r.Message.Content)
			if r.Done {
				final = r
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return text.String(), final
	}
	streamed, final := chat(true)
	whole, _ := chat(false)
	if streamed == "" || streamed != whole || final.Message.Role != "assistant" || final.EvalCount == 0 {
		t.Fatalf("streamed %q, whole %q, final %+v", streamed, whole, final)
	}

	// Concurrent chats decode in one batch and answer as they would alone.
	var wg sync.WaitGroup
	answers := make([]string, 6)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], _ = chat(false)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a != whole {
			t.Fatalf("concurrent chat %d: %q, want %q", i, a, whole)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	h := startServer(t, nil)
	cases := map[string]struct {
		path, body string
		status     int
		contains   string
	}{
		"images":      {"/api/generate", `{"model":"` + llama + `","prompt":"x","images":["aGk="]}`, 400, "images are not supported"},
		"wrong task":  {"/api/generate", `{"model":"` + embedder + `","prompt":"x"}`, 400, "supports: embedding"},
		"option type": {"/api/generate", `{"model":"` + llama + `","prompt":"x","options":{"temperature":"hot"}}`, 400, "temperature"},
		"bad role":    {"/api/chat", `{"model":"` + llama + `","messages":[{"role":"assistant","content":"x"}]}`, 400, ""},
		"no role":     {"/api/chat", `{"model":"` + llama + `","messages":[{"content":"x"}]}`, 400, "no role"},
		"openai n":    {"/v1/chat/completions", `{"model":"` + llama + `","messages":[{"role":"user","content":"x"}],"n":2}`, 400, "n must be 1"},
		"unknown":     {"/v1/chat/completions", `{"model":"runner-test/nope","messages":[{"role":"user","content":"x"}]}`, 404, "not_found_error"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := h.post(t, "POST", c.path, c.body)
			if status != c.status || !bytes.Contains(body, []byte(c.contains)) {
				t.Fatalf("%d %s; want %d containing %q", status, body, c.status, c.contains)
			}
		})
	}
	// Errors reach the Go client as StatusError.
	err := h.client.Generate(context.Background(), &api.GenerateRequest{Model: "runner-test/nope", Prompt: "x"}, func(api.GenerateResponse) error { return nil })
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestOpenAIChat(t *testing.T) {
	h := startServer(t, nil)
	body := `{"model":"` + llama + `","messages":[{"role":"user","content":[{"type":"text","text":"Name a colour."}]}],"temperature":0,"max_tokens":10`
	status, resp := h.post(t, "POST", "/v1/chat/completions", body+`}`)
	if status != 200 {
		t.Fatalf("%d %s", status, resp)
	}
	var r struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	if r.Object != "chat.completion" || len(r.Choices) != 1 || r.Choices[0].Message.Role != "assistant" || r.Usage.CompletionTokens == 0 {
		t.Fatalf("response %s", resp)
	}

	status, resp = h.post(t, "POST", "/v1/chat/completions", body+`,"stream":true,"stream_options":{"include_usage":true}}`)
	if status != 200 {
		t.Fatalf("stream: %d %s", status, resp)
	}
	var text strings.Builder
	var events int
	var done, usage bool
	sc := bufio.NewScanner(bytes.NewReader(resp))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string }
			}
			Usage *struct{} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("bad event %q: %v", line, err)
		}
		events++
		usage = usage || c.Usage != nil
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if !done || !usage || events < 3 || text.String() != r.Choices[0].Message.Content {
		t.Fatalf("stream: done %v usage %v, %d events, text %q vs %q", done, usage, events, text.String(), r.Choices[0].Message.Content)
	}

	status, resp = h.post(t, "POST", "/v1/completions", `{"model":"`+llama+`","prompt":"Once upon a time","temperature":0,"max_tokens":5}`)
	if status != 200 || !bytes.Contains(resp, []byte(`"object":"text_completion"`)) {
		t.Fatalf("completions: %d %s", status, resp)
	}
}

// A context smaller than prompt plus answer shifts by default and ends
// with done_reason "length" when shift is false, as in Ollama.
func TestGenerateContextShift(t *testing.T) {
	h := startServer(t, nil)
	run := func(shift *bool) api.GenerateResponse {
		var final api.GenerateResponse
		err := h.client.Generate(context.Background(), &api.GenerateRequest{Model: llama, Prompt: "Once upon a time", Raw: true, Shift: shift,
			Options: map[string]any{"temperature": 0, "num_predict": 40, "num_ctx": 24}}, func(r api.GenerateResponse) error { final = r; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return final
	}
	if r := run(nil); r.EvalCount != 40 || r.DoneReason != "length" {
		t.Fatalf("shifting: %d tokens, done_reason %q; want 40, length", r.EvalCount, r.DoneReason)
	}
	_, body := h.post(t, "GET", "/metrics", "")
	shifts := ""
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "runner_context_shifts_total{") {
			shifts = line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	if shifts == "" || shifts == "0" {
		t.Fatalf("metrics do not count the shift (%q):\n%s", shifts, body)
	}
	no := false
	if r := run(&no); r.PromptEvalCount+r.EvalCount != 24 || r.DoneReason != "length" {
		t.Fatalf("without shift: %d+%d tokens, done_reason %q; want 24 in all, length", r.PromptEvalCount, r.EvalCount, r.DoneReason)
	}
}

// A repository laid out as onnxruntime-genai publishes models (a folder per
// variant with genai_config.json) pulls its CPU folder and generates what
// the same graph does in the transformers.js layout.
func TestGenerateGenAIRepo(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()
	generate := func(model string) api.GenerateResponse {
		var final api.GenerateResponse
		var text strings.Builder
		err := h.client.Generate(ctx, &api.GenerateRequest{Model: model, Prompt: "Once upon a time", Raw: true, Options: greedyOptions},
			func(r api.GenerateResponse) error { text.WriteString(r.Response); final = r; return nil })
		if err != nil {
			t.Fatal(err)
		}
		final.Response = text.String()
		return final
	}
	got, want := generate(testOrg+"/"+genAIRepo), generate(llama)
	if got.Response != want.Response || got.EvalCount != want.EvalCount {
		t.Fatalf("genai repo: %q (%d tokens), want %q (%d tokens)", got.Response, got.EvalCount, want.Response, want.EvalCount)
	}
	list, err := h.client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list.Models, func(m api.ListModelResponse) bool { return m.Name == testOrg+"/"+genAIRepo+":cpu-fp32" }) {
		t.Fatalf("list %+v lacks the genai variant", list.Models)
	}
	show, err := h.client.Show(ctx, &api.ShowRequest{Model: testOrg + "/" + genAIRepo})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(show.Capabilities, "completion") {
		t.Fatalf("capabilities %v", show.Capabilities)
	}
}

// An answer inside a thinking block the template opened streams as
// message.thinking, as Ollama's does, and the whole answer says the same.
func TestChatStreamsThinking(t *testing.T) {
	h := startServer(t, nil)
	ctx := context.Background()
	req := func(stream bool) *api.ChatRequest {
		return &api.ChatRequest{Model: testOrg + "/" + thinkingRepo, Messages: []api.Message{{Role: "user", Content: "Why?"}},
			Options: greedyOptions, Stream: &stream}
	}
	var thinking, content strings.Builder
	err := h.client.Chat(ctx, req(true), func(r api.ChatResponse) error {
		thinking.WriteString(r.Message.Thinking)
		content.WriteString(r.Message.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if thinking.Len() == 0 || content.Len() != 0 {
		t.Fatalf("streamed thinking %q, content %q: want it all as thinking", thinking.String(), content.String())
	}
	var whole api.ChatResponse
	if err := h.client.Chat(ctx, req(false), func(r api.ChatResponse) error { whole = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if whole.Message.Thinking != strings.TrimSpace(thinking.String()) || whole.Message.Content != "" {
		t.Fatalf("whole answer: thinking %q, content %q; streamed thinking %q", whole.Message.Thinking, whole.Message.Content, thinking.String())
	}

	// /api/generate's templated prompts split it the same way.
	for _, stream := range []bool{true, false} {
		var th, resp strings.Builder
		err := h.client.Generate(ctx, &api.GenerateRequest{Model: testOrg + "/" + thinkingRepo, Prompt: "Why?", Options: greedyOptions, Stream: &stream},
			func(r api.GenerateResponse) error {
				th.WriteString(r.Thinking)
				resp.WriteString(r.Response)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(th.String()) != strings.TrimSpace(thinking.String()) || resp.Len() != 0 {
			t.Fatalf("generate (stream %v): thinking %q, response %q; want %q and none", stream, th.String(), resp.String(), thinking.String())
		}
	}

	// OpenAI's route streams it as "reasoning".
	status, body := h.post(t, "POST", "/v1/chat/completions", `{"model":"`+testOrg+"/"+thinkingRepo+`","messages":[{"role":"user","content":"Why?"}],"temperature":0,"max_tokens":12,"stream":true}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var reasoning, text strings.Builder
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content, Reasoning string }
			}
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		for _, ch := range c.Choices {
			reasoning.WriteString(ch.Delta.Reasoning)
			text.WriteString(ch.Delta.Content)
		}
	}
	if reasoning.String() != thinking.String() || text.Len() != 0 {
		t.Fatalf("OpenAI stream: reasoning %q, content %q; want %q and none", reasoning.String(), text.String(), thinking.String())
	}
}
