package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"runner/internal/testenv"
)

// The reference data (testdata/reference) was written by
// testdata/genref.mjs from the Hugging Face tokenizers library (Rust) on the
// corpus in testdata/corpus.mjs. Offsets there are in characters.

var referenceNames = []string{"bert-base-uncased", "all-minilm-l6-v2", "cohere", "qwen3", "llama3", "gpt4o", "gemma3", "llama2", "unigram", "unigram-precompiled"}

type refEncoding struct {
	IDs      []int             `json:"i"`
	Offsets  []int             `json:"o"`
	Tokens   map[string]string `json:"t"`
	Types    []int             `json:"y"`
	Special  []int             `json:"s"`
	Attn     []int             `json:"a"`
	Overflow []refEncoding     `json:"v"`
	Err      string            `json:"err"`
}

type refFile struct {
	Single     []refEncoding `json:"single"`
	Plain      []refEncoding `json:"plain"`
	Pairs      []refEncoding `json:"pairs"`
	Decode     []string      `json:"decode"`
	DecodeSkip []string      `json:"decodeSkip"`
	Truncation []struct {
		Params struct {
			MaxLength int    `json:"maxLength"`
			Stride    int    `json:"stride"`
			Strategy  string `json:"strategy"`
			Direction string `json:"direction"`
		} `json:"params"`
		Rows []struct {
			Pair    int          `json:"pair"`
			Skipped bool         `json:"skipped"`
			R       *refEncoding `json:"r"`
			Single  *refEncoding `json:"single"`
		} `json:"rows"`
	} `json:"truncation"`
	Padding []struct {
		Params struct {
			MaxLength       int    `json:"maxLength"`
			Direction       string `json:"direction"`
			PadToMultipleOf int    `json:"padToMultipleOf"`
			PadID           int    `json:"padId"`
			PadTypeID       int    `json:"padTypeId"`
			PadToken        string `json:"padToken"`
		} `json:"params"`
		Texts []string      `json:"texts"`
		Rows  []refEncoding `json:"rows"`
	} `json:"padding"`
}

type refCorpus struct {
	Texts []string    `json:"texts"`
	Pairs [][2]string `json:"pairs"`
}

func readGzipJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r interface{ Read([]byte) (int, error) } = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadCorpus(t testing.TB) refCorpus {
	var c refCorpus
	readGzipJSON(t, filepath.Join("testdata", "reference", "corpus.json"), &c)
	return c
}

// loadReferenceTokenizer loads a fetched tokenizer by reference name.
func loadReferenceTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := LoadFile(testenv.TokenizerFile(t, filepath.Join(name, "tokenizer.json")))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// diffEncoding compares an encoding of text(s) with a reference one and
// describes the first difference ("" if none). texts are the encoded texts
// by sequence id, for converting offsets to characters.
func diffEncoding(tk *Tokenizer, got *Encoding, want *refEncoding, texts []string, withTypes bool) string {
	if !slices.Equal(got.IDs, want.IDs) {
		return fmt.Sprintf("ids\n got %v\nwant %v\n got tokens %q", got.IDs, want.IDs, got.Tokens)
	}
	offs := make([]int, 0, 2*len(got.Offsets))
	for i, o := range got.Offsets {
		seq := got.SequenceIDs[i]
		if seq < 0 {
			offs = append(offs, o.Start, o.End)
			continue
		}
		r := RuneOffsets(texts[seq], []Offset{o})[0]
		offs = append(offs, r.Start, r.End)
	}
	if !slices.Equal(offs, want.Offsets) {
		return fmt.Sprintf("offsets\n got %v\nwant %v\n tokens %q", offs, want.Offsets, got.Tokens)
	}
	for i, id := range got.IDs {
		wantTok, ok := want.Tokens[strconv.Itoa(i)]
		if !ok {
			wantTok, _ = tk.IDToToken(id)
		}
		if got.Tokens[i] != wantTok {
			return fmt.Sprintf("token %d: got %q, want %q", i, got.Tokens[i], wantTok)
		}
	}
	if withTypes {
		if !slices.Equal(got.TypeIDs, want.Types) {
			return fmt.Sprintf("type ids\n got %v\nwant %v", got.TypeIDs, want.Types)
		}
		if !slices.Equal(got.SpecialTokensMask, want.Special) {
			return fmt.Sprintf("special tokens mask\n got %v\nwant %v", got.SpecialTokensMask, want.Special)
		}
		if !slices.Equal(got.AttentionMask, want.Attn) {
			return fmt.Sprintf("attention mask\n got %v\nwant %v", got.AttentionMask, want.Attn)
		}
	}
	if len(got.Overflowing) != len(want.Overflow) {
		return fmt.Sprintf("%d overflowing, want %d", len(got.Overflowing), len(want.Overflow))
	}
	for i := range want.Overflow {
		if d := diffEncoding(tk, got.Overflowing[i], &want.Overflow[i], texts, withTypes); d != "" {
			return fmt.Sprintf("overflowing %d: %s", i, d)
		}
	}
	return ""
}

func TestReference(t *testing.T) {
	corpus := loadCorpus(t)
	for _, name := range referenceNames {
		t.Run(name, func(t *testing.T) {
			tk := loadReferenceTokenizer(t, name)
			var ref refFile
			readGzipJSON(t, filepath.Join("testdata", "reference", name+".json.gz"), &ref)
			checkReference(t, tk, corpus, &ref)
		})
	}
}

func checkReference(t *testing.T, tk *Tokenizer, corpus refCorpus, ref *refFile) {
	fails := 0
	report := func(format string, args ...any) {
		fails++
		if fails <= 8 {
			t.Errorf(format, args...)
		}
	}
	idsOK := 0
	for i, text := range corpus.Texts {
		got, err := tk.Encode(text)
		if err != nil {
			report("encode %q: %v", text, err)
			continue
		}
		if slices.Equal(got.IDs, ref.Single[i].IDs) {
			idsOK++
		}
		if d := diffEncoding(tk, got, &ref.Single[i], []string{text}, false); d != "" {
			report("encode %q: %s", text, d)
		}
		plain, err := tk.Encode(text, WithoutSpecialTokens())
		if err != nil {
			report("encode %q without special tokens: %v", text, err)
		} else if d := diffEncoding(tk, plain, &ref.Plain[i], []string{text}, false); d != "" {
			report("encode %q without special tokens: %s", text, d)
		}
		for _, skip := range []bool{false, true} {
			want := ref.Decode[i]
			if skip {
				want = ref.DecodeSkip[i]
			}
			dec, err := tk.Decode(ref.Single[i].IDs, skip)
			if err != nil || dec != want {
				report("decode %v (skip %v) of %q: got %q (%v), want %q", ref.Single[i].IDs, skip, text, dec, err, want)
			}
		}
	}
	t.Logf("ids equal on %d/%d texts", idsOK, len(corpus.Texts))
	t.Run("stream", func(t *testing.T) {
		for i := range corpus.Texts {
			checkStream(t, tk, ref.Single[i].IDs, i%2 == 0)
		}
	})
	for i, p := range corpus.Pairs {
		got, err := tk.EncodePair(p[0], p[1])
		if err != nil {
			report("encode pair %q: %v", p, err)
			continue
		}
		if d := diffEncoding(tk, got, &ref.Pairs[i], p[:], true); d != "" {
			report("encode pair %q: %s", p, d)
		}
	}
	strategies := map[string]TruncationStrategy{"LongestFirst": LongestFirst, "OnlyFirst": OnlyFirst, "OnlySecond": OnlySecond}
	for _, tr := range ref.Truncation {
		dir := Right
		if tr.Params.Direction == "left" {
			dir = Left
		}
		trunc := &Truncation{MaxLength: tr.Params.MaxLength, Stride: tr.Params.Stride, Strategy: strategies[tr.Params.Strategy], Direction: dir}
		opts := []EncodeOption{WithTruncationOption(trunc), WithPaddingOption(nil)}
		for _, row := range tr.Rows {
			if row.Skipped {
				continue
			}
			p := corpus.Pairs[row.Pair]
			got, err := tk.EncodePair(p[0], p[1], opts...)
			checkTruncated(t, tk, report, fmt.Sprintf("truncate %+v pair %q", tr.Params, p), got, err, row.R, p[:])
			single := p[0] + " " + p[1]
			got, err = tk.Encode(single, opts...)
			checkTruncated(t, tk, report, fmt.Sprintf("truncate %+v %q", tr.Params, single), got, err, row.Single, []string{single})
		}
	}
	for _, pd := range ref.Padding {
		dir := Right
		if pd.Params.Direction == "left" {
			dir = Left
		}
		pad := &Padding{Length: pd.Params.MaxLength, MultipleOf: pd.Params.PadToMultipleOf, ID: pd.Params.PadID,
			TypeID: pd.Params.PadTypeID, Token: pd.Params.PadToken, Direction: dir}
		got, err := tk.EncodeBatch(t.Context(), pd.Texts, WithPaddingOption(pad), WithTruncationOption(nil))
		if err != nil {
			report("batch with padding %+v: %v", pd.Params, err)
			continue
		}
		for i := range got {
			if d := diffEncoding(tk, got[i], &pd.Rows[i], []string{pd.Texts[i]}, true); d != "" {
				report("batch with padding %+v, text %q: %s", pd.Params, pd.Texts[i], d)
			}
		}
	}
	if fails > 8 {
		t.Errorf("... %d failures in all", fails)
	}
}

func checkTruncated(t *testing.T, tk *Tokenizer, report func(string, ...any), what string, got *Encoding, err error, want *refEncoding, texts []string) {
	t.Helper()
	if want.Err != "" {
		if err == nil {
			report("%s: no error, want %q", what, want.Err)
		}
		return
	}
	if err != nil {
		report("%s: %v", what, err)
		return
	}
	if d := diffEncoding(tk, got, want, texts, true); d != "" {
		report("%s: %s", what, d)
	}
}
