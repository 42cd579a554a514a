package chattemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Errors of Load and Set.Select.
var (
	// ErrNoTemplate is returned when a model directory has no chat template.
	ErrNoTemplate = errors.New("model has no chat template")
	// ErrUnknownTemplate is returned when a named template does not exist,
	// or when a model has only named templates, none called "default", and
	// none was named.
	ErrUnknownTemplate = errors.New("unknown chat template")
)

// Set is a model's chat templates: the default one and any named ones (such
// as "tool_use"), all rendering with the model's special tokens.
type Set struct {
	Default *Template            // nil when the model has only named templates
	Named   map[string]*Template // by name; "default" is not repeated here
	Tokens  SpecialTokens
}

// Load reads a model directory laid out like a Hub repository and compiles
// its chat templates, looking where transformers looks: chat_template.jinja
// (with named ones in additional_chat_templates/NAME.jinja), then
// chat_template.json, then the chat_template of tokenizer_config.json (a
// string, or a list of {name, template}). The special tokens come from
// tokenizer_config.json, as strings or AddedToken objects.
func Load(dir string) (*Set, error) {
	config := map[string]json.RawMessage{}
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &config); err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read tokenizer config: %w", err)
	}
	tokens, err := specialTokens(config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
	}
	sources, err := templateSources(dir, config)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoTemplate)
	}
	set := &Set{Named: map[string]*Template{}, Tokens: tokens}
	for name, src := range sources {
		t, err := Compile(src, tokens)
		if err != nil {
			return nil, fmt.Errorf("chat template %q of %s: %w", name, dir, err)
		}
		if name == "default" {
			set.Default = t
		} else {
			set.Named[name] = t
		}
	}
	return set, nil
}

// templateSources finds the template texts by name ("default" for the
// unnamed one).
func templateSources(dir string, config map[string]json.RawMessage) (map[string]string, error) {
	sources := map[string]string{}
	data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
	switch {
	case err == nil:
		sources["default"] = string(data)
		extra, err := filepath.Glob(filepath.Join(dir, "additional_chat_templates", "*.jinja"))
		if err != nil {
			return nil, err
		}
		for _, p := range extra {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read chat template: %w", err)
			}
			sources[strings.TrimSuffix(filepath.Base(p), ".jinja")] = string(data)
		}
		return sources, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read chat template: %w", err)
	}
	raw := config["chat_template"]
	data, err = os.ReadFile(filepath.Join(dir, "chat_template.json"))
	switch {
	case err == nil:
		var file struct {
			ChatTemplate json.RawMessage `json:"chat_template"`
		}
		if err := json.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "chat_template.json"), err)
		}
		raw = file.ChatTemplate
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read chat template: %w", err)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return sources, nil
	}
	var single string
	if err := json.Unmarshal(raw, &single); err == nil {
		sources["default"] = single
		return sources, nil
	}
	var list []struct {
		Name     *string `json:"name"`
		Template *string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("chat_template must be a string or a list of {name, template}")
	}
	for _, e := range list {
		if e.Name == nil || e.Template == nil {
			return nil, errors.New("chat_template must be a list of objects with \"name\" and \"template\" properties")
		}
		sources[*e.Name] = *e.Template
	}
	return sources, nil
}

// specialTokens reads the special tokens: each a string or an AddedToken
// object {"content": ...}; null or absent means unset.
func specialTokens(config map[string]json.RawMessage) (SpecialTokens, error) {
	var t SpecialTokens
	fields := map[string]*string{"bos_token": &t.BOS, "eos_token": &t.EOS, "unk_token": &t.UNK,
		"sep_token": &t.SEP, "pad_token": &t.PAD, "cls_token": &t.CLS, "mask_token": &t.Mask}
	for key, dst := range fields {
		s, err := tokenContent(config[key])
		if err != nil {
			return t, fmt.Errorf("%s: %w", key, err)
		}
		*dst = s
	}
	if raw := config["additional_special_tokens"]; len(raw) > 0 && string(raw) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return t, fmt.Errorf("additional_special_tokens: %w", err)
		}
		for i, item := range list {
			s, err := tokenContent(item)
			if err != nil {
				return t, fmt.Errorf("additional_special_tokens[%d]: %w", i, err)
			}
			t.Additional = append(t.Additional, s)
		}
	}
	return t, nil
}

func tokenContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var added struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &added); err != nil || added.Content == nil {
		return "", errors.New("want a string or an object with content")
	}
	return *added.Content, nil
}

// Select picks the template to render, as transformers does: the named one
// when name is set; otherwise "tool_use" when tools are given and the model
// has one, else the default.
func (s *Set) Select(name string, withTools bool) (*Template, error) {
	if name != "" {
		if t, ok := s.Named[name]; ok {
			return t, nil
		}
		if name == "default" && s.Default != nil {
			return s.Default, nil
		}
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownTemplate, name, strings.Join(s.names(), ", "))
	}
	if t, ok := s.Named["tool_use"]; ok && withTools {
		return t, nil
	}
	if s.Default == nil {
		return nil, fmt.Errorf("%w: the model has several templates and no default; name one of %s",
			ErrUnknownTemplate, strings.Join(s.names(), ", "))
	}
	return s.Default, nil
}

func (s *Set) names() []string {
	var names []string
	if s.Default != nil {
		names = append(names, "default")
	}
	for n := range s.Named {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render selects the template for the input (in.Template, or by whether
// in.Tools is set) and renders it.
func (s *Set) Render(in Input) (string, error) {
	t, err := s.Select(in.Template, in.Tools != nil)
	if err != nil {
		return "", err
	}
	return t.Render(in)
}
