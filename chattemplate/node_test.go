package chattemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"runner/internal/testenv"
)

// pythonOnly lists the corpus cases where @huggingface/jinja and Python
// transformers render differently; the package follows Python there (see
// the package documentation).
var pythonOnly = map[string]string{
	"qwen3-number-formats": "JSON floats: Python writes 2.0, 1000.0 and 1e-07 where JavaScript writes 2, 1000 and 1e-7",
	"command-r-tools":      "a dict indexed by a list: Jinja2 gives undefined, @huggingface/jinja fails",
}

// TestNodeReferencesAgreeWithPython checks that the two committed reference
// sets differ exactly in the cases listed in pythonOnly.
func TestNodeReferencesAgreeWithPython(t *testing.T) {
	node := readReferences(t, filepath.Join("testdata", "want_node.json"))
	python := readReferences(t, filepath.Join("testdata", "want_python.json"))
	if len(node) != len(python) {
		t.Fatalf("%d node references, %d python references", len(node), len(python))
	}
	for name, p := range python {
		n, ok := node[name]
		if !ok {
			t.Fatalf("no node reference for %s", name)
		}
		_, differs := pythonOnly[name]
		if same := reflect.DeepEqual(n, p); same == differs {
			t.Errorf("%s: node and python references same=%v, want same=%v", name, same, !differs)
		}
	}
}

// TestNodeReferencesAreCurrent re-renders the corpus with @huggingface/jinja
// (testdata/gen_node.mjs) and requires the committed want_node.json to match.
func TestNodeReferencesAreCurrent(t *testing.T) {
	testenv.NodeDir(t)
	script, err := os.ReadFile(filepath.Join("testdata", "gen_node.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	corpusPath, err := filepath.Abs(filepath.Join("testdata", "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	models, err := filepath.Abs(filepath.Join("testdata", "models"))
	if err != nil {
		t.Fatal(err)
	}
	out := testenv.Node(t, string(script), nil, corpusPath, models)
	var fresh struct {
		Results []reference `json:"results"`
	}
	if err := json.Unmarshal(out, &fresh); err != nil {
		t.Fatalf("node output: %v", err)
	}
	committed := readReferences(t, filepath.Join("testdata", "want_node.json"))
	if len(fresh.Results) != len(committed) {
		t.Fatalf("node rendered %d cases, want_node.json has %d", len(fresh.Results), len(committed))
	}
	for _, r := range fresh.Results {
		if !reflect.DeepEqual(r, committed[r.Name]) {
			t.Errorf("%s: want_node.json is stale: node now gives %s", r.Name, r)
		}
	}
}
