package pipeline

import (
	"testing"

	"runner/internal/testenv"
	"runner/pipeline/constrain"
	"runner/tokenizer"
)

// qwen3Format makes a formatState over Qwen3's real tokenizer, which has
// <think> and </think> tokens.
func qwen3Format(t *testing.T, thinking bool, prompt string) (*formatState, *tokenizer.Tokenizer, func(string) []int) {
	t.Helper()
	tok, err := tokenizer.LoadFile(testenv.TokenizerFile(t, "qwen3/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	encode := func(s string) []int {
		enc, err := tok.Encode(s, tokenizer.WithoutSpecialTokens(), tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil))
		if err != nil {
			t.Fatal(err)
		}
		return enc.IDs
	}
	eos, _ := tok.TokenToID("<|im_end|>")
	tokens := make([][]byte, tok.VocabSize())
	for id := range tokens {
		tokens[id] = tok.TokenBytes(id)
	}
	g, err := constrain.Schema([]byte(`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}`))
	if err != nil {
		t.Fatal(err)
	}
	return newFormatState(tok, constrain.NewVocabulary(tokens, []int{eos}), g, thinking, encode(prompt)), tok, encode
}

func TestFormatAfterThinking(t *testing.T) {
	f, tok, encode := qwen3Format(t, true, "<|im_start|>assistant\n")
	open, _ := thinkingTokens(tok)
	word := encode("Hmm")[0]
	if !f.Allows(open) || f.Allows(word) || f.constraint() == nil {
		t.Fatal("at the start, <think> or the value may come, not free text")
	}
	mask := make([]bool, tok.VocabSize())
	if !f.Mask(mask) || !mask[open] || mask[word] {
		t.Fatal("the start's mask should allow <think> and not free text")
	}
	for _, id := range encode("<think>\nHmm, an object: {\"ok\" is it.\n</think>\n\n") {
		if c := f.constraint(); c != nil && !c.Allows(id) {
			t.Fatalf("token %q refused", tok.TokenBytes(id))
		}
		if err := f.accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if f.phase != formatValue || f.Allows(word) || f.finished() {
		t.Fatal("after </think> the value must follow")
	}
	for _, id := range encode(`{"ok": true}`) {
		if !f.Allows(id) {
			t.Fatalf("token %q of the value refused", tok.TokenBytes(id))
		}
		if err := f.accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if !f.finished() {
		t.Fatal("the value is complete")
	}
}

func TestFormatThinkingOpenedByPrompt(t *testing.T) {
	f, _, encode := qwen3Format(t, true, "<|im_start|>assistant\n<think>\n")
	if f.phase != formatThinking || f.constraint() != nil {
		t.Fatal("a prompt that opens <think> starts free")
	}
	f, tok, _ := qwen3Format(t, false, "<|im_start|>assistant\n")
	open, _ := thinkingTokens(tok)
	if f.Allows(open) || !f.Allows(encode("{")[0]) {
		t.Fatal("without thinking, the value comes first")
	}
}
