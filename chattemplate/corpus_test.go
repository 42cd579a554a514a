package chattemplate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// corpusCase is one case of testdata/corpus.json.
type corpusCase struct {
	Name                string                     `json:"name"`
	Model               string                     `json:"model"`
	Messages            json.RawMessage            `json:"messages"`
	Tools               []json.RawMessage          `json:"tools"`
	AddGenerationPrompt bool                       `json:"add_generation_prompt"`
	Kwargs              map[string]json.RawMessage `json:"kwargs"`
	Template            string                     `json:"template"`
	Note                string                     `json:"note"`
}

type corpus struct {
	Clock string       `json:"clock"`
	Cases []corpusCase `json:"cases"`
}

// reference is one rendered result of a generator script.
type reference struct {
	Name   string  `json:"name"`
	Output *string `json:"output"`
	Error  *string `json:"error"`
}

func (r reference) String() string {
	if r.Error != nil {
		return "error " + strconv.Quote(*r.Error)
	}
	if r.Output != nil {
		return strconv.Quote(*r.Output)
	}
	return "nothing"
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadCorpus(t testing.TB) (corpus, time.Time) {
	t.Helper()
	var c corpus
	readJSON(t, filepath.Join("testdata", "corpus.json"), &c)
	now, err := time.ParseInLocation("2006-01-02T15:04:05", c.Clock, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return c, now
}

func readReferences(t testing.TB, path string) map[string]reference {
	t.Helper()
	var refs struct {
		Results []reference `json:"results"`
	}
	readJSON(t, path, &refs)
	out := map[string]reference{}
	for _, r := range refs.Results {
		out[r.Name] = r
	}
	return out
}

func (c corpusCase) input(now time.Time) Input {
	in := Input{
		MessagesJSON:        c.Messages,
		Tools:               c.Tools,
		AddGenerationPrompt: c.AddGenerationPrompt,
		Template:            c.Template,
		Now:                 now,
		Extra:               map[string]any{},
	}
	for k, v := range c.Kwargs {
		in.Extra[k] = v
	}
	return in
}

// TestCorpusMatchesPython renders every corpus case and compares it byte for
// byte with Jinja2 as transformers configures it (testdata/want_python.json,
// from gen_python.py).
func TestCorpusMatchesPython(t *testing.T) {
	c, now := loadCorpus(t)
	want := readReferences(t, filepath.Join("testdata", "want_python.json"))
	if len(c.Cases) < 25 {
		t.Fatalf("corpus has %d cases, want at least 25", len(c.Cases))
	}
	for _, tc := range c.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			ref, ok := want[tc.Name]
			if !ok {
				t.Fatalf("no reference for %s: regenerate want_python.json", tc.Name)
			}
			set, err := Load(filepath.Join("testdata", "models", tc.Model))
			if err != nil {
				t.Fatal(err)
			}
			got, err := set.Render(tc.input(now))
			if ref.Error != nil {
				var raised *RaisedError
				if !errors.As(err, &raised) || raised.Message != *ref.Error {
					t.Fatalf("got (%q, %v), want raise_exception(%q)", got, err, *ref.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got != *ref.Output {
				t.Errorf("output differs from Python\n got: %q\nwant: %q", got, *ref.Output)
			}
		})
	}
}
