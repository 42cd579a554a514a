package pipeline

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"runner/engine"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/pipeline/sampling"
)

// A panic while sampling one sequence (here, a format with no matcher) ends
// that sequence with an error; the generator goes on serving others.
func TestSamplingPanicEndsOnlyItsSequence(t *testing.T) {
	rt, err := engine.Open(engine.Config{LibraryPath: testenv.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	dir := fixtures.Dir(t, fixtures.TinyLlama)
	m, err := Load(context.Background(), LoadConfig{Name: "tiny-llama", Dir: dir, Graphs: []string{filepath.Join(dir, "onnx", "model.onnx")}, Runtime: rt,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt, err := m.EncodePrompt("Hello", true)
	if err != nil {
		t.Fatal(err)
	}
	s := &genSeq{
		ctx:     context.Background(),
		prompt:  []int64{int64(prompt[0])},
		sampler: sampling.New(sampling.Options{}),
		history: prompt[:1],
		maxNew:  5,
		maxLen:  64,
		notify:  make(chan struct{}, 1),
		format:  &formatState{open: -1, close: -1}, // no value matcher: Allows panics
	}
	if err := m.gen.submit(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for {
		<-s.notify
		if _, done, _, err := s.take(); done {
			if err == nil || !strings.Contains(err.Error(), "internal error") {
				t.Fatalf("err = %v, want an internal error", err)
			}
			break
		}
	}
	stats, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxTokens: 3}, func(string) error { return nil })
	if err != nil || stats.Tokens != 3 {
		t.Fatalf("after the panic: %+v, %v", stats, err)
	}
}
