package engine_test

import (
	"context"
	"math"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
)

// The engine and transformers.js, given the same token ids, produce the same
// last_hidden_state for the tiny embedder, inline and with external data.
func TestMatchesTransformersJS(t *testing.T) {
	texts := []string{"Hello world!", "Un café très chaud, s'il vous plaît.", "東京は日本の首都です", "a"}
	for _, name := range []string{fixtures.TinyBERTEmbedder, fixtures.TinyBERTEmbedderExternal} {
		t.Run(name, func(t *testing.T) {
			ref := fixtures.Reference(t, name, fixtures.Request{Texts: texts})
			rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			sess, err := rt.NewSession(context.Background(), fixtures.Dir(t, name)+"/onnx/model.onnx", engine.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			in := map[string]*engine.Tensor{}
			for _, n := range sess.InputNames() {
				r, ok := ref.Inputs[n]
				if !ok {
					t.Fatalf("reference has no input %s", n)
				}
				ids := make([]int64, len(r.Data))
				for i, v := range r.Data {
					ids[i] = int64(v)
				}
				if in[n], err = engine.NewTensor(r.Dims, ids); err != nil {
					t.Fatal(err)
				}
			}
			out, err := sess.Run(context.Background(), in, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.Outputs["last_hidden_state"]
			got := engine.Data[float32](out["last_hidden_state"])
			if len(got) != len(want.Data) {
				t.Fatalf("got %d values, want %d", len(got), len(want.Data))
			}
			worst := 0.0
			for i := range got {
				worst = math.Max(worst, math.Abs(float64(got[i])-want.Data[i]))
			}
			t.Logf("max |runner - transformers.js| = %.2g over %d values", worst, len(got))
			if worst > 1e-4 {
				t.Fatalf("last_hidden_state differs from transformers.js by %g", worst)
			}
		})
	}
}
