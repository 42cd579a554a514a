package modelstore

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"runner/quant"
)

// genAIRepo is laid out as onnxruntime-genai publishes models: a folder per
// variant, each with its own configuration, tokenizer and graph.
func genAIRepo() map[string][]byte {
	folder := func(dir string, op string) map[string][]byte {
		return map[string][]byte{
			dir + "genai_config.json":     []byte(`{"model":{"type":"phi3","context_length":4096,"decoder":{"filename":"model.onnx"}}}`),
			dir + "tokenizer.json":        []byte(`{}`),
			dir + "tokenizer_config.json": []byte(`{}`),
			dir + "model.onnx":            tinyONNX(op, "com.microsoft", 2, 200),
			dir + "model.onnx.data":       randomBytes(5, 20000),
		}
	}
	files := map[string][]byte{"README.md": []byte("# genai\n"), "LICENSE": []byte("MIT\n")}
	for dir, op := range map[string]string{
		"cpu_and_mobile/cpu-int4-rtn-block-32/": "MatMulNBits",
		"cpu_and_mobile/cpu-fp32/":              "MatMul",
		"cuda/cuda-int4-rtn-block-32/":          "MatMulNBits",
		"cuda/cuda-fp16/":                       "MatMul",
	} {
		for p, b := range folder(dir, op) {
			files[p] = b
		}
	}
	return files
}

func TestPullGenAIFolders(t *testing.T) {
	root := t.TempDir()
	writeRepo(t, root, "org/genai", genAIRepo())
	srv, _ := hubServer(t, root, nil)
	for _, tt := range []struct {
		ref     string
		gpu     bool
		variant quant.Variant
		folder  string
	}{
		{"org/genai", false, "cpu-int4-rtn-block-32", "cpu_and_mobile/cpu-int4-rtn-block-32"},
		{"org/genai", true, "cuda-int4-rtn-block-32", "cuda/cuda-int4-rtn-block-32"},
		{"org/genai:cpu-fp32", false, "cpu-fp32", "cpu_and_mobile/cpu-fp32"},
	} {
		t.Run(string(tt.variant), func(t *testing.T) {
			st, _ := newTestStore(t, srv.URL, func(o *Options) { o.GPU = tt.gpu })
			m, err := st.Pull(context.Background(), tt.ref, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Variant != tt.variant || m.ConfigDir != filepath.Join(m.Dir, filepath.FromSlash(tt.folder)) {
				t.Fatalf("variant %q in %s, want %q in %s", m.Variant, m.ConfigDir, tt.variant, tt.folder)
			}
			if len(m.Graphs) != 1 || m.Graphs[0] != filepath.Join(m.ConfigDir, "model.onnx") {
				t.Fatalf("graphs %v", m.Graphs)
			}
			want := []string{"LICENSE", "README.md"}
			for _, f := range []string{"genai_config.json", "model.onnx", "model.onnx.data", "tokenizer.json", "tokenizer_config.json"} {
				want = append(want, tt.folder+"/"+f)
			}
			sort.Strings(want)
			got, err := snapshotFiles(m.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("snapshot holds %v\nwant %v", got, want)
			}
			info, err := st.Show(context.Background(), m.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(info.Tasks, "generate") || len(info.Variants) != 4 || info.ContextLength != 4096 || info.Details.Family != "phi3" {
				t.Fatalf("show: tasks %v, %d variants, context %d, family %q", info.Tasks, len(info.Variants), info.ContextLength, info.Details.Family)
			}
		})
	}
}
