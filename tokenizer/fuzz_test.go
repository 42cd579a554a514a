package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzEncodeDecode encodes arbitrary text with the tiny tokenizers (and
// Llama 3's and BERT's when fetched): nothing may panic, offsets must lie
// inside the text in order of tokens' positions, byte-level encodings
// must decode back to the (NFC-normalized) text, and streaming decode must
// agree with decoding at once.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range fastRegexCases {
		f.Add(s)
	}
	f.Add("Hello <|endoftext|> wörld 東京 😀\x00\xff")
	type lossless struct {
		tk        *Tokenizer
		roundTrip func(string) string // the text decode must give back; nil: no check
	}
	var tks []lossless
	for _, name := range []string{"bpe.json", "wordpiece.json"} {
		tk, err := LoadFile(filepath.Join("testdata", "tiny", name))
		if err != nil {
			f.Fatal(err)
		}
		var rt func(string) string
		if name == "bpe.json" {
			rt = norm.NFC.String
		}
		tks = append(tks, lossless{tk, rt})
	}
	if dir := os.Getenv("RUNNER_TEST_TOKENIZERS"); dir != "" {
		for _, name := range []string{"llama3", "bert-base-uncased", "unigram"} {
			tk, err := LoadFile(filepath.Join(dir, name, "tokenizer.json"))
			if err != nil {
				f.Fatal(err)
			}
			var rt func(string) string
			if name == "llama3" {
				rt = func(s string) string { return s }
			}
			tks = append(tks, lossless{tk, rt})
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range tks {
			e, err := l.tk.Encode(s, WithoutSpecialTokens())
			if err != nil {
				t.Fatalf("encode %q: %v", s, err)
			}
			valid := validUTF8(s)
			for i, o := range e.Offsets {
				if o.Start < 0 || o.End > len(valid) || o.Start > o.End {
					t.Fatalf("encode %q: token %d offsets %v outside the text", s, i, o)
				}
			}
			text, err := l.tk.Decode(e.IDs, false)
			if err != nil {
				t.Fatalf("decode %v: %v", e.IDs, err)
			}
			if !utf8.ValidString(text) {
				t.Fatalf("decode %v gave invalid UTF-8", e.IDs)
			}
			if l.roundTrip != nil && text != l.roundTrip(valid) {
				t.Fatalf("round trip of %q gave %q", s, text)
			}
			ids := e.IDs
			if len(ids) > 256 {
				// A stream waits while its text ends in U+FFFD, so long
				// runs of it make the check quadratic.
				ids = ids[:256]
			}
			checkStream(t, l.tk, ids, false)
		}
	})
}
