package modelstore

import (
	"encoding/json"
	"testing"

	"github.com/ollama/ollama/api"
)

// Progress converts to Ollama's type as is, and encodes the same JSON.
func TestProgressIsOllamas(t *testing.T) {
	p := Progress{Status: "pulling 0123456789ab", Digest: "sha256:0123", Total: 10, Completed: 4}
	o := api.ProgressResponse(p)
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(o)
	if string(a) != string(b) {
		t.Errorf("json %s, Ollama's %s", a, b)
	}
}
