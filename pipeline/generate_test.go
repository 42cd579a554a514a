package pipeline_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"runner/chattemplate"
	"runner/internal/fixtures"
	"runner/internal/testenv"
	"runner/pipeline"
	"runner/pipeline/sampling"
)

//go:embed testdata/generate.mjs
var generateScript string

// referenceGenerate runs transformers.js's greedy generate on prompts (ids)
// and chats (rendered and tokenized by transformers.js); it returns the
// prompts' ids and the generated ids.
func referenceGenerate(t *testing.T, prompts [][]int, chats [][]map[string]string, maxNew int) (ids, outputs [][]int) {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"prompts": prompts, "chats": chats, "max_new_tokens": maxNew})
	out := testenv.Node(t, generateScript, in, filepath.Dir(fixtures.Dir(t, fixtures.TinyLlama)), fixtures.TinyLlama)
	var r struct{ Prompts, Outputs [][]int }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	return r.Prompts, r.Outputs
}

var greedy = pipeline.GenerateOptions{Sampling: sampling.Options{Temperature: 0}, MaxTokens: 20}

// generated returns the ids a generation added to its prompt.
func generated(t *testing.T, m *pipeline.Model, prompt []int, opts pipeline.GenerateOptions) ([]int, string) {
	t.Helper()
	var text strings.Builder
	stats, err := m.Generate(context.Background(), prompt, opts, func(s string) error {
		text.WriteString(s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PromptTokens != len(prompt) || stats.Tokens == 0 || stats.DoneReason == "" {
		t.Fatalf("stats %+v", stats)
	}
	return stats.Context[len(prompt):], text.String()
}

// Greedy generation gives the same ids as transformers.js, one request at a
// time and several at once (decoding in one batch).
func TestGenerateMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyLlama)
	texts := []string{"Hello, my name is", "The capital of France", "Once upon a time, in a land far away, there lived", "1 2 3 4"}
	var prompts [][]int
	for _, s := range texts {
		ids, err := m.EncodePrompt(s, true)
		if err != nil {
			t.Fatal(err)
		}
		prompts = append(prompts, ids)
	}
	_, want := referenceGenerate(t, prompts, nil, greedy.MaxTokens)
	for i, w := range want {
		if len(w) == 0 {
			t.Fatalf("transformers.js generated nothing for prompt %d", i)
		}
	}

	for i, p := range prompts {
		got, text := generated(t, m, p, greedy)
		if !slices.Equal(got, want[i]) {
			t.Fatalf("prompt %d: got %v, want %v", i, got, want[i])
		}
		if dec, _ := m.Tokenizer().Decode(got, true); dec != text {
			t.Fatalf("streamed text %q, decoded %q", text, dec)
		}
	}

	var wg sync.WaitGroup
	results := make([][]int, len(prompts))
	for round := 0; round < 2; round++ {
		for i, p := range prompts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], _ = generated(t, m, p, greedy)
			}()
		}
		wg.Wait()
		for i := range prompts {
			if !slices.Equal(results[i], want[i]) {
				t.Fatalf("concurrent prompt %d: got %v, want %v", i, results[i], want[i])
			}
		}
	}
}

func TestGenerateStopsAndLimits(t *testing.T) {
	m := loadFixture(t, fixtures.TinyLlama)
	prompt, _ := m.EncodePrompt("Hello, my name is", true)
	full, text := generated(t, m, prompt, greedy)
	if len(text) < 4 {
		t.Skipf("the fixture's greedy text %q is too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+2]
	_, cut := generated(t, m, prompt, pipeline.GenerateOptions{Sampling: greedy.Sampling, MaxTokens: 20, Stop: []string{stop}})
	if want := text[:strings.Index(text, stop)]; cut != want {
		t.Fatalf("with stop %q: %q, want %q", stop, cut, want)
	}
	few, _ := generated(t, m, prompt, pipeline.GenerateOptions{Sampling: greedy.Sampling, MaxTokens: 3})
	if !slices.Equal(few, full[:3]) {
		t.Fatalf("3 tokens: %v, want %v", few, full[:3])
	}
	seeded := pipeline.GenerateOptions{Sampling: sampling.Options{Temperature: 1, TopK: 50, Seed: new(int64(7))}, MaxTokens: 10}
	a, _ := generated(t, m, prompt, seeded)
	b, _ := generated(t, m, prompt, seeded)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different tokens: %v vs %v", a, b)
	}
}

func TestGenerateCancel(t *testing.T) {
	m := loadFixture(t, fixtures.TinyLlama)
	prompt, _ := m.EncodePrompt("Hello", true)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := m.Generate(ctx, prompt, pipeline.GenerateOptions{Sampling: sampling.Options{Temperature: 1}, MaxTokens: 1000}, func(string) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Fatal("a cancelled generation returned no error")
	}
	// Its slot and cache are freed at the next step.
	deadline := time.Now().Add(5 * time.Second)
	for m.Queued() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sequences still queued after the cancel", m.Queued())
		}
		time.Sleep(time.Millisecond)
	}
	// The model keeps serving.
	if _, text := generated(t, m, prompt, greedy); text == "" {
		t.Fatal("no text after a cancelled generation")
	}
}

// A chat rendered by runner's template and tokenizer gives transformers.js's
// prompt ids, and the same greedy answer.
func TestChatMatchesTransformersJS(t *testing.T) {
	m := loadFixture(t, fixtures.TinyLlama)
	chats := [][]map[string]string{
		{{"role": "user", "content": "What is the capital of France?"}},
		{{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi there"},
			{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Tell me a joke about café crème ☕"}},
	}
	wantIDs, wantOut := referenceGenerate(t, nil, chats, greedy.MaxTokens)
	for i, chat := range chats {
		var msgs []chattemplate.Message
		for _, m := range chat {
			msgs = append(msgs, chattemplate.Message{Role: m["role"], Content: m["content"]})
		}
		text, err := m.RenderChat(chattemplate.Input{Messages: msgs, AddGenerationPrompt: true}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids, err := m.EncodePrompt(text, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, wantIDs[i]) {
			t.Fatalf("chat %d prompt ids:\n got %v\nwant %v", i, ids, wantIDs[i])
		}
		got, _ := generated(t, m, ids, greedy)
		if !slices.Equal(got, wantOut[i]) {
			t.Fatalf("chat %d: got %v, want %v", i, got, wantOut[i])
		}
	}
}

// A generation that fills its context shifts it (keeping the first tokens,
// dropping the older half of the rest) and goes on; what it generates after
// the shift is what the model generates from the shifted tokens afresh.
func TestGenerateShiftsFullContext(t *testing.T) {
	m := loadFixture(t, fixtures.TinyLlama)
	prompt, _ := m.EncodePrompt("Once upon a time, in a land far away, there lived a king who", true)
	const ctxLen, keep = 32, 4
	base := pipeline.GenerateOptions{Sampling: greedy.Sampling, MaxTokens: 40, ContextLength: ctxLen, Keep: keep}

	noShift, _ := generated(t, m, prompt, base)
	if want := ctxLen - len(prompt); len(noShift) != want {
		t.Fatalf("without shift: %d tokens, want %d (the context is full)", len(noShift), want)
	}

	shifting := base
	shifting.Shift = true
	got, _ := generated(t, m, prompt, shifting)
	if len(got) != base.MaxTokens {
		t.Fatalf("with shift: %d tokens, want %d", len(got), base.MaxTokens)
	}
	if !slices.Equal(got[:len(noShift)], noShift) {
		t.Fatalf("before the shift: %v, want %v", got[:len(noShift)], noShift)
	}
	// At the shift the history is prompt+noShift (ctxLen tokens); it keeps
	// the first keep and the newest half.
	history := append(slices.Clone(prompt), noShift...)
	discard := (ctxLen - keep) / 2
	shifted := append(slices.Clone(history[:keep]), history[keep+discard:]...)
	// Until the context fills again (and shifts a second time).
	after := pipeline.GenerateOptions{Sampling: greedy.Sampling, MaxTokens: ctxLen - len(shifted)}
	want, _ := generated(t, m, shifted, after)
	if next := got[len(noShift):][:len(want)]; !slices.Equal(next, want) {
		t.Fatalf("after the shift: %v, want %v", next, want)
	}
}

// The Llama fixture with its attention in one GroupQueryAttention node (as
// onnxruntime-genai exports have it) generates what the plain graph does,
// alone and with concurrent prompts of different lengths sharing decode
// steps: that attention assumes padding on the right, so its cache is
// right-padded.
func TestGenerateGroupQueryAttention(t *testing.T) {
	plain, gqa := loadFixture(t, fixtures.TinyLlama), loadFixture(t, fixtures.TinyLlamaGQA)
	texts := []string{"Hello, my name is", "The capital of France", "Once upon a time, in a land far away, there lived", "1 2 3 4"}
	want := make([][]int, len(texts))
	prompts := make([][]int, len(texts))
	for i, s := range texts {
		prompts[i], _ = plain.EncodePrompt(s, true)
		want[i], _ = generated(t, plain, prompts[i], greedy)
		if got, _ := generated(t, gqa, prompts[i], greedy); !slices.Equal(got, want[i]) {
			t.Fatalf("prompt %d alone: %v, want %v", i, got, want[i])
		}
	}
	before, _ := gqa.GenerateStats()
	got := make([][]int, len(texts))
	var wg sync.WaitGroup
	for i := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = generated(t, gqa, prompts[i], greedy)
		}()
	}
	wg.Wait()
	for i := range prompts {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("prompt %d among others: %v, want %v", i, got[i], want[i])
		}
	}
	// One at a time, each sequence takes MaxTokens-1 decode steps (its
	// first token comes from its prefill); sharing steps takes fewer.
	after, _ := gqa.GenerateStats()
	if steps, alone := after.Steps-before.Steps, int64(len(prompts)*(greedy.MaxTokens-1)); steps >= alone {
		t.Fatalf("%d decode steps for %d sequences: they never shared one (%d one at a time)", steps, len(prompts), alone)
	}
}
