// Command genunigram writes a T5/XLM-R-style Unigram tokenizer.json over the
// SentencePiece vocabulary of a SentencePiece BPE tokenizer.json (such as
// Llama 2's), so that the Unigram model, the Metaspace pre-tokenizer and
// decoder, NFKC and regex Replace can be tested on a real vocabulary.
//
// With -precompiled-out it also writes a variant whose normalizer is a
// Precompiled charsmap built here (see charsmap.go), the way T5 and XLM-R
// tokenizers normalize.
//
// The output is deterministic: pieces keep their ids, and a piece's score
// falls with its id (SentencePiece BPE vocabularies are ordered by merge
// priority, which stands in for a log probability here).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
)

func main() {
	in := flag.String("in", "", "source tokenizer.json with a BPE vocabulary")
	out := flag.String("out", "", "Unigram tokenizer.json to write")
	precompiledOut := flag.String("precompiled-out", "", "also write a variant with a Precompiled (SentencePiece charsmap) normalizer here")
	flag.Parse()
	if err := run(*in, *out, *precompiledOut); err != nil {
		fmt.Fprintln(os.Stderr, "genunigram:", err)
		os.Exit(1)
	}
}

func run(in, out, precompiledOut string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var src struct {
		AddedTokens []map[string]any `json:"added_tokens"`
		Model       struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &src); err != nil {
		return fmt.Errorf("parse %s: %w", in, err)
	}
	type piece struct {
		tok string
		id  int
	}
	pieces := make([]piece, 0, len(src.Model.Vocab))
	for t, id := range src.Model.Vocab {
		pieces = append(pieces, piece{t, id})
	}
	sort.Slice(pieces, func(i, j int) bool { return pieces[i].id < pieces[j].id })
	for i, p := range pieces {
		if p.id != i {
			return fmt.Errorf("vocabulary ids are not dense at %d", i)
		}
	}
	vocab := make([][2]any, len(pieces))
	unk := -1
	for i, p := range pieces {
		score := 0.0
		switch {
		case p.tok == "<unk>":
			unk = i
		case p.tok == "<s>" || p.tok == "</s>":
		case len(p.tok) == 6 && p.tok[:3] == "<0x":
		default:
			// Rounded so the JSON is stable across platforms.
			score = math.Round(-math.Log(float64(i+2))*1e4) / 1e4
		}
		vocab[i] = [2]any{p.tok, score}
	}
	if unk < 0 {
		return fmt.Errorf("no <unk> in %s", in)
	}
	doc := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": src.AddedTokens,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFKC"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": " "},
		}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"post_processor": map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{seq("A", 0), special("</s>", 0)},
			"pair":   []any{seq("A", 0), special("</s>", 0), seq("B", 1), special("</s>", 1)},
			"special_tokens": map[string]any{
				"</s>": map[string]any{"id": "</s>", "ids": []int{src.Model.Vocab["</s>"]}, "tokens": []string{"</s>"}},
			},
		},
		"decoder": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model": map[string]any{
			"type":          "Unigram",
			"unk_id":        unk,
			"vocab":         vocab,
			"byte_fallback": true,
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	if precompiledOut == "" {
		return nil
	}
	charsmap, err := buildCharsmap(charsmapRules())
	if err != nil {
		return err
	}
	doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
		map[string]any{"type": "Precompiled", "precompiled_charsmap": charsmap},
		map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": " "},
	}}
	if b, err = json.Marshal(doc); err != nil {
		return err
	}
	return os.WriteFile(precompiledOut, b, 0o644)
}

func seq(id string, typeID int) map[string]any {
	return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typeID}}
}

func special(id string, typeID int) map[string]any {
	return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typeID}}
}
