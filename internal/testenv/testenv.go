// Package testenv gives tests what `make test` fetches or builds for them:
// the ONNX Runtime library, the node reference tools (transformers.js,
// tokenizers.js, jinja), real tokenizer files and the generated fixture
// models.
//
// The Makefile points tests at them with RUNNER_TEST_* variables. When a
// variable is unset (a plain `go test` outside make), tests that need it are
// skipped with a hint; when it is set but the thing is missing, they fail, so
// `make test` can never pass by skipping.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Variables the Makefile exports for tests.
const (
	ORTLibraryVar = "RUNNER_TEST_ORT_LIB"
	NodeDirVar    = "RUNNER_TEST_NODE_DIR"
	FixturesVar   = "RUNNER_TEST_FIXTURES"
	TokenizersVar = "RUNNER_TEST_TOKENIZERS"
)

// need returns the path named by the variable, skipping the test when the
// variable is unset and failing it when the path does not exist.
func need(t testing.TB, variable, what string) string {
	t.Helper()
	p := os.Getenv(variable)
	if p == "" {
		t.Skipf("%s not set: run `make test` to fetch %s", variable, what)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v (run `make deps fixtures`)", variable, p, err)
	}
	return p
}

// ORTLibrary returns the path of the ONNX Runtime shared library.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	return need(t, ORTLibraryVar, "ONNX Runtime")
}

// NodeDir returns the directory whose node_modules holds the reference tools.
func NodeDir(t testing.TB) string {
	t.Helper()
	return need(t, NodeDirVar, "the node reference tools")
}

// Fixture returns the directory of a generated fixture model (a Hub-style
// repo), such as "tiny-bert-embedder".
func Fixture(t testing.TB, name string) string {
	t.Helper()
	dir := need(t, FixturesVar, "the fixture models")
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v (run `make fixtures`)", name, err)
	}
	return p
}

// TokenizerFile returns the path of a fetched real tokenizer.json, such as
// "qwen3/tokenizer.json".
func TokenizerFile(t testing.TB, name string) string {
	t.Helper()
	dir := need(t, TokenizersVar, "the real tokenizer files")
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("tokenizer %s: %v (run `make deps`)", name, err)
	}
	return p
}

// Node runs an ES module script with node, resolving bare imports such as
// "@huggingface/transformers" against the reference tools, and returns its
// stdout. stdin feeds the script; args follow it on the command line
// (process.argv[1:] in the script).
func Node(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	dir := NodeDir(t)
	cmd := exec.Command("node", append([]string{"--input-type=module", "-e", script, "--"}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return out
}

// WriteFiles writes files, slash-separated paths under dir to their
// contents, making the folders they need.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
