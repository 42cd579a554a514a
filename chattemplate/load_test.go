package chattemplate

import (
	"encoding/json"
	"errors"
	"testing"

	"runner/internal/testenv"
)

// writeFiles lays out a model directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteFiles(t, dir, files)
	return dir
}

func TestLoadSources(t *testing.T) {
	const show = "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}|{{ additional_special_tokens|length }}|"
	tests := []struct {
		name  string
		files map[string]string
		pick  string // template name to render
		tools bool
		want  string
	}{
		{
			name:  "config string with AddedToken objects",
			files: map[string]string{"tokenizer_config.json": `{"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "pad_token": null, "chat_template": "A` + show + `"}`},
			want:  "A<s>|</s>|False|0|",
		},
		{
			name: "chat_template.jinja wins over the config",
			files: map[string]string{
				"tokenizer_config.json": `{"eos_token": "E", "additional_special_tokens": ["<x>", {"content": "<y>"}], "chat_template": "config"}`,
				"chat_template.jinja":   "J" + show + "\n",
			},
			want: "J|E|False|2|",
		},
		{
			name: "additional_chat_templates",
			files: map[string]string{
				"chat_template.jinja":                      "default",
				"additional_chat_templates/tool_use.jinja": "tools{{ tools|length }}",
			},
			tools: true,
			want:  "tools1",
		},
		{
			name: "chat_template.json",
			files: map[string]string{
				"tokenizer_config.json": `{"bos_token": "B", "chat_template": "config"}`,
				"chat_template.json":    `{"chat_template": "json{{ bos_token }}"}`,
			},
			want: "jsonB",
		},
		{
			name:  "list picks tool_use when tools are given",
			files: map[string]string{"tokenizer_config.json": `{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}`},
			tools: true,
			want:  "T",
		},
		{
			name:  "list picks default without tools",
			files: map[string]string{"tokenizer_config.json": `{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}`},
			want:  "D",
		},
		{
			name:  "list by name",
			files: map[string]string{"tokenizer_config.json": `{"chat_template": [{"name": "default", "template": "D"}, {"name": "rag", "template": "R"}]}`},
			pick:  "rag",
			want:  "R",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Load(writeFiles(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Template: tc.pick, Messages: []Message{{Role: "user", Content: "hi"}}}
			if tc.tools {
				in.Tools = []json.RawMessage{json.RawMessage(`{"type": "function", "function": {"name": "f"}}`)}
			}
			got, err := set.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr error
	}{
		{"no template", map[string]string{"tokenizer_config.json": `{"eos_token": "</s>"}`}, ErrNoTemplate},
		{"empty directory", map[string]string{}, ErrNoTemplate},
		{"bad token", map[string]string{"tokenizer_config.json": `{"eos_token": 3, "chat_template": "x"}`}, nil},
		{"bad list", map[string]string{"tokenizer_config.json": `{"chat_template": [{"name": "default"}]}`}, nil},
		{"syntax error", map[string]string{"chat_template.jinja": "{% if %}"}, nil},
		{"bad json", map[string]string{"tokenizer_config.json": `{`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFiles(t, tc.files))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
	var syntax *SyntaxError
	if _, err := Load(writeFiles(t, map[string]string{"chat_template.jinja": "\n\n{% if %}"})); !errors.As(err, &syntax) || syntax.Line != 3 {
		t.Fatalf("got %v, want a SyntaxError at line 3", err)
	}
}

func TestSelect(t *testing.T) {
	set, err := Load(writeFiles(t, map[string]string{"tokenizer_config.json": `{"chat_template": [{"name": "a", "template": "A"}, {"name": "b", "template": "B"}]}`}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Select("", false); !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("no default: got %v, want ErrUnknownTemplate", err)
	}
	if _, err := set.Select("c", false); !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("unknown name: got %v, want ErrUnknownTemplate", err)
	}
	tmpl, err := set.Select("b", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tmpl.Render(Input{}); err != nil || got != "B" {
		t.Fatalf("got (%q, %v), want B", got, err)
	}
}
