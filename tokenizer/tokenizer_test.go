package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func loadTiny(t *testing.T, name string) *Tokenizer {
	t.Helper()
	tk, err := LoadFile(filepath.Join("testdata", "tiny", name))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestTinyBPE(t *testing.T) {
	tk := loadTiny(t, "bpe.json")
	eot, ok := tk.TokenToID("<|endoftext|>")
	if !ok {
		t.Fatal("no <|endoftext|>")
	}
	tests := []struct {
		name    string
		text    string
		opts    []EncodeOption
		tokens  []string
		offsets []Offset
	}{
		{"merges", "Hello the world", nil,
			[]string{"Hello", "Ġthe", "Ġworld", "<|endoftext|>"},
			[]Offset{{0, 5}, {5, 9}, {9, 15}, {0, 0}}},
		{"special token in text", "the<|endoftext|>x", []EncodeOption{WithoutSpecialTokens()},
			[]string{"t", "he", "<|endoftext|>", "x"},
			[]Offset{{0, 1}, {1, 3}, {3, 16}, {16, 17}}},
		{"bytes of one character share its offsets", "東", []EncodeOption{WithoutSpecialTokens()},
			[]string{"æ", "Ŀ", "±"},
			[]Offset{{0, 3}, {0, 3}, {0, 3}}},
		{"empty", "", nil, []string{"<|endoftext|>"}, []Offset{{0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tk.Encode(tc.text, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.Tokens, tc.tokens) || !slices.Equal(e.Offsets, tc.offsets) {
				t.Errorf("got %q %v, want %q %v", e.Tokens, e.Offsets, tc.tokens, tc.offsets)
			}
			for i, id := range e.IDs {
				if tok, _ := tk.IDToToken(id); tok != e.Tokens[i] {
					t.Errorf("token %d: id %d is %q, encoding says %q", i, id, tok, e.Tokens[i])
				}
			}
			if len(e.AttentionMask) != e.Len() || len(e.TypeIDs) != e.Len() || len(e.WordIDs) != e.Len() {
				t.Errorf("ragged encoding: %+v", e)
			}
		})
	}
	e, err := tk.Encode("Hello the world 東京")
	if err != nil {
		t.Fatal(err)
	}
	if e.IDs[len(e.IDs)-1] != eot || e.SpecialTokensMask[len(e.IDs)-1] != 1 {
		t.Errorf("last token %d (special %d), want <|endoftext|> %d marked special", e.IDs[len(e.IDs)-1], e.SpecialTokensMask[len(e.IDs)-1], eot)
	}
	for _, skip := range []bool{false, true} {
		text, err := tk.Decode(e.IDs, skip)
		if err != nil {
			t.Fatal(err)
		}
		want := "Hello the world 東京<|endoftext|>"
		if skip {
			want = "Hello the world 東京"
		}
		if text != want {
			t.Errorf("decode (skip %v) = %q, want %q", skip, text, want)
		}
	}
}

func TestTinyWordPiecePairTruncationPadding(t *testing.T) {
	tk := loadTiny(t, "wordpiece.json")
	e, err := tk.EncodePair("Is it the world?", "Hello worlds!")
	if err != nil {
		t.Fatal(err)
	}
	wantTokens := []string{"[CLS]", "is", "it", "the", "world", "?", "[SEP]", "hello", "world", "##s", "!", "[SEP]"}
	wantTypes := []int{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}
	wantSeq := []int{-1, 0, 0, 0, 0, 0, -1, 1, 1, 1, 1, -1}
	if !slices.Equal(e.Tokens, wantTokens) || !slices.Equal(e.TypeIDs, wantTypes) || !slices.Equal(e.SequenceIDs, wantSeq) {
		t.Errorf("pair: %q %v %v", e.Tokens, e.TypeIDs, e.SequenceIDs)
	}
	if e.Offsets[8] != (Offset{6, 11}) {
		t.Errorf("offset of second text's world = %v, want {6 11}", e.Offsets[8])
	}

	tr := tk.WithTruncation(8, LongestFirst, 1)
	e, err = tr.EncodePair("Is it the world?", "Hello worlds!")
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 8 || e.Tokens[0] != "[CLS]" || e.Tokens[7] != "[SEP]" || len(e.Overflowing) == 0 {
		t.Errorf("truncated pair: %q, %d overflowing", e.Tokens, len(e.Overflowing))
	}
	for _, o := range e.Overflowing {
		if o.Len() > 8 || o.Tokens[0] != "[CLS]" {
			t.Errorf("overflowing window %q", o.Tokens)
		}
	}

	padded := tk.WithPadding(&Padding{MultipleOf: 8, ID: 0, Token: "[PAD]"})
	batch, err := padded.EncodeBatch(t.Context(), []string{"hello", "the world is a b c it hello"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batch {
		if b.Len() != 16 {
			t.Errorf("padded length %d, want 16 (longest 10 rounded up to 8s)", b.Len())
		}
	}
	if batch[0].AttentionMask[3] != 0 || batch[0].Tokens[3] != "[PAD]" || batch[0].AttentionMask[2] != 1 {
		t.Errorf("padding: %q %v", batch[0].Tokens, batch[0].AttentionMask)
	}
	if _, err := tk.WithTruncation(4, OnlySecond, 0).Encode("a b c d e f"); !errors.Is(err, ErrSecondSequenceMissing) {
		t.Errorf("OnlySecond on one text: %v, want ErrSecondSequenceMissing", err)
	}
	if _, err := tk.WithTruncation(4, LongestFirst, 3).Encode("a b c d e f"); !errors.Is(err, ErrStrideTooLong) {
		t.Errorf("stride 3 of 2: %v, want ErrStrideTooLong", err)
	}
	text, err := tk.Decode([]int{2, 7, 16, 5, 6, 10, 14, 3}, true)
	if err != nil || text != "hello, the worlds!" {
		t.Errorf("decode = %q, %v", text, err)
	}
	if _, err := tk.Decode([]int{99999}, false); !errors.Is(err, ErrUnknownID) {
		t.Errorf("decode unknown id: %v", err)
	}
}

func TestEncodeBatchMatchesEncode(t *testing.T) {
	tk := loadTiny(t, "bpe.json")
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = strings.Repeat("Hello the world ", i%7) + string(rune('a'+i%26))
	}
	batch, err := tk.EncodeBatch(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		e, err := tk.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(e.IDs, batch[i].IDs) || !slices.Equal(e.Offsets, batch[i].Offsets) {
			t.Fatalf("text %d: batch %v, single %v", i, batch[i].IDs, e.IDs)
		}
	}
}

func TestStreamDecoderTiny(t *testing.T) {
	tk := loadTiny(t, "bpe.json")
	text := "Hello 東京 the world ÿ 😀!"
	e, err := tk.Encode(text, WithoutSpecialTokens())
	if err != nil {
		t.Fatal(err)
	}
	checkStream(t, tk, e.IDs, false)
}

// checkStream decodes ids one at a time and checks that every chunk is
// valid UTF-8 without replacement characters (unless the whole decode has
// them) and that the chunks add up to the whole decode.
func checkStream(t *testing.T, tk *Tokenizer, ids []int, skip bool) {
	t.Helper()
	whole, err := tk.Decode(ids, skip)
	if err != nil {
		t.Fatal(err)
	}
	d := tk.NewStreamDecoder(skip)
	var b strings.Builder
	for _, id := range ids {
		chunk, err := d.Next(id)
		if err != nil {
			t.Fatalf("stream of %v: %v", ids, err)
		}
		if !utf8.ValidString(chunk) || (strings.ContainsRune(chunk, utf8.RuneError) && !strings.ContainsRune(whole, utf8.RuneError)) {
			t.Fatalf("stream chunk %q is not whole characters", chunk)
		}
		b.WriteString(chunk)
	}
	if got := b.String(); got != whole && !strings.HasPrefix(whole, got) {
		t.Fatalf("stream gave %q, decode gives %q", got, whole)
	}
	if got := b.String() + d.Flush(); got != whole {
		t.Fatalf("stream gave %q, decode gives %q", got, whole)
	}
}

func TestRuneOffsets(t *testing.T) {
	text := "aé東😀b"
	got := RuneOffsets(text, []Offset{{0, 1}, {1, 3}, {3, 6}, {6, 10}, {10, 11}, {0, 0}, {3, 10}})
	want := []Offset{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {0, 0}, {2, 4}}
	if !slices.Equal(got, want) {
		t.Errorf("RuneOffsets = %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want error
	}{
		{"not json", "{", nil},
		{"no model", `{"model": null}`, errNoModel},
		{"unknown normalizer", `{"normalizer": {"type": "Shout"}, "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}}`, ErrUnsupported},
		{"unknown model", `{"model": {"type": "Magic"}}`, ErrUnsupported},
		{"bad merge", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`, nil},
		{"sparse ids", `{"model": {"type": "WordLevel", "vocab": {"a": 2000000000}, "unk_token": "a"}}`, nil},
		{"negative id", `{"model": {"type": "WordPiece", "vocab": {"a": -1}}}`, nil},
		{"bad template", `{"post_processor": {"type": "TemplateProcessing", "single": "[X] $A", "pair": "$A $B", "special_tokens": {}}, "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadFile of a missing file: no error")
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := loadTiny(t, "bpe.json")
	e, err := tk.Encode("a\xffb", WithoutSpecialTokens())
	if err != nil {
		t.Fatal(err)
	}
	text, err := tk.Decode(e.IDs, false)
	if err != nil || text != "a\uFFFDb" {
		t.Errorf("round trip of invalid UTF-8 = %q, %v", text, err)
	}
}

func TestEncodePairBatchWithOverflow(t *testing.T) {
	tk := loadTiny(t, "wordpiece.json").WithTruncation(9, LongestFirst, 1)
	pairs := make([][2]string, 64)
	for i := range pairs {
		pairs[i] = [2]string{strings.Repeat("the world ", 1+i%5), strings.Repeat("hello a b c ", 1+i%3)}
	}
	batch, err := tk.EncodePairBatch(t.Context(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pairs {
		e, err := tk.EncodePair(p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(e.IDs, batch[i].IDs) || len(e.Overflowing) != len(batch[i].Overflowing) {
			t.Fatalf("pair %d: batch %v (%d overflowing), single %v (%d)", i, batch[i].IDs, len(batch[i].Overflowing), e.IDs, len(e.Overflowing))
		}
		if e.Len() > 9 || e.Tokens[0] != "[CLS]" || e.SpecialTokensMask[0] != 1 || e.SequenceIDs[0] != -1 {
			t.Fatalf("pair %d: %q", i, e.Tokens)
		}
	}
}

func TestLoadDirConfig(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "tiny", "bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"model_max_length": 2048, "bos_token": "<|endoftext|>", "eos_token": {"content": "<|endoftext|>", "special": true},
		"pad_token": null, "add_bos_token": false, "chat_template": "{{ messages }}"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tk.Config()
	if c.ModelMaxLength != 2048 || c.EOSToken != "<|endoftext|>" || c.AddBOSToken == nil || *c.AddBOSToken || c.ChatTemplate != "{{ messages }}" {
		t.Errorf("config %+v", c)
	}
	eot, _ := tk.TokenToID("<|endoftext|>")
	if ids := tk.SpecialIDs(); ids.BOS != eot || ids.EOS != eot || ids.Pad != -1 || ids.Unk != -1 {
		t.Errorf("special ids %+v, want bos = eos = %d", ids, eot)
	}
	if n := tk.VocabSize(); n != eot+1 {
		t.Errorf("vocab size %d, want %d", n, eot+1)
	}
}
