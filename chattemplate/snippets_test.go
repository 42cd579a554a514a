package chattemplate

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSnippetsMatchJinja2 checks one language feature at a time against
// Jinja2 as transformers configures it (testdata/want_snippets.json, from
// gen_snippets.py): whitespace control, printing, operators, loops, macros,
// filters, tests, methods, globals and the errors each raises.
func TestSnippetsMatchJinja2(t *testing.T) {
	var snippets struct {
		Clock string `json:"clock"`
		Cases []struct {
			Name     string                     `json:"name"`
			Template string                     `json:"template"`
			Vars     map[string]json.RawMessage `json:"vars"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join("testdata", "snippets.json"), &snippets)
	want := readReferences(t, filepath.Join("testdata", "want_snippets.json"))
	now, err := time.ParseInLocation("2006-01-02T15:04:05", snippets.Clock, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range snippets.Cases {
		t.Run(sn.Name, func(t *testing.T) {
			ref, ok := want[sn.Name]
			if !ok {
				t.Fatalf("no reference for %s: regenerate want_snippets.json", sn.Name)
			}
			in := Input{Now: now, Extra: map[string]any{}}
			for k, v := range sn.Vars {
				in.Extra[k] = v
			}
			tmpl, err := Compile(sn.Template, SpecialTokens{})
			var got string
			if err == nil {
				got, err = tmpl.Render(in)
			}
			if ref.Error != nil {
				checkSnippetError(t, *ref.Error, got, err)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %q", err, *ref.Output)
			}
			if got != *ref.Output {
				t.Errorf("got  %q\nwant %q", got, *ref.Output)
			}
		})
	}
}

// checkSnippetError requires an error of the kind Jinja2 raised: a
// SyntaxError for template syntax errors, a RaisedError with the same
// message for raise_exception, a RenderError otherwise.
func checkSnippetError(t *testing.T, want, got string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got %q, want error %s", got, want)
	}
	kind, msg, _ := strings.Cut(want, ": ")
	var syntax *SyntaxError
	var raised *RaisedError
	var render *RenderError
	switch kind {
	case "TemplateSyntaxError":
		if !errors.As(err, &syntax) {
			t.Fatalf("got %v (%T), want a syntax error like %s", err, err, want)
		}
	case "TemplateError":
		if !errors.As(err, &raised) || raised.Message != msg {
			t.Fatalf("got %v, want raise_exception(%q)", err, msg)
		}
	default:
		if !errors.As(err, &render) {
			t.Fatalf("got %v (%T), want a render error like %s", err, err, want)
		}
	}
}
