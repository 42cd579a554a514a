package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"runner/modelstore/mirror/mirrortest"
)

// hubEnv writes a repo, serves it from a mirror and points the Hub
// variables at it and at a fresh cache.
func hubEnv(t *testing.T) (root string) {
	t.Helper()
	root = t.TempDir()
	files := map[string]string{
		"config.json":               `{"model_type":"bert"}`,
		"tokenizer.json":            `{}`,
		"onnx/model.onnx":           strings.Repeat("a", 3000),
		"onnx/model_quantized.onnx": strings.Repeat("b", 2000),
		"onnx/model_q4.onnx":        strings.Repeat("c", 1000),
	}
	for p, data := range files {
		full := filepath.Join(root, "org", "m", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", filepath.Join(t.TempDir(), "hub"))
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("RUNNER_DEVICE", "cpu")
	t.Setenv("HF_ENDPOINT", mirrortest.Start(t, root))
	return root
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := newApp(strings.NewReader(""), &out, &errb).run(context.Background(), args)
	return out.String(), err
}

func TestPullListRemove(t *testing.T) {
	hubEnv(t)
	out, err := runCLI(t, "pull", "org/m")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pulling manifest\n", "writing manifest\n", "success\n", "pulled org/m:q8 (variant q8 chosen for this device)"} {
		if !strings.Contains(out, want) {
			t.Errorf("pull output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "pull", "--json", "org/m:q4")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last api.ProgressResponse
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if last.Status != "success" || len(lines) < 5 {
		t.Errorf("--json output:\n%s", out)
	}

	out, err = runCLI(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "org/m:q4") || !strings.Contains(out, "org/m:q8") || !strings.HasPrefix(out, "NAME") {
		t.Errorf("list:\n%s", out)
	}
	out, err = runCLI(t, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tags api.ListResponse
	if err := json.Unmarshal([]byte(out), &tags); err != nil {
		t.Fatal(err)
	}
	if len(tags.Models) != 2 || tags.Models[0].Details.Format != "onnx" || tags.Models[0].Details.Family != "bert" ||
		tags.Models[0].Size != int64(len(`{"model_type":"bert"}`)+2+1000) {
		t.Errorf("list --json: %+v", tags.Models)
	}

	if out, err = runCLI(t, "rm", "org/m:q8"); err != nil || out != "deleted 'org/m:q8'\n" {
		t.Fatalf("rm: %q %v", out, err)
	}
	out, _ = runCLI(t, "list")
	if strings.Contains(out, "org/m:q8") || !strings.Contains(out, "org/m:q4") {
		t.Errorf("list after rm:\n%s", out)
	}
	if _, err := runCLI(t, "pull", "org/missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("pull of a missing repo: %v", err)
	}
	if _, err := runCLI(t, "pull"); exitCode(err, io.Discard) != 2 {
		t.Errorf("pull without a reference: %v, want a usage error", err)
	}
}

func TestMirrorVerb(t *testing.T) {
	root := hubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- newApp(strings.NewReader(""), pw, io.Discard).run(ctx, []string{"mirror", "--listen", "127.0.0.1:0", "--dir", root})
		pw.Close()
	}()
	first, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := strings.TrimSpace(first[strings.Index(first, "http://"):])
	t.Setenv("HF_ENDPOINT", url)
	if out, err := runCLI(t, "pull", "org/m:fp32"); err != nil || !strings.Contains(out, "pulled org/m:fp32") {
		t.Errorf("pull from `runner mirror`: %q %v", out, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("mirror returned %v after cancel", err)
	}
}
