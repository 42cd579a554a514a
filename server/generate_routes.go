package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"runner/chattemplate"
	"runner/pipeline"
	"runner/pipeline/textstream"
)

func (s *Server) generateRoutes() {
	s.handle("POST /api/generate", s.generate)
	s.handle("POST /api/chat", s.chat)
}

// readBody reads the whole request body (for requests decoded twice).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, badRequest("read request body: %v", err)
	}
	return b, nil
}

// loadOnly answers a generate or chat request that carries nothing to
// generate: it loads the model (or unloads it with keep_alive 0), as Ollama
// does, and reports done_reason "load" or "unload".
func (s *Server) loadOnly(r *http.Request, model string, ka *time.Duration) (string, error) {
	if ka != nil && *ka == 0 {
		_, err := s.cfg.Models.unload(r.Context(), model)
		return "unload", err
	}
	l, err := s.cfg.Models.acquireFor(r.Context(), model, pipeline.TaskGenerate)
	if err != nil {
		return "", err
	}
	l.release(ka)
	return "load", nil
}

func metrics(start time.Time, load time.Duration, st *pipeline.GenerateStats) api.Metrics {
	return api.Metrics{
		TotalDuration:      time.Since(start),
		LoadDuration:       load,
		PromptEvalCount:    st.PromptTokens,
		PromptEvalDuration: st.PromptDuration,
		EvalCount:          st.Tokens,
		EvalDuration:       st.EvalDuration,
	}
}

// generation are the fields of Ollama's generate and chat requests that
// shape a generation.
type generation struct {
	model           string
	options         map[string]any
	truncate, shift *bool
	format          json.RawMessage
	think           *api.ThinkValue
}

// startGeneration lends a model that generates and reads the request's
// options, truncate, shift and format over its defaults. The caller
// releases the loan.
func (s *Server) startGeneration(r *http.Request, g generation) (*loan, pipeline.GenerateOptions, error) {
	l, err := s.cfg.Models.acquireFor(r.Context(), g.model, pipeline.TaskGenerate)
	if err != nil {
		return nil, pipeline.GenerateOptions{}, err
	}
	opts, err := generateOptions(l.Model, g.options)
	if err == nil && g.truncate != nil {
		opts.Truncate = *g.truncate
	}
	if err == nil && g.shift != nil {
		opts.Shift = *g.shift
	}
	if err == nil {
		err = applyFormat(&opts, g.format)
		// A thinking model thinks first unless asked not to.
		opts.FormatAfterThinking = g.think == nil || g.think.Bool()
	}
	if err != nil {
		l.release(nil)
		return nil, opts, err
	}
	return l, opts, nil
}

// generate is Ollama's /api/generate.
func (s *Server) generate(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	var req api.GenerateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Model == "" {
		return badRequest("model is required")
	}
	if len(req.Images) > 0 {
		return badRequest("images are not supported: runner serves text models")
	}
	if req.Suffix != "" {
		return badRequest("suffix (fill in the middle) is not supported")
	}
	ka := keepAlive(req.KeepAlive)
	if req.Prompt == "" && len(req.Context) == 0 {
		reason, err := s.loadOnly(r, req.Model, ka)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: reason})
	}
	l, opts, err := s.startGeneration(r, generation{model: req.Model, options: req.Options, truncate: req.Truncate, shift: req.Shift, format: req.Format, think: req.Think})
	if err != nil {
		return err
	}
	defer l.release(ka)
	prompt, think, err := s.generatePrompt(l, &req)
	if err != nil {
		return err
	}

	stream := req.Stream == nil || *req.Stream
	var nd *ndjson
	var thinking, full strings.Builder
	if stream {
		nd = newNDJSON(w)
	}
	// emit passes on a piece of the answer, a thinking block apart.
	emit := func(th, text string) {
		if !stream {
			thinking.WriteString(th)
			full.WriteString(text)
		} else if th != "" || text != "" {
			nd.send(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: text, Thinking: th})
		}
	}
	st, err := l.Generate(r.Context(), prompt, opts, func(text string) error {
		if think != nil {
			emit(think.Push(text))
		} else {
			emit("", text)
		}
		return nil
	})
	if err != nil {
		if stream && nd.started {
			nd.send(map[string]string{"error": err.Error()})
			return nil
		}
		return err
	}
	if think != nil {
		emit(think.Flush())
	}
	final := api.GenerateResponse{
		Model:      req.Model,
		CreatedAt:  time.Now().UTC(),
		Response:   full.String(),
		Thinking:   strings.TrimSpace(thinking.String()),
		Done:       true,
		DoneReason: st.DoneReason,
		Context:    st.Context,
		Metrics:    metrics(start, l.lease.LoadDuration, st),
	}
	if !stream {
		return writeJSON(w, http.StatusOK, final)
	}
	nd.send(final)
	return nil
}

// generatePrompt turns /api/generate's prompt into token ids: raw, or
// wrapped in the model's chat template (with the system prompt) as a user
// turn, after the context of an earlier exchange. For templated prompts it
// also returns the splitter that takes a thinking block out of the
// answer; nil for raw ones, whose answer is all response.
func (s *Server) generatePrompt(l *loan, req *api.GenerateRequest) ([]int, *textstream.ThinkSplitter, error) {
	if req.Raw || (!l.HasChatTemplate() && req.Template == "") {
		ids, err := l.EncodePrompt(req.Prompt, len(req.Context) == 0)
		return append(append([]int(nil), req.Context...), ids...), nil, err
	}
	var msgs []chattemplate.Message
	if req.System != "" {
		msgs = append(msgs, chattemplate.Message{Role: "system", Content: req.System})
	}
	msgs = append(msgs, chattemplate.Message{Role: "user", Content: req.Prompt})
	text, err := l.RenderChat(chattemplate.Input{Messages: msgs, AddGenerationPrompt: true, Extra: thinkExtra(req.Think)}, req.Template)
	if err != nil {
		return nil, nil, err
	}
	ids, err := l.EncodePrompt(text, false)
	return append(append([]int(nil), req.Context...), ids...), textstream.NewThinkSplitter(textstream.PromptOpensThinking(text)), err
}

// thinkExtra passes Ollama's think switch to templates that take one.
func thinkExtra(think *api.ThinkValue) map[string]any {
	if think == nil {
		return nil
	}
	return map[string]any{"enable_thinking": think.Bool()}
}

// chatRequest holds the parts of a chat request whose JSON key order
// matters to templates (tools and tool-call arguments print with tojson).
type chatRequest struct {
	Tools    []json.RawMessage `json:"tools"`
	Messages []struct {
		ToolCalls []struct {
			Function struct {
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
}

// chatMessages converts Ollama messages for the template, keeping the
// original JSON of tool-call arguments.
func chatMessages(msgs []api.Message, raw chatRequest) ([]chattemplate.Message, error) {
	out := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		if len(m.Images) > 0 {
			return nil, badRequest("images are not supported: runner serves text models")
		}
		if m.Role == "" {
			return nil, badRequest("message %d has no role", i)
		}
		out[i] = chattemplate.Message{Role: m.Role, Content: m.Content, Reasoning: m.Thinking, ToolCallID: m.ToolCallID, Name: m.ToolName}
		for j, tc := range m.ToolCalls {
			var args json.RawMessage
			if i < len(raw.Messages) && j < len(raw.Messages[i].ToolCalls) {
				args = raw.Messages[i].ToolCalls[j].Function.Arguments
			}
			out[i].ToolCalls = append(out[i].ToolCalls, chattemplate.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
		}
	}
	return out, nil
}

// chat is Ollama's /api/chat.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req api.ChatRequest
	var raw chatRequest
	if err := decode(requestWith(r, body), &req); err != nil {
		return err
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	if req.Model == "" {
		return badRequest("model is required")
	}
	ka := keepAlive(req.KeepAlive)
	if len(req.Messages) == 0 {
		reason, err := s.loadOnly(r, req.Model, ka)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant"}, Done: true, DoneReason: reason})
	}
	msgs, err := chatMessages(req.Messages, raw)
	if err != nil {
		return err
	}
	l, opts, err := s.startGeneration(r, generation{model: req.Model, options: req.Options, truncate: req.Truncate, shift: req.Shift, format: req.Format, think: req.Think})
	if err != nil {
		return err
	}
	defer l.release(ka)
	text, err := l.RenderChat(chattemplate.Input{Messages: msgs, Tools: raw.Tools, AddGenerationPrompt: true, Extra: thinkExtra(req.Think)}, "")
	if err != nil {
		return err
	}
	prompt, err := l.EncodePrompt(text, false)
	if err != nil {
		return err
	}

	// Tool calls and thinking are only known from the whole answer, so a
	// request with tools streams its answer in one piece at the end.
	stream := (req.Stream == nil || *req.Stream) && len(raw.Tools) == 0
	var nd *ndjson
	var full strings.Builder
	if stream {
		nd = newNDJSON(w)
	}
	// Streamed, a thinking block goes out as message.thinking.
	think := textstream.NewThinkSplitter(textstream.PromptOpensThinking(text))
	send := func(thinking, content string) {
		if thinking != "" || content != "" {
			nd.send(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: api.Message{Role: "assistant", Content: content, Thinking: thinking}})
		}
	}
	st, err := l.Generate(r.Context(), prompt, opts, func(piece string) error {
		full.WriteString(piece)
		if stream {
			send(think.Push(piece))
		}
		return nil
	})
	if err != nil {
		if stream && nd.started {
			nd.send(map[string]string{"error": err.Error()})
			return nil
		}
		return err
	}
	if stream {
		send(think.Flush())
	}
	final := api.ChatResponse{
		Model:      req.Model,
		CreatedAt:  time.Now().UTC(),
		Message:    api.Message{Role: "assistant"},
		Done:       true,
		DoneReason: st.DoneReason,
		Metrics:    metrics(start, l.lease.LoadDuration, st),
	}
	if !stream {
		final.Message = answerMessage(full.String(), textstream.PromptOpensThinking(text), len(raw.Tools) > 0)
	}
	if req.Stream != nil && !*req.Stream {
		return writeJSON(w, http.StatusOK, final)
	}
	if nd == nil {
		nd = newNDJSON(w)
	}
	nd.send(final)
	return nil
}

// answerMessage splits a whole answer into thinking, content and tool
// calls; open says the prompt opened a thinking block.
func answerMessage(text string, open, tools bool) api.Message {
	msg := api.Message{Role: "assistant"}
	msg.Thinking, msg.Content = pipeline.SplitThinking(text, open)
	if !tools {
		return msg
	}
	content, calls := pipeline.ParseToolCalls(msg.Content)
	if len(calls) == 0 {
		return msg
	}
	msg.Content = content
	for i, c := range calls {
		var args api.ToolCallFunctionArguments
		if err := json.Unmarshal(c.Arguments, &args); err != nil {
			continue
		}
		msg.ToolCalls = append(msg.ToolCalls, api.ToolCall{Function: api.ToolCallFunction{Index: i, Name: c.Name, Arguments: args}})
	}
	return msg
}

// requestWith returns r with body as its body, for decoding a body read once.
func requestWith(r *http.Request, body []byte) *http.Request {
	r2 := *r
	r2.Body = io.NopCloser(bytes.NewReader(body))
	return &r2
}
