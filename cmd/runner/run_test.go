package main

import (
	"context"
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
	if _, err := runCLI(t, "run", "--think", "maybe", model, "hi"); exitCode(err, io.Discard) != 2 {
		t.Errorf("--think maybe: %v, want a usage error", err)
	}
}

func TestREPLCommands(t *testing.T) {
	encoderEnv(t)
	model := fixtures.Dir(t, fixtures.TinyLlama)
	script := strings.Join([]string{
		"/set parameter temperature 0",
		"/set parameter num_predict 40", // room for the 32 spaces the format allows before the value
		"/set parameter stop END STOP",
		"/show parameters",
		`/set format {"enum": ["yes", "no"]}`,
		"Is it?",
		"/set noformat",
		"/set system Be brief.",
		"/show system",
		"/show format",
		"/frobnicate",
		"/bye",
		"never sent",
	}, "\n")
	s, got, stderr := runREPL(t, model, script)
	for _, want := range []string{
		"temperature          0\n", "num_predict          40\n", `stop                 ["END","STOP"]` + "\n",
		"Set format.", "Be brief.\n", "Free text.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, `"yes"`) && !strings.Contains(got, `"no"`) {
		t.Errorf("the formatted answer is neither \"yes\" nor \"no\":\n%s", got)
	}
	if len(s.history) != 3 || s.history[0].Role != "system" || s.history[1].Content != "Is it?" {
		t.Errorf("history %+v: want the system message, then the question and its answer", s.history)
	}
	if !strings.Contains(stderr, "unknown command /frobnicate") || strings.Contains(got, "never sent") {
		t.Errorf("stderr %q", stderr)
	}
}

// A thinking block shows as `ollama run` shows it, unless hidden.
func TestREPLShowsThinking(t *testing.T) {
	encoderEnv(t)
	model := filepath.Join(t.TempDir(), "thinking")
	if err := os.CopyFS(model, os.DirFS(fixtures.Dir(t, fixtures.TinyLlama))); err != nil {
		t.Fatal(err)
	}
	template := "{% for m in messages %}{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<think>\n{% endif %}"
	if err := os.WriteFile(filepath.Join(model, "chat_template.jinja"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "/set parameter num_predict 6\n/set parameter temperature 0\nWhy?\n/set hidethinking\n/clear\nWhy?\n/bye\n"
	_, out, stderr := runREPL(t, model, script)
	if n := strings.Count(out, "Thinking..."); n != 1 || stderr != "" {
		t.Fatalf("%d thinking blocks shown (want 1, the second hidden):\n%s\nstderr: %s", n, out, stderr)
	}
}

// runREPL runs a REPL session on model with script as its input, through
// a server started in the process, and returns the session with what it
// wrote to stdout and stderr.
func runREPL(t *testing.T, model, script string) (*chatSession, string, string) {
	t.Helper()
	var out, errb strings.Builder
	a := newApp(strings.NewReader(script), &out, &errb)
	var engine engineFlags
	conn, err := a.connect(context.Background(), &engine)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := &chatSession{app: a, conn: conn, model: model}
	if err := s.repl(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, out.String(), errb.String()
}
