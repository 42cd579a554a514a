package chattemplate

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestTypedMessages renders conversations built from Message values and
// requires the same text as the JSON messages of the corpus cases, checked
// against Python.
func TestTypedMessages(t *testing.T) {
	c, now := loadCorpus(t)
	want := readReferences(t, filepath.Join("testdata", "want_python.json"))
	cases := map[string]corpusCase{}
	for _, tc := range c.Cases {
		cases[tc.Name] = tc
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		corpusCase string
		messages   []Message
		extra      map[string]any
	}{
		{
			corpusCase: "qwen3-tool-roundtrip",
			messages: []Message{
				{Role: "user", Content: "Weather in Paris and Tokyo?"},
				{Role: "assistant", ToolCalls: []ToolCall{
					{ID: "call_1", Name: "get_weather", Arguments: raw(`{"city": "Paris", "unit": "celsius"}`)},
					{ID: "call_2", Name: "get_weather", Arguments: raw(`{"city": "東京"}`)},
				}},
				{Role: "tool", ToolCallID: "call_1", Name: "get_weather", Content: `{"temp": 18}`},
				{Role: "tool", ToolCallID: "call_2", Name: "get_weather", Content: `{"temp": 22}`},
			},
		},
		{
			corpusCase: "qwen3-reasoning-content",
			messages: []Message{
				{Role: "user", Content: "Search for cats"},
				{Role: "assistant", Content: "Let me search.", Reasoning: "The user wants cats.",
					ToolCalls: []ToolCall{{Name: "search", Arguments: raw(`{"query": "cats", "limit": 3}`)}}},
				{Role: "tool", Content: `["cat1", "cat2"]`},
			},
		},
		{
			corpusCase: "qwen3-string-arguments",
			messages: []Message{
				{Role: "user", Content: "Search dogs"},
				{Role: "assistant", ToolCalls: []ToolCall{{Name: "search", Arguments: raw(`"{\"query\": \"dogs\"}"`)}}},
			},
		},
		{
			corpusCase: "qwen3-thinking-off",
			messages:   []Message{{Role: "user", Content: "What is 1+1?"}},
			extra:      map[string]any{"enable_thinking": false},
		},
		{
			corpusCase: "gemma3-content-parts",
			messages: []Message{{Role: "user", ContentParts: []json.RawMessage{
				raw(`{"type": "image"}`), raw(`{"type": "text", "text": "  What is in this picture?  "}`),
			}}},
		},
		{
			corpusCase: "mistral-nemo-tool-calls",
			messages: []Message{
				{Role: "user", Content: "Weather in Rome?"},
				{Role: "assistant", ToolCalls: []ToolCall{{ID: "abcDEF123", Name: "get_weather", Arguments: raw(`{"city": "Rome"}`)}}},
				{Role: "tool", ToolCallID: "abcDEF123", Content: "sunny"},
				{Role: "assistant", Content: "It is sunny."},
				{Role: "user", Content: "Thanks"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.corpusCase, func(t *testing.T) {
			cc := cases[tc.corpusCase]
			set, err := Load(filepath.Join("testdata", "models", cc.Model))
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.Render(Input{Messages: tc.messages, Tools: cc.Tools, AddGenerationPrompt: cc.AddGenerationPrompt,
				Extra: tc.extra, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if w := want[tc.corpusCase]; w.Output == nil || got != *w.Output {
				t.Errorf("got  %q\nwant %s", got, w)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	tmpl, err := Compile("{{ messages|length }}", SpecialTokens{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]Input{
		"bad arguments":        {Messages: []Message{{Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{`)}}}}},
		"bad tool":             {Tools: []json.RawMessage{json.RawMessage(`[1,`)}},
		"messages not a list":  {MessagesJSON: json.RawMessage(`{"role": "user"}`)},
		"reserved extra":       {Extra: map[string]any{"messages": "x"}},
		"unsupported extra":    {Extra: map[string]any{"x": struct{}{}}},
		"trailing json":        {MessagesJSON: json.RawMessage(`[] []`)},
		"content parts broken": {Messages: []Message{{Role: "user", ContentParts: []json.RawMessage{json.RawMessage(`x`)}}}},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := tmpl.Render(in); err == nil {
				t.Fatalf("rendered %q, want an error", got)
			}
		})
	}
}

func TestDocumentsAndExtraTokens(t *testing.T) {
	tmpl, err := Compile("{{ bos_token }}|{% if documents %}{% for d in documents %}{{ d.title }}:{{ d.text }};{% endfor %}{% endif %}|{{ documents is none }}",
		SpecialTokens{BOS: "<s>"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"no documents", Input{}, "<s>||True"},
		{"documents", Input{Documents: []json.RawMessage{json.RawMessage(`{"title": "A", "text": "x"}`), json.RawMessage(`{"text": "y", "title": "B"}`)}}, "<s>|A:x;B:y;|False"},
		{"extra overrides a token", Input{Extra: map[string]any{"bos_token": "[BOS]"}}, "[BOS]||True"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tmpl.Render(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("got (%q, %v), want %q", got, err, tc.want)
			}
		})
	}
}
