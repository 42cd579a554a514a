package tokenizer_test

import (
	"testing"

	"runner/internal/testenv"
	"runner/tokenizer"
)

func TestSubwordHelpers(t *testing.T) {
	cases := []struct {
		file    string
		prefix  string
		unk     string
		tokens  []string
		decoded string
	}{
		// WordPiece: pieces lose ##, words get a space, and the decoder's
		// clean-up joins punctuation.
		{"all-minilm-l6-v2/tokenizer.json", "##", "[UNK]", []string{"un", "##bel", "##ie", "##va", "##bly", "london", ","}, "unbelievably london,"},
		// Byte-level BPE: Ġ is a space; there is no continuing prefix and
		// no unknown token.
		{"gpt4o/tokenizer.json", "", "", []string{"Hello", "Ġworld", "!"}, "Hello world!"},
		// SentencePiece BPE with byte fallback: ▁ is a space.
		{"llama2/tokenizer.json", "", "<unk>", []string{"▁Hello", "▁world"}, "Hello world"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tok, err := tokenizer.LoadFile(testenv.TokenizerFile(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if p := tok.ContinuingSubwordPrefix(); p != c.prefix {
				t.Errorf("prefix %q, want %q", p, c.prefix)
			}
			id, ok := tok.UnknownID()
			if name, _ := tok.IDToToken(id); ok != (c.unk != "") || (ok && name != c.unk) {
				t.Errorf("unknown token %d %q (%v), want %q", id, name, ok, c.unk)
			}
			if got := tok.DecodeTokens(c.tokens); got != c.decoded {
				t.Errorf("DecodeTokens(%q) = %q, want %q", c.tokens, got, c.decoded)
			}
		})
	}
}
