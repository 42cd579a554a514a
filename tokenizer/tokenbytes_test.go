package tokenizer_test

import (
	"bytes"
	"strings"
	"testing"

	"runner/internal/testenv"
	"runner/tokenizer"
)

// TestTokenBytesRebuildText checks that the bytes of a text's tokens,
// joined, give the text Decode gives, for byte-level BPE (where tokens
// split characters), SentencePiece BPE with byte fallback, and Unigram.
func TestTokenBytesRebuildText(t *testing.T) {
	texts := []string{
		`{"name": "Zoë", "tags": ["naïve", "日本語"], "n": -1.5e3}`,
		"Hello, world! 🙂 tabs\tand\nnewlines",
	}
	for _, name := range []string{"qwen3", "llama3", "llama2", "gemma3", "unigram"} {
		t.Run(name, func(t *testing.T) {
			tok, err := tokenizer.LoadFile(testenv.TokenizerFile(t, name+"/tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range texts {
				enc, err := tok.Encode(text, tokenizer.WithoutSpecialTokens(), tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil))
				if err != nil {
					t.Fatal(err)
				}
				var got []byte
				for _, id := range enc.IDs {
					b := tok.TokenBytes(id)
					if b == nil {
						t.Fatalf("token %d of %q has no bytes", id, text)
					}
					got = append(got, b...)
				}
				want, err := tok.Decode(enc.IDs, true)
				if err != nil {
					t.Fatal(err)
				}
				if s := strings.TrimLeft(string(got), " "); s != strings.TrimLeft(want, " ") {
					t.Errorf("joined token bytes = %q, want %q", s, want)
				}
			}
		})
	}
}

func TestTokenBytesSpecialIsNil(t *testing.T) {
	tok, err := tokenizer.LoadFile(testenv.TokenizerFile(t, "qwen3/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := tok.TokenToID("<|im_start|>")
	if !ok {
		t.Fatal("no <|im_start|>")
	}
	if b := tok.TokenBytes(id); b != nil {
		t.Errorf("TokenBytes(<|im_start|>) = %q, want nil", b)
	}
	if b := tok.TokenBytes(-1); b != nil || tok.TokenBytes(tok.VocabSize()) != nil {
		t.Error("ids outside the vocabulary should have no bytes")
	}
	if !bytes.Equal(tok.TokenBytes(mustID(t, tok, "Ġ{")), []byte(" {")) {
		t.Errorf("TokenBytes(Ġ{) = %q", tok.TokenBytes(mustID(t, tok, "Ġ{")))
	}
}

func mustID(t *testing.T, tok *tokenizer.Tokenizer, s string) int {
	t.Helper()
	id, ok := tok.TokenToID(s)
	if !ok {
		t.Fatalf("no token %q", s)
	}
	return id
}
