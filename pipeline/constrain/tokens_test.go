package constrain

import (
	"math/rand/v2"
	"testing"

	"runner/internal/testenv"
	"runner/tokenizer"
)

// vocabulary builds a Vocabulary from a real tokenizer.
func vocabulary(tb testing.TB, name string) (*Vocabulary, *tokenizer.Tokenizer, int) {
	tb.Helper()
	tok, err := tokenizer.LoadFile(testenv.TokenizerFile(tb, name+"/tokenizer.json"))
	if err != nil {
		tb.Fatal(err)
	}
	tokens := make([][]byte, tok.VocabSize())
	for id := range tokens {
		tokens[id] = tok.TokenBytes(id)
	}
	eos, ok := tok.TokenToID("</s>")
	if !ok {
		eos, _ = tok.TokenToID("<|endoftext|>")
	}
	return NewVocabulary(tokens, []int{eos}), tok, eos
}

// TestMaskEqualsAllows checks the trie walk against trying every token on
// its own, at several points of an output.
func TestMaskEqualsAllows(t *testing.T) {
	g, err := Schema([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama2", "qwen3"} {
		v, _, eos := vocabulary(t, name)
		for _, prefix := range []string{"", `{`, `{"na`, `{"name": "Zo`, "{\"name\": \"Z\xe6", "{\"name\": \"Z\xf0\x9f", `{"name": "A\`, `{"name": "A", "age": 1`, `{"name": "A", "age": 1, "tags": ["x"]}`} {
			c := v.Constrain(g)
			if err := c.m.Advance([]byte(prefix)); err != nil {
				t.Fatalf("%s: %v", prefix, err)
			}
			mask := make([]bool, len(v.tokens)+5)
			any := c.Mask(mask)
			n := 0
			for id := range mask {
				if mask[id] != c.Allows(id) {
					t.Fatalf("%s after %q: token %d (%q): Mask says %v, Allows %v", name, prefix, id, v.tokens[min(id, len(v.tokens)-1)], mask[id], c.Allows(id))
				}
				if mask[id] {
					n++
				}
			}
			if !any || n == 0 {
				t.Fatalf("%s after %q: no token allowed", name, prefix)
			}
			if done := prefix != "" && prefix[len(prefix)-1] == '}'; mask[eos] != done {
				t.Errorf("%s after %q: end of sequence allowed = %v", name, prefix, mask[eos])
			}
			t.Logf("%s after %q: %d of %d tokens allowed", name, prefix, n, len(v.tokens))
		}
	}
}

// TestTokensFollowGrammar walks real tokens: a prompt's JSON split by the
// tokenizer is accepted token by token, and finishes the output.
func TestTokensFollowGrammar(t *testing.T) {
	v, tok, eos := vocabulary(t, "llama2")
	doc := `{"name": "Zoë", "age": 41, "tags": ["naïve", "日本語"]}`
	enc, err := tok.Encode(doc, tokenizer.WithoutSpecialTokens(), tokenizer.WithPaddingOption(nil), tokenizer.WithTruncationOption(nil))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Schema([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := v.Constrain(g)
	for i, id := range enc.IDs {
		if c.Allows(eos) || c.Finished() {
			t.Fatalf("token %d: the output is complete too early", i)
		}
		if !c.Allows(id) {
			t.Fatalf("token %d (%q) refused", i, v.tokens[id])
		}
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Finished() || !c.Allows(eos) || c.Accept(eos) != nil {
		t.Error("the output should be finished, with end of sequence allowed")
	}
	if err := c.Accept(enc.IDs[0]); err == nil {
		t.Error("a token after the end was accepted")
	}
}

func BenchmarkMask(b *testing.B) {
	v, _, _ := vocabulary(b, "qwen3")
	mask := make([]bool, len(v.tokens))
	patterned, err := Schema([]byte(`{"type": "object", "properties": {"a": {"type": "string", "pattern": "cat"}, "t": {"type": "string", "format": "date-time"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	for _, at := range []struct {
		name, prefix string
		g            *Grammar
	}{
		{"object", `{"a": 1, `, JSON()}, {"string", `{"a": "some text`, JSON()},
		{"pattern", `{"a": "some text`, patterned}, {"date-time", `{"t": "2024-0`, patterned},
	} {
		b.Run(at.name, func(b *testing.B) {
			c := v.Constrain(at.g)
			if err := c.m.Advance([]byte(at.prefix)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				c.Mask(mask)
			}
		})
	}
}

// Random walks over real vocabularies, taking any token Mask allows, never
// reach a point where no token is allowed, and end in a matching value:
// string patterns refuse a character's first byte, or an escape's first
// digit, when nothing it can become fits.
func TestTokenWalksNeverStuck(t *testing.T) {
	g, err := Schema([]byte(`{"type": "object", "properties": {
		"note": {"type": "string", "maxLength": 6},
		"due": {"type": "string", "format": "date"},
		"code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"},
		"n": {"type": "integer", "minimum": -5, "maximum": 50}},
		"required": ["note", "due", "code", "n"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"llama2", "qwen3"} {
		v, _, eos := vocabulary(t, name)
		rng := rand.New(rand.NewPCG(1, 2))
		mask := make([]bool, len(v.tokens))
		for walk := 0; walk < 40; walk++ {
			c := v.Constrain(g)
			var out []byte
			for !c.Finished() && len(out) < 5000 {
				if !c.Mask(mask) {
					t.Fatalf("%s walk %d: nothing allowed after %q", name, walk, out)
				}
				var ids []int
				for id, ok := range mask {
					if ok {
						ids = append(ids, id)
					}
				}
				id := ids[rng.IntN(len(ids))]
				if id == eos {
					break
				}
				if err := c.Accept(id); err != nil {
					t.Fatal(err)
				}
				out = append(out, v.tokens[id]...)
			}
			if c.Finished() && !matches(g, string(out)) {
				t.Fatalf("%s walk %d: %q does not match", name, walk, out)
			}
		}
	}
}
