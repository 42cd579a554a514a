package chattemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SyntaxError is returned by Compile (and Load) for a template that does not
// parse.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("chat template syntax error at line %d: %s", e.Line, e.Msg)
}

// RenderError is returned by Render when the template fails while it runs,
// for example by reading an attribute of an undefined value.
type RenderError struct {
	Line int // 0 when unknown
	Msg  string
}

func (e *RenderError) Error() string {
	if e.Line == 0 {
		return "chat template error: " + e.Msg
	}
	return fmt.Sprintf("chat template error at line %d: %s", e.Line, e.Msg)
}

func renderErrorf(line int, format string, args ...any) error {
	return &RenderError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// RaisedError is returned by Render when the template calls
// raise_exception: the conversation does not fit the model (roles out of
// order, an unsupported role...). Its message is the template's own and is
// meant for the client.
type RaisedError struct{ Message string }

func (e *RaisedError) Error() string { return e.Message }

// SpecialTokens are the special tokens of a tokenizer config that templates
// see as bos_token, eos_token, unk_token, sep_token, pad_token, cls_token,
// mask_token and additional_special_tokens. Empty ones are not defined.
type SpecialTokens struct {
	BOS, EOS, UNK, SEP, PAD, CLS, Mask string
	Additional                         []string
}

func (t SpecialTokens) vars() map[string]value {
	m := map[string]value{}
	for name, v := range map[string]string{"bos_token": t.BOS, "eos_token": t.EOS, "unk_token": t.UNK,
		"sep_token": t.SEP, "pad_token": t.PAD, "cls_token": t.CLS, "mask_token": t.Mask} {
		if v != "" {
			m[name] = v
		}
	}
	if len(t.Additional) > 0 {
		items := make([]value, len(t.Additional))
		for i, s := range t.Additional {
			items[i] = s
		}
		m["additional_special_tokens"] = newList(items)
	}
	return m
}

// Template is one compiled chat template with the special tokens it renders
// with. It is safe for concurrent use.
type Template struct {
	body   []node
	tokens SpecialTokens
}

// Compile parses a chat template.
func Compile(source string, tokens SpecialTokens) (*Template, error) {
	body, err := parse(source)
	if err != nil {
		return nil, err
	}
	return &Template{body: body, tokens: tokens}, nil
}

// Message is one chat message as templates see it: a dict with role and
// content, plus the optional keys below when they are set.
type Message struct {
	Role    string
	Content string
	// ContentParts, when not nil, replaces Content with a list of parts,
	// each a JSON object such as {"type": "text", "text": "..."}.
	ContentParts []json.RawMessage
	// Reasoning is the assistant's thinking; templates see it as both
	// reasoning_content and thinking.
	Reasoning string
	// ToolCalls become tool_calls: [{id, type: "function", function: {name,
	// arguments}}].
	ToolCalls []ToolCall
	// ToolCallID and Name identify a tool result (tool_call_id, name).
	ToolCallID string
	Name       string
}

// ToolCall is a function call an assistant message made.
type ToolCall struct {
	ID   string // omitted when empty
	Name string
	// Arguments is a JSON object, kept in its key order; a JSON string is
	// passed on as a string. Empty means {}.
	Arguments json.RawMessage
}

// Input is what a template renders.
type Input struct {
	// Messages is the conversation. MessagesJSON, when set, is used instead:
	// a JSON array of message objects passed to the template as given.
	Messages     []Message
	MessagesJSON json.RawMessage
	// Tools are JSON-schema function definitions, each a JSON object kept
	// in key order. Nil means no tools (tools is none in the template).
	Tools []json.RawMessage
	// Documents are retrieval documents for templates that take them, each a
	// JSON object; nil means none.
	Documents []json.RawMessage
	// AddGenerationPrompt asks the template to open the assistant's turn.
	AddGenerationPrompt bool
	// Extra holds other template variables, such as enable_thinking or
	// date_string. Values may be bool, string, numbers, nil, []any,
	// map[string]any (keys sorted) or json.RawMessage (decoded in key
	// order). They override the special tokens of the same name.
	Extra map[string]any
	// Now is the time strftime_now formats; zero means the current time.
	Now time.Time
	// Template names the template of a Set to use (Set.Render only).
	Template string
}

// Render renders the template with the input, exactly as Python
// transformers' apply_chat_template renders it with tokenize=False.
func (t *Template) Render(in Input) (string, error) {
	vars, err := in.vars(t.tokens)
	if err != nil {
		return "", err
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out strings.Builder
	r := &renderer{out: &out, now: now}
	root := &scope{vars: globals(), parent: nil}
	top := &scope{vars: vars, parent: root}
	if err := r.execBody(t.body, top); err != nil {
		switch {
		case errors.Is(err, errBreak), errors.Is(err, errContinue):
			return "", &RenderError{Msg: err.Error()}
		}
		var raised *RaisedError
		var rerr *RenderError
		if errors.As(err, &raised) || errors.As(err, &rerr) {
			return "", err
		}
		return "", &RenderError{Msg: err.Error()}
	}
	return out.String(), nil
}

func (in Input) vars(tokens SpecialTokens) (map[string]value, error) {
	vars := tokens.vars()
	keys := make([]string, 0, len(in.Extra))
	for k := range in.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "messages", "tools", "documents", "add_generation_prompt":
			return nil, fmt.Errorf("extra variable %q: set it through its own Input field", k)
		}
		v, err := fromGo(in.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("extra variable %q: %w", k, err)
		}
		vars[k] = v
	}
	var msgs value
	if in.MessagesJSON != nil {
		v, err := fromJSON(in.MessagesJSON)
		if err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		if _, ok := v.(*List); !ok {
			return nil, errors.New("messages: want a JSON array")
		}
		msgs = v
	} else {
		items := make([]value, len(in.Messages))
		for i, m := range in.Messages {
			d, err := m.dict()
			if err != nil {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			items[i] = d
		}
		msgs = newList(items)
	}
	vars["messages"] = msgs
	var err error
	if vars["tools"], err = rawList(in.Tools); err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	if vars["documents"], err = rawList(in.Documents); err != nil {
		return nil, fmt.Errorf("documents: %w", err)
	}
	vars["add_generation_prompt"] = in.AddGenerationPrompt
	return vars, nil
}

// rawList decodes a list of JSON values; nil stays None.
func rawList(raw []json.RawMessage) (value, error) {
	if raw == nil {
		return nil, nil
	}
	items := make([]value, len(raw))
	for i, r := range raw {
		v, err := fromJSON(r)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		items[i] = v
	}
	return newList(items), nil
}

func (m Message) dict() (*Dict, error) {
	d := newDict()
	d.set("role", m.Role)
	if m.ContentParts != nil {
		parts, err := rawList(m.ContentParts)
		if err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
		d.set("content", parts)
	} else {
		d.set("content", m.Content)
	}
	if m.Reasoning != "" {
		d.set("reasoning_content", m.Reasoning)
		d.set("thinking", m.Reasoning)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]value, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			var args value = newDict()
			if len(tc.Arguments) > 0 {
				var err error
				if args, err = fromJSON(tc.Arguments); err != nil {
					return nil, fmt.Errorf("tool call %d arguments: %w", i, err)
				}
			}
			fn := newDict()
			fn.set("name", tc.Name)
			fn.set("arguments", args)
			call := newDict()
			if tc.ID != "" {
				call.set("id", tc.ID)
			}
			call.set("type", "function")
			call.set("function", fn)
			calls[i] = call
		}
		d.set("tool_calls", newList(calls))
	}
	if m.ToolCallID != "" {
		d.set("tool_call_id", m.ToolCallID)
	}
	if m.Name != "" {
		d.set("name", m.Name)
	}
	return d, nil
}

// fromGo converts an Extra value.
func fromGo(v any) (value, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case json.RawMessage:
		return fromJSON(x)
	case []string:
		items := make([]value, len(x))
		for i, s := range x {
			items[i] = s
		}
		return newList(items), nil
	case []any:
		items := make([]value, len(x))
		for i, it := range x {
			c, err := fromGo(it)
			if err != nil {
				return nil, err
			}
			items[i] = c
		}
		return newList(items), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := newDict()
		for _, k := range keys {
			c, err := fromGo(x[k])
			if err != nil {
				return nil, err
			}
			d.set(k, c)
		}
		return d, nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}
