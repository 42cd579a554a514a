// Package transformersjs runs models in transformers.js on node, for tests
// and benchmarks that check that a file runner wrote is one transformers.js
// loads, and that both compute the same thing from it.
package transformersjs

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

//go:embed variants.mjs
var script string

// Embed loads the repo name under modelsDir with transformers.js's
// feature-extraction pipeline in the given dtype ("fp32", "q8", "q4"...,
// which picks the ONNX file) and returns the mean-pooled, normalised vector
// of each text. nodeDir holds node_modules with @huggingface/transformers.
func Embed(ctx context.Context, nodeDir, modelsDir, name, dtype string, texts []string) ([][]float32, error) {
	var out struct{ Vectors [][]float32 }
	err := run(ctx, nodeDir, modelsDir, name, map[string]any{"mode": "embed", "dtype": dtype, "texts": texts}, &out)
	return out.Vectors, err
}

// Generate loads the repo as a causal language model in the given dtype and
// generates n tokens greedily after ids; it returns the new tokens.
func Generate(ctx context.Context, nodeDir, modelsDir, name, dtype string, ids []int64, n int) ([]int64, error) {
	var out struct{ IDs []int64 }
	err := run(ctx, nodeDir, modelsDir, name, map[string]any{"mode": "generate", "dtype": dtype, "ids": ids, "max_new_tokens": n}, &out)
	return out.IDs, err
}

func run(ctx context.Context, nodeDir, modelsDir, name string, req, out any) error {
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "node", "--input-type=module", "-e", script, "--", modelsDir, name)
	cmd.Dir = nodeDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("transformers.js: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("transformers.js output: %w", err)
	}
	return nil
}
