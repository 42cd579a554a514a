package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"runner/chattemplate"
	"runner/pipeline"
	"runner/pipeline/textstream"
)

func (s *Server) openAIRoutes() {
	s.handle("POST /v1/chat/completions", s.openAIChat)
	s.handle("POST /v1/completions", s.openAICompletion)
}

// openAISampling are the sampling fields OpenAI requests share.
type openAISampling struct {
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float32 `json:"temperature"`
	TopP                *float32 `json:"top_p"`
	FrequencyPenalty    *float32 `json:"frequency_penalty"`
	PresencePenalty     *float32 `json:"presence_penalty"`
	Seed                *int64   `json:"seed"`
	Stop                any      `json:"stop"`
	N                   *int     `json:"n"`
	Stream              bool     `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat json.RawMessage `json:"response_format"`
}

// options applies the request's fields over the model's defaults.
func (o *openAISampling) options(m *pipeline.Model) (pipeline.GenerateOptions, error) {
	g := defaultGenerateOptions(m)
	if o.N != nil && *o.N != 1 {
		return g, badRequest("n must be 1")
	}
	if o.MaxTokens != nil {
		g.MaxTokens = *o.MaxTokens
	}
	if o.MaxCompletionTokens != nil {
		g.MaxTokens = *o.MaxCompletionTokens
	}
	if o.Temperature != nil {
		g.Sampling.Temperature = *o.Temperature
	}
	if o.TopP != nil {
		g.Sampling.TopP = *o.TopP
	}
	if o.FrequencyPenalty != nil {
		g.Sampling.FrequencyPenalty = *o.FrequencyPenalty
	}
	if o.PresencePenalty != nil {
		g.Sampling.PresencePenalty = *o.PresencePenalty
	}
	g.Sampling.Seed = o.Seed
	stop, err := stopOption(o.Stop)
	if err != nil {
		return g, err
	}
	g.Stop = stop
	if g.Sampling.Temperature < 0 || g.Sampling.Temperature > 2 || g.Sampling.TopP < 0 || g.Sampling.TopP > 1 {
		return g, badRequest("temperature must be in [0, 2] and top_p in [0, 1]")
	}
	return g, o.applyResponseFormat(&g)
}

// applyResponseFormat reads OpenAI's response_format: {"type": "text"},
// {"type": "json_object"} for a JSON object, or
// {"type": "json_schema", "json_schema": {"schema": {...}}}.
func (o *openAISampling) applyResponseFormat(g *pipeline.GenerateOptions) error {
	if len(o.ResponseFormat) == 0 || string(o.ResponseFormat) == "null" {
		return nil
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(o.ResponseFormat, &rf); err != nil {
		return badRequest("invalid response_format: %v", err)
	}
	switch rf.Type {
	case "", "text":
		return nil
	case "json_object":
		return applyFormat(g, json.RawMessage(`{"type": "object"}`))
	case "json_schema":
		if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
			return badRequest("response_format json_schema needs json_schema.schema")
		}
		return applyFormat(g, rf.JSONSchema.Schema)
	}
	return badRequest("invalid response_format type %q: want text, json_object or json_schema", rf.Type)
}

type openAIMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls,omitempty"`
}

type openAIChatRequest struct {
	Model    string            `json:"model"`
	Messages []openAIMessage   `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
	openAISampling
}

// templateMessages converts OpenAI messages: content as a string or a list
// of text parts; tool-call arguments as the JSON text OpenAI sends.
func templateMessages(msgs []openAIMessage) ([]chattemplate.Message, error) {
	out := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		if m.Role == "" {
			return nil, badRequest("messages[%d] has no role", i)
		}
		out[i] = chattemplate.Message{Role: m.Role, ToolCallID: m.ToolCallID, Name: m.Name}
		var text string
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		switch {
		case len(m.Content) == 0 || string(m.Content) == "null":
		case json.Unmarshal(m.Content, &text) == nil:
			out[i].Content = text
		case json.Unmarshal(m.Content, &parts) == nil:
			var b strings.Builder
			for _, p := range parts {
				if p.Type != "text" {
					return nil, badRequest("messages[%d]: content of type %q is not supported: runner serves text models", i, p.Type)
				}
				b.WriteString(p.Text)
			}
			out[i].Content = b.String()
		default:
			return nil, badRequest("messages[%d].content: want a string or a list of parts", i)
		}
		for _, tc := range m.ToolCalls {
			args := json.RawMessage(tc.Function.Arguments)
			if !json.Valid(args) {
				args, _ = json.Marshal(tc.Function.Arguments)
			}
			out[i].ToolCalls = append(out[i].ToolCalls, chattemplate.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
		}
	}
	return out, nil
}

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func finishReason(doneReason string) string {
	if doneReason == "length" {
		return "length"
	}
	return "stop"
}

// openAIChat is OpenAI's /v1/chat/completions.
func (s *Server) openAIChat(w http.ResponseWriter, r *http.Request) error {
	var req openAIChatRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Model == "" {
		return badRequest("model is required")
	}
	if len(req.Messages) == 0 {
		return badRequest("messages must not be empty")
	}
	msgs, err := templateMessages(req.Messages)
	if err != nil {
		return err
	}
	l, err := s.cfg.Models.acquireFor(r.Context(), req.Model, pipeline.TaskGenerate)
	if err != nil {
		return err
	}
	defer l.release(nil)
	opts, err := req.options(l.Model)
	if err != nil {
		return err
	}
	text, err := l.RenderChat(chattemplate.Input{Messages: msgs, Tools: req.Tools, AddGenerationPrompt: true}, "")
	if err != nil {
		return err
	}
	prompt, err := l.EncodePrompt(text, false)
	if err != nil {
		return err
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	chunk := func(delta map[string]any, finish *string) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	stream := req.Stream && len(req.Tools) == 0
	var sse *sseWriter
	var full strings.Builder
	if stream {
		sse = newSSE(w)
		sse.send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	}
	// A thinking block streams as "reasoning", as Ollama's OpenAI routes
	// send it.
	think := textstream.NewThinkSplitter(textstream.PromptOpensThinking(text))
	send := func(thinking, content string) {
		delta := map[string]any{}
		if thinking != "" {
			delta["reasoning"] = thinking
		}
		if content != "" {
			delta["content"] = content
		}
		if len(delta) > 0 {
			sse.send(chunk(delta, nil))
		}
	}
	st, err := l.Generate(r.Context(), prompt, opts, func(t string) error {
		full.WriteString(t)
		if stream {
			send(think.Push(t))
		}
		return nil
	})
	if err != nil {
		if stream {
			sse.send(openAIError{Error: openAIErrorBody{Message: err.Error(), Type: openAIErrorType(statusOf(err))}})
			sse.done()
			return nil
		}
		return err
	}
	if stream {
		send(think.Flush())
	}
	usage := map[string]int{"prompt_tokens": st.PromptTokens, "completion_tokens": st.Tokens, "total_tokens": st.PromptTokens + st.Tokens}
	finish := finishReason(st.DoneReason)
	if stream {
		sse.send(chunk(map[string]any{}, &finish))
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			sse.send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": []any{}, "usage": usage})
		}
		sse.done()
		return nil
	}
	msg := answerMessage(full.String(), textstream.PromptOpensThinking(text), len(req.Tools) > 0)
	message := map[string]any{"role": "assistant", "content": msg.Content}
	if msg.Thinking != "" {
		message["reasoning"] = msg.Thinking
	}
	if len(msg.ToolCalls) > 0 {
		var calls []map[string]any
		for _, tc := range msg.ToolCalls {
			args, _ := json.Marshal(tc.Function.Arguments)
			calls = append(calls, map[string]any{"id": newID("call_"), "type": "function",
				"function": map[string]any{"name": tc.Function.Name, "arguments": string(args)}})
		}
		message["tool_calls"] = calls
		finish = "tool_calls"
	}
	resp := map[string]any{"id": id, "object": "chat.completion", "created": created, "model": req.Model,
		"choices": []map[string]any{{"index": 0, "message": message, "finish_reason": finish}}, "usage": usage}
	if stream := req.Stream; stream {
		// Tools were given: the answer streams as one chunk.
		sse = newSSE(w)
		resp["object"] = "chat.completion.chunk"
		resp["choices"] = []map[string]any{{"index": 0, "delta": message, "finish_reason": finish}}
		sse.send(resp)
		sse.done()
		return nil
	}
	return writeJSON(w, http.StatusOK, resp)
}

type openAICompletionRequest struct {
	Model  string `json:"model"`
	Prompt any    `json:"prompt"`
	Suffix string `json:"suffix"`
	Echo   bool   `json:"echo"`
	openAISampling
}

// openAICompletion is OpenAI's legacy /v1/completions: a raw prompt.
func (s *Server) openAICompletion(w http.ResponseWriter, r *http.Request) error {
	var req openAICompletionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Model == "" {
		return badRequest("model is required")
	}
	prompts, err := texts(req.Prompt)
	if err != nil {
		return err
	}
	if len(prompts) != 1 {
		return badRequest("prompt must be one string")
	}
	if req.Suffix != "" {
		return badRequest("suffix (fill in the middle) is not supported")
	}
	l, err := s.cfg.Models.acquireFor(r.Context(), req.Model, pipeline.TaskGenerate)
	if err != nil {
		return err
	}
	defer l.release(nil)
	opts, err := req.options(l.Model)
	if err != nil {
		return err
	}
	if req.MaxTokens == nil && req.MaxCompletionTokens == nil {
		opts.MaxTokens = 16 // OpenAI's default for completions
	}
	prompt, err := l.EncodePrompt(prompts[0], true)
	if err != nil {
		return err
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	choice := func(text string, finish *string) map[string]any {
		return map[string]any{"id": id, "object": "text_completion", "created": created, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "text": text, "logprobs": nil, "finish_reason": finish}}}
	}
	var sse *sseWriter
	var full strings.Builder
	if req.Echo {
		full.WriteString(prompts[0])
	}
	if req.Stream {
		sse = newSSE(w)
		if req.Echo {
			sse.send(choice(prompts[0], nil))
		}
	}
	st, err := l.Generate(r.Context(), prompt, opts, func(t string) error {
		full.WriteString(t)
		if req.Stream {
			sse.send(choice(t, nil))
		}
		return nil
	})
	if err != nil {
		if req.Stream {
			sse.send(openAIError{Error: openAIErrorBody{Message: err.Error(), Type: openAIErrorType(statusOf(err))}})
			sse.done()
			return nil
		}
		return err
	}
	finish := finishReason(st.DoneReason)
	usage := map[string]int{"prompt_tokens": st.PromptTokens, "completion_tokens": st.Tokens, "total_tokens": st.PromptTokens + st.Tokens}
	if req.Stream {
		sse.send(choice("", &finish))
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			sse.send(map[string]any{"id": id, "object": "text_completion", "created": created, "model": req.Model, "choices": []any{}, "usage": usage})
		}
		sse.done()
		return nil
	}
	resp := choice(full.String(), &finish)
	resp["usage"] = usage
	return writeJSON(w, http.StatusOK, resp)
}

// sseWriter streams Server-Sent Events as OpenAI's API does.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	_ = s.rc.Flush()
}

func (s *sseWriter) done() {
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	_ = s.rc.Flush()
}
