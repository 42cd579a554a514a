package modelstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"runner/modelstore"
	"runner/modelstore/mirror"
)

// Serve a directory of repositories with the mirror, then pull from it into
// a fresh cache, as tests of other packages do.
func ExampleStore_Pull() {
	repos, _ := os.MkdirTemp("", "repos")
	defer os.RemoveAll(repos)
	for name, data := range map[string]string{
		"config.json":               `{"model_type":"bert"}`,
		"onnx/model.onnx":           "full precision graph",
		"onnx/model_quantized.onnx": "8-bit graph",
	} {
		p := filepath.Join(repos, "org", "tiny", filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte(data), 0o644)
	}
	hub := httptest.NewServer(mirror.New(mirror.Options{Dir: repos}))
	defer hub.Close()

	cache, _ := os.MkdirTemp("", "hub")
	defer os.RemoveAll(cache)
	st, err := modelstore.New(modelstore.Options{Endpoint: hub.URL, CacheDir: cache})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := st.Pull(context.Background(), "org/tiny", modelstore.PullOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Name, m.VariantChosen, filepath.Base(m.Graph()), m.Files)
	// Output: org/tiny:q8 true model_quantized.onnx [config.json onnx/model_quantized.onnx]
}
