package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"runner/internal/fixtures"
)

func TestRunWithFormat(t *testing.T) {
	encoderEnv(t)
	model := fixtures.Dir(t, fixtures.TinyLlama)
	schema := filepath.Join(t.TempDir(), "answer.json")
	if err := os.WriteFile(schema, []byte(`{"type": "object", "properties": {"ok": {"type": "boolean"}, "mood": {"enum": ["calm", "glad"]}}, "required": ["ok", "mood"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"@" + schema, `{"enum": [1, 2, 3]}`} {
		out, err := runCLI(t, "run", "--format", format, model, "Answer", "in", "JSON")
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &v); err != nil {
			t.Fatalf("--format %s: answer %q is not JSON: %v", format, out, err)
		}
		if m, ok := v.(map[string]any); format[0] == '@' && (!ok || m["ok"] == nil || m["mood"] == nil) {
			t.Fatalf("answer %q does not follow the schema", out)
		}
	}
	for _, format := range []string{"yaml", "@" + filepath.Join(t.TempDir(), "missing.json"), `[1]`} {
		if _, err := runCLI(t, "run", "--format", format, model, "hi"); exitCode(err, io.Discard) != 2 {
			t.Errorf("--format %s: %v, want a usage error", format, err)
		}
	}
}
