package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runner/pipeline/textstream"
	"strings"

	"runner/chattemplate"
)

// ErrNoChatTemplate is returned when a model without a chat template is
// asked to chat.
var ErrNoChatTemplate = errors.New("model has no chat template")

// loadTemplates reads the model's chat templates, if it has any.
func (m *Model) loadTemplates() error {
	set, err := chattemplate.Load(m.dir)
	switch {
	case err == nil:
		m.templates = set
	case errors.Is(err, chattemplate.ErrNoTemplate):
	default:
		return err
	}
	return nil
}

// HasChatTemplate reports whether the model carries a chat template.
func (m *Model) HasChatTemplate() bool { return m.templates != nil }

// RenderChat renders a conversation into prompt text with the model's chat
// template, or with override (a Jinja chat template) when it is not empty.
// A template's raise_exception (a bad role order, say) is a bad request.
func (m *Model) RenderChat(in chattemplate.Input, override string) (string, error) {
	var (
		out string
		err error
	)
	switch {
	case override != "":
		var t *chattemplate.Template
		tokens := chattemplate.SpecialTokens{}
		if m.templates != nil {
			tokens = m.templates.Tokens
		}
		if t, err = chattemplate.Compile(override, tokens); err != nil {
			return "", badRequest("template: %v", err)
		}
		out, err = t.Render(in)
	case m.templates == nil:
		return "", fmt.Errorf("%w: %s", ErrNoChatTemplate, m.name)
	default:
		out, err = m.templates.Render(in)
	}
	var raised *chattemplate.RaisedError
	if errors.As(err, &raised) {
		return "", badRequest("%s", raised.Message)
	}
	return out, err
}

// ToolCall is a function call the model wrote in its answer.
type ToolCall struct {
	Name string
	// Arguments is a JSON object, in the key order the model wrote.
	Arguments json.RawMessage
}

var toolCallTag = regexp.MustCompile(`(?s)<tool_call>\s*(.*?)\s*</tool_call>`)

// ParseToolCalls finds the tool calls in a model's answer, in the formats
// chat templates teach: Hermes and Qwen wrap each call's JSON in
// <tool_call>…</tool_call>; Llama 3 and Mistral answer with a bare JSON
// object or array ({"name": ..., "parameters"|"arguments": {...}}),
// Mistral after [TOOL_CALLS]. It returns the text left without the calls.
func ParseToolCalls(text string) (string, []ToolCall) {
	if ms := toolCallTag.FindAllStringSubmatchIndex(text, -1); ms != nil {
		var calls []ToolCall
		for _, m := range ms {
			if c, ok := parseCalls(text[m[2]:m[3]]); ok {
				calls = append(calls, c...)
			}
		}
		if len(calls) > 0 {
			return strings.TrimSpace(toolCallTag.ReplaceAllString(text, "")), calls
		}
	}
	body := strings.TrimSpace(text)
	body = strings.TrimSpace(strings.TrimPrefix(body, "[TOOL_CALLS]"))
	body = strings.TrimSpace(strings.TrimPrefix(body, "<|python_tag|>"))
	if calls, ok := parseCalls(body); ok {
		return "", calls
	}
	return text, nil
}

// parseCalls decodes one call object or an array of them.
func parseCalls(s string) ([]ToolCall, bool) {
	s = strings.TrimSpace(s)
	var raws []json.RawMessage
	switch {
	case strings.HasPrefix(s, "["):
		if json.Unmarshal([]byte(s), &raws) != nil {
			return nil, false
		}
	case strings.HasPrefix(s, "{"):
		raws = []json.RawMessage{json.RawMessage(s)}
	default:
		return nil, false
	}
	var calls []ToolCall
	for _, raw := range raws {
		var c struct {
			Name       string          `json:"name"`
			Arguments  json.RawMessage `json:"arguments"`
			Parameters json.RawMessage `json:"parameters"`
			Function   *struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &c) != nil {
			return nil, false
		}
		if c.Function != nil {
			c.Name, c.Arguments = c.Function.Name, c.Function.Arguments
		}
		args := c.Arguments
		if args == nil {
			args = c.Parameters
		}
		// Some models write the arguments as a JSON string of JSON.
		var inner string
		if json.Unmarshal(args, &inner) == nil && json.Valid([]byte(inner)) {
			args = json.RawMessage(inner)
		}
		if c.Name == "" || !bytes.HasPrefix(bytes.TrimSpace(args), []byte("{")) {
			return nil, false
		}
		calls = append(calls, ToolCall{Name: c.Name, Arguments: args})
	}
	return calls, len(calls) > 0
}

// SplitThinking separates a reasoning block (<think>…</think>, as Qwen3 and
// DeepSeek-R1 write) at the start of a whole answer from the rest, as a
// textstream.ThinkSplitter does while it streams. open says the prompt
// opened the block; an answer with a closing tag and no opening one is
// read the same way.
func SplitThinking(text string, open bool) (thinking, answer string) {
	trimmed := strings.TrimSpace(text)
	if !open && strings.Contains(trimmed, "</think>") && !strings.HasPrefix(trimmed, "<think>") {
		open = true // the template opened the block in the prompt
	}
	s := textstream.NewThinkSplitter(open)
	th, c := s.Push(text)
	th2, c2 := s.Flush()
	return strings.TrimSpace(th + th2), strings.TrimSpace(c + c2)
}
