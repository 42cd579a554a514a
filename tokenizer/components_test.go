package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"runner/internal/testenv"
)

// componentCase mirrors one entry of testdata/components.mjs: a patch over a
// real tokenizer.json.
type componentCase struct {
	Name          string            `json:"name"`
	Base          string            `json:"base"`
	Patch         map[string]any    `json:"patch"`
	Model         map[string]any    `json:"model"`
	DropModelKeys []string          `json:"dropModelKeys"`
	AddTokens     []json.RawMessage `json:"addTokens"`
}

// The component definitions are JavaScript; the generator also writes them
// as JSON next to the results so this test applies the same patches.
type componentRef struct {
	Texts   []string        `json:"texts"`
	Configs []componentCase `json:"configs"`
	Cases   []struct {
		Name   string        `json:"name"`
		Single []refEncoding `json:"single"`
		Decode []string      `json:"decode"`
		Pairs  []refEncoding `json:"pairs"`
	} `json:"cases"`
}

func patchTokenizerJSON(t *testing.T, base []byte, c componentCase) []byte {
	t.Helper()
	var j map[string]any
	if err := json.Unmarshal(base, &j); err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Patch {
		j[k] = v
	}
	m, _ := j["model"].(map[string]any)
	for k, v := range c.Model {
		m[k] = v
	}
	for _, k := range c.DropModelKeys {
		delete(m, k)
	}
	if len(c.AddTokens) > 0 {
		list, _ := j["added_tokens"].([]any)
		for _, a := range c.AddTokens {
			var v any
			if err := json.Unmarshal(a, &v); err != nil {
				t.Fatal(err)
			}
			list = append(list, v)
		}
		j["added_tokens"] = list
	}
	out, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestComponentsReference(t *testing.T) {
	var ref componentRef
	readGzipJSON(t, filepath.Join("testdata", "reference", "components.json.gz"), &ref)
	corpus := loadCorpus(t)
	bases := map[string][]byte{}
	for i, c := range ref.Configs {
		res := ref.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			if bases[c.Base] == nil {
				data, err := os.ReadFile(testenv.TokenizerFile(t, filepath.Join(c.Base, "tokenizer.json")))
				if err != nil {
					t.Fatal(err)
				}
				bases[c.Base] = data
			}
			tk, err := Load(patchTokenizerJSON(t, bases[c.Base], c))
			if err != nil {
				t.Fatal(err)
			}
			fails := 0
			for k, text := range ref.Texts {
				got, err := tk.Encode(text)
				if err != nil {
					t.Errorf("encode %q: %v", text, err)
					continue
				}
				if d := diffEncoding(tk, got, &res.Single[k], []string{text}, true); d != "" {
					if fails++; fails <= 5 {
						t.Errorf("encode %q: %s", text, d)
					}
				}
				dec, err := tk.Decode(res.Single[k].IDs, false)
				if err != nil || dec != res.Decode[k] {
					if fails++; fails <= 5 {
						t.Errorf("decode of %q: got %q (%v), want %q", text, dec, err, res.Decode[k])
					}
				}
			}
			for k, want := range res.Pairs {
				p := corpus.Pairs[k]
				got, err := tk.EncodePair(p[0], p[1])
				if err != nil {
					t.Errorf("encode pair %q: %v", p, err)
					continue
				}
				if d := diffEncoding(tk, got, &want, p[:], true); d != "" {
					if fails++; fails <= 5 {
						t.Errorf("encode pair %q: %s", p, d)
					}
				}
			}
		})
	}
}
